"""Host weighers, one per module, keeping Nova's names; WEIGHERS is the one registry."""

from __future__ import annotations

from novalog.scheduler.weights.base import BaseHostWeigher, normalize, weigh_hosts
from novalog.scheduler.weights.build_failure import BuildFailureWeigher
from novalog.scheduler.weights.cpu import CPUWeigher
from novalog.scheduler.weights.disk import DiskWeigher
from novalog.scheduler.weights.hypervisor_version import HypervisorVersionWeigher
from novalog.scheduler.weights.io_ops import IoOpsWeigher
from novalog.scheduler.weights.num_instances import NumInstancesWeigher
from novalog.scheduler.weights.ram import RAMWeigher
from novalog.scheduler.weights.soft_affinity import ServerGroupSoftAffinityWeigher
from novalog.scheduler.weights.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher

WEIGHERS: dict[str, type[BaseHostWeigher]] = {
    "BuildFailureWeigher": BuildFailureWeigher,
    "CPUWeigher": CPUWeigher,
    "DiskWeigher": DiskWeigher,
    "HypervisorVersionWeigher": HypervisorVersionWeigher,
    "IoOpsWeigher": IoOpsWeigher,
    "NumInstancesWeigher": NumInstancesWeigher,
    "RAMWeigher": RAMWeigher,
    "ServerGroupSoftAffinityWeigher": ServerGroupSoftAffinityWeigher,
    "ServerGroupSoftAntiAffinityWeigher": ServerGroupSoftAntiAffinityWeigher,
}

__all__ = [
    "WEIGHERS", "BaseHostWeigher", "normalize", "weigh_hosts", "BuildFailureWeigher", "CPUWeigher", "DiskWeigher",
    "HypervisorVersionWeigher", "IoOpsWeigher", "NumInstancesWeigher", "RAMWeigher", "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
]
