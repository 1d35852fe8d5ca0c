"""The host family: what an agent reports of its host, and an admin's changes to its service.

On host.events, keyed by host name; heartbeats on the compacted host.heartbeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, get_args

from novalog.events.records import Envelope


@dataclass(frozen=True, slots=True)
class HostCapacityReported:
    """An agent reported its host's inventory and what the hypervisor runs."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    cpu_info: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    running_vms: int = 0
    vcpus_in_use: int = 0
    memory_mb_in_use: int = 0
    reported_at: datetime | None = None
    supported_instances: list[list[str]] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)
    trust_level: str | None = None
    failed_builds: int = 0


@dataclass(frozen=True, slots=True)
class HostServiceUpdated:
    """An admin enabled or disabled a host's compute service, or forced it down (os-services)."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    disabled: bool
    disabled_reason: str | None = None
    forced_down: bool = False


@dataclass(frozen=True, slots=True)
class HostHeartbeatReported:
    """An agent is alive."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    interval_s: float


HostEvent = HostCapacityReported | HostServiceUpdated | HostHeartbeatReported

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(HostEvent)
