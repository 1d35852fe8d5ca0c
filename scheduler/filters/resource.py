"""The one shape of the resource filters: is there room for the flavor's RAM, vCPUs or disk, at some ratio?

    RamFilter / CoreFilter / DiskFilter            ratio = the host's own (Stein)
    AggregateRamFilter / ...Core... / ...Disk...   ratio = the lowest in the host's aggregates, else the option (Ussuri)

Both kinds share `host_passes` and `mask`; they differ only in the ratio
hook (`ratio` for one host, `column_ratios` for every row). The room is
`capacity.room`, the formula the claim check also uses, so the filters and
the claim check cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from novalog.events.capacity import room
from novalog.events.records import RequestSpec, Resources
from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import Aggregate, SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


@dataclass(frozen=True, slots=True)
class Resource:
    """Where one resource's numbers are read: attribute names, the same on SchedHost and HostColumns."""

    wanted: str  # the request's field in `Resources`
    total: str
    reserved: str
    claimed: str
    ratio: str  # the host's own ratio; also the aggregate metadata key and the global option of that name
    fit: str  # HostColumns' least of total and room at the host's own ratio, computed once per build
    none_is_full: bool = False  # a host that reports none of it takes nothing, even a request for none


RAM = Resource("memory_mb", "total_usable_ram_mb", "reserved_memory_mb", "ram_claimed_mb", "ram_allocation_ratio", "ram_fit_mb")
# Unlike Nova, which passes a host with vcpus_total == 0 ("CPU collection broken, fail safe"): novalog
# never places on a host that reported no capacity (HostColumns' vcpu_fit is -inf there).
VCPUS = Resource("vcpus", "vcpus_total", "reserved_vcpus", "vcpus_used", "cpu_allocation_ratio", "vcpu_fit", none_is_full=True)
DISK = Resource("disk_gb", "total_usable_disk_gb", "reserved_disk_gb", "disk_claimed_gb", "disk_allocation_ratio", "disk_fit_gb")


class ResourceFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host has room for the flavor's share of `RESOURCE`.

    Room is total x ratio - reserved - claimed (`capacity.room`). A request
    larger than the physical total fails whatever the ratio (Liberty+): an
    instance may overcommit against other instances, never against itself.
    A subclass names its RESOURCE and, for another ratio, overrides both
    forms of the ratio hook.
    """

    RESOURCE: ClassVar[Resource]

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        resource = self.RESOURCE
        wanted = getattr(Resources.of(spec.flavor), resource.wanted)
        total = getattr(host, resource.total)
        if wanted > total or (resource.none_is_full and total <= 0):
            return False
        left = room(total, self.ratio(host, options), getattr(host, resource.reserved), getattr(host, resource.claimed))
        return left >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        resource = self.RESOURCE
        wanted = getattr(Resources.of(spec.flavor), resource.wanted)
        ratios = self.column_ratios(cols, options)
        if ratios is None:  # the host's own ratio: one comparison with the fit HostColumns holds
            return getattr(cols, resource.fit) >= wanted
        total = getattr(cols, resource.total)
        left = room(total, ratios, getattr(cols, resource.reserved), getattr(cols, resource.claimed))
        fits = (total >= wanted) & (left >= wanted)
        return fits & (total > 0) if resource.none_is_full else fits

    def ratio(self, host: SchedHost, options: SchedulerOptions) -> float:
        """The allocation ratio room is counted at on this host: its own."""
        return getattr(host, self.RESOURCE.ratio)

    def column_ratios(self, cols: HostColumns, options: SchedulerOptions) -> np.ndarray | None:
        """`ratio` for every row (float64), or None for the host's own, whose fit is already a column."""
        return None


class AggregateResourceFilter(ResourceFilter):
    """A resource filter at the ratio of the host's aggregates.

    The ratio is the lowest value of the resource's ratio key in the metadata
    of the host's aggregates (Kilo+: numeric minimum; any unparsable value,
    or none at all, gives the scheduler's global option of the same name).
    """

    def ratio(self, host: SchedHost, options: SchedulerOptions) -> float:
        return self.ratio_of_set(host.aggregates, options)

    def column_ratios(self, cols: HostColumns, options: SchedulerOptions) -> np.ndarray:
        # Once per distinct aggregate set, broadcast to its hosts (float64, as the host-ratio columns).
        return cols.per_aggregate_set(lambda aggregates: self.ratio_of_set(aggregates, options))

    def ratio_of_set(self, aggregates: Sequence[Aggregate], options: SchedulerOptions) -> float:
        """The allocation ratio of a host in these aggregates."""
        key = self.RESOURCE.ratio
        return lowest(values_of(aggregates, key), getattr(options, key), float)
