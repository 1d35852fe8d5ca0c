"""Host weighers, one per module, keeping Nova's names; WEIGHERS is the one registry."""

from __future__ import annotations

from novalog.scheduler.weights.base import BaseHostWeigher, normalize, weigh_hosts
from novalog.scheduler.weights.cpu import CPUWeigher
from novalog.scheduler.weights.disk import DiskWeigher
from novalog.scheduler.weights.ram import RAMWeigher

WEIGHERS: dict[str, type[BaseHostWeigher]] = {
    "CPUWeigher": CPUWeigher,
    "DiskWeigher": DiskWeigher,
    "RAMWeigher": RAMWeigher,
}

__all__ = ["WEIGHERS", "BaseHostWeigher", "CPUWeigher", "DiskWeigher", "RAMWeigher", "normalize", "weigh_hosts"]
