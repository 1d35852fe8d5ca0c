"""The scheduler's view of one host (Nova's HostState), built from a host-state table row.

The table counts the claims the host-state processor accepted. The scheduler
also counts its own proposals that the table does not show yet, so two
requests placed back to back do not both count on the same room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from novalog.events.records import Claim, Resources

if TYPE_CHECKING:  # the row type in annotations only: importing it costs ~30 ms, the explain path needs none
    from novalog.events.state import HostState


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A host aggregate as filters and weighers read it: its metadata (strings, as Nova stores them)."""

    id: str
    name: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SchedHost:
    """One host as filters and weighers see it, with Nova's HostState field names.

    "Used" means claimed: the sum of the counted claims (the log's accounting),
    never what the hypervisor reports. free_* = total - reserved - claimed, so
    it goes negative when the allocation ratio lets claims exceed the physical
    size. free_disk_mb is in MB as in Nova; the disk totals are whole GB.
    """

    host: str
    nodename: str
    total_usable_ram_mb: int
    free_ram_mb: int
    vcpus_total: int
    vcpus_used: int
    total_usable_disk_gb: int
    free_disk_mb: int
    num_instances: int
    num_io_ops: int
    hypervisor_type: str
    hypervisor_version: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_vcpus: int
    reserved_memory_mb: int
    reserved_disk_gb: int
    service_up: bool
    disabled: bool
    claims_ids: frozenset[str]
    updated: datetime | None
    cpu_info: str = "{}"
    host_ip: str = "127.0.0.1"
    supported_instances: tuple[tuple[str, ...], ...] = ()
    stats: Mapping[str, str] = field(default_factory=dict)
    trust_level: str | None = None
    failed_builds: int = 0
    forced_down: bool = False
    aggregates: tuple[Aggregate, ...] = ()
    instances: Mapping[str, Claim] = field(default_factory=dict)
    disabled_reason: str | None = None

    @property
    def service(self) -> Mapping[str, object]:
        """The host's compute service as Nova's HostState.service holds it (a read-only dict of the Service's fields).

        Only the fields novalog has: a JsonFilter query or a capability on any
        other key (`$service.updated_at`, `report_count`...) finds nothing.
        """
        return {
            "host": self.host, "binary": "nova-compute", "topic": "compute",
            "disabled": self.disabled, "disabled_reason": self.disabled_reason, "forced_down": self.forced_down,
        }

    @property
    def ram_claimed_mb(self) -> int:
        """Memory held by the counted claims (Nova's used RAM without the reserved part)."""
        return self.total_usable_ram_mb - self.reserved_memory_mb - self.free_ram_mb

    @property
    def disk_claimed_gb(self) -> int:
        """Disk held by the counted claims; free_disk_mb only ever moves by whole GB."""
        return self.total_usable_disk_gb - self.reserved_disk_gb - self.free_disk_mb // 1024


# Shared empty values for views of hosts without claims or stats (never mutated: views are frozen values).
NO_CLAIMS: frozenset[str] = frozenset()
NO_STATS: dict[str, str] = {}
NO_INSTANCES: dict[str, Claim] = {}


