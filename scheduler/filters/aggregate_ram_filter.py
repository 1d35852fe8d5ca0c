"""AggregateRamFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import RAM, AggregateResourceFilter


class AggregateRamFilter(AggregateResourceFilter):
    """Passes iff the host has room for the flavor's RAM at its aggregates' ratio.

    The ratio is the lowest `ram_allocation_ratio` in the metadata of the
    host's aggregates (Kilo+: numeric minimum; any unparsable value, or none
    at all, gives the global `ram_allocation_ratio` option). Then as RamFilter:
    a request larger than the physical total fails whatever the ratio, and
    room is `capacity.room` with that ratio.

    Version choice: Ussuri falls back to the host's own ratio
    (`host_state.ram_allocation_ratio`, Liberty+); novalog falls back to the
    scheduler's global option, as Havana-Kilo did, so the option means
    something. The claim check still uses the host's own ratio.
    """

    NAME = "AggregateRamFilter"
    REASON = "not enough RAM at the aggregate's ratio"
    RESOURCE = RAM
