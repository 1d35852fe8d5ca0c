"""AggregateDiskFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import DISK, AggregateResourceFilter


class AggregateDiskFilter(AggregateResourceFilter):
    """Passes iff the host has room for the flavor's root, ephemeral and swap disk at its aggregates' ratio.

    The ratio is the lowest `disk_allocation_ratio` in the metadata of the
    host's aggregates (Kilo+: numeric minimum; any unparsable value, or none
    at all, gives the global `disk_allocation_ratio` option). Then as
    DiskFilter: a request larger than the physical total fails whatever the
    ratio, and room is `capacity.room` with that ratio.

    Version choices: Ussuri falls back to the host's own ratio (Liberty+);
    novalog falls back to the global option, as Juno-Kilo did. Swap counts
    as in DiskFilter: rounded up to whole GB, as the claim check counts it.
    """

    NAME = "AggregateDiskFilter"
    REASON = "not enough disk at the aggregate's ratio"
    RESOURCE = DISK