def host_view(
    state: HostState,
    in_flight: Mapping[str, Claim],
    now: datetime,
    service_down_time: float,
    aggregates: Sequence[Aggregate] = (),
    *,
    service_up: bool | None = None,
) -> SchedHost:
    """The host as this scheduler must see it: the table's claims plus its own not yet in the table.

    Claims are united by claim id, so a claim both in the table and in flight
    counts once. An in-flight claim the table already rejected or released
    counts not at all (the answer is in; the caller just has not pruned it).
    The service is up iff its last heartbeat is at most service_down_time old,
    unless `service_up` says it (as checked by the caller at another time).
    `instances` maps each counted instance to its claim (flavor and project
    included), which is what the affinity and type filters look at.
    A host that never reported capacity has zero totals, so no resource filter
    or claim check finds room on it.
    """
    counted = {c.claim_id: c for c in state.claims}
    settled = set(state.rejected) | set(state.released)
    pending = {c.claim_id: c for c in in_flight.values() if c.claim_id not in counted and c.claim_id not in settled}
    claims = [*counted.values(), *pending.values()]
    used = Resources(
        vcpus=sum(c.vcpus for c in claims),
        memory_mb=sum(c.memory_mb for c in claims),
        disk_gb=sum(c.disk_gb for c in claims),
    )
    reported = state.capacity_reported_at is not None
    vcpus, ram_mb, disk_gb = (state.vcpus, state.memory_mb, state.disk_gb) if reported else (0, 0, 0)
    reserved = (state.reserved_vcpus, state.reserved_memory_mb, state.reserved_disk_gb) if reported else (0, 0, 0)
    beat = state.last_heartbeat_at
    return SchedHost(
        host=state.host,
        nodename=state.hypervisor_hostname or state.host,
        total_usable_ram_mb=ram_mb,
        free_ram_mb=ram_mb - reserved[1] - used.memory_mb,
        vcpus_total=vcpus,
        vcpus_used=used.vcpus,
        total_usable_disk_gb=disk_gb,
        free_disk_mb=(disk_gb - reserved[2] - used.disk_gb) * 1024,
        num_instances=len(claims),
        # Proposed and not yet accepted: surely still building, Nova's I/O op.
        num_io_ops=len(pending),
        hypervisor_type=state.hypervisor_type,
        hypervisor_version=state.hypervisor_version,
        cpu_allocation_ratio=state.cpu_allocation_ratio,
        ram_allocation_ratio=state.ram_allocation_ratio,
        disk_allocation_ratio=state.disk_allocation_ratio,
        reserved_vcpus=reserved[0],
        reserved_memory_mb=reserved[1],
        reserved_disk_gb=reserved[2],
        # Forced down (os-services) is down whatever the heartbeat says (Nova 2.11+).
        service_up=(
            service_up
            if service_up is not None
            else beat is not None and (now - beat).total_seconds() <= service_down_time and not state.forced_down
        ),
        disabled=state.disabled,
        disabled_reason=state.disabled_reason,
        # An idle host's empty set and maps are shared: 344 bytes a host, the most of a view's own memory.
        claims_ids=frozenset(c.claim_id for c in claims) if claims else NO_CLAIMS,
        updated=state.capacity_reported_at,
        cpu_info=state.cpu_info,
        supported_instances=tuple(tuple(triple) for triple in state.supported_instances),
        stats=dict(state.stats) if state.stats else NO_STATS,
        trust_level=state.trust_level,
        failed_builds=state.failed_builds,
        forced_down=state.forced_down,
        aggregates=aggregates if isinstance(aggregates, tuple) else tuple(aggregates),
        instances={c.instance_id: c for c in claims} if claims else NO_INSTANCES,
    )


def consumption(request: Resources) -> dict[str, int]:
    """What counting one more instance adds to a host's numeric fields (free ones go down)."""
    return {
        "free_ram_mb": -request.memory_mb,
        "free_disk_mb": -request.disk_gb * 1024,
        "vcpus_used": request.vcpus,
        "num_instances": 1,
        "num_io_ops": 1,
    }


def consume(host: SchedHost, request: Resources, claim_id: str, instance: Claim | None = None) -> SchedHost:
    """The host after also counting one more instance (Nova's consume_from_request).

    Used resources go up, num_instances and num_io_ops by one (modern Nova
    counts every new instance as an I/O op). Totals and ratios are untouched.
    A claim id already counted is not counted again. `updated` keeps the
    report time: it says how fresh the inventory is, not the consumption.
    """
    if claim_id in host.claims_ids:
        return host
    return replace(
        host,
        **{name: getattr(host, name) + change for name, change in consumption(request).items()},
        claims_ids=host.claims_ids | {claim_id},
        instances={**host.instances, instance.instance_id: instance} if instance is not None else host.instances,
    )
