"""AggregateCoreFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import VCPUS, AggregateResourceFilter


class AggregateCoreFilter(AggregateResourceFilter):
    """Passes iff the host has room for the flavor's vCPUs at its aggregates' ratio.

    The ratio is the lowest `cpu_allocation_ratio` in the metadata of the
    host's aggregates (Kilo+: numeric minimum; any unparsable value, or none
    at all, gives the global `cpu_allocation_ratio` option). Then as
    CoreFilter: more vCPUs than the host physically has fails whatever the
    ratio, and room is `capacity.room` with that ratio.

    Version choices: Ussuri falls back to the host's own ratio (Liberty+);
    novalog falls back to the global option, as Havana-Kilo did. And, like
    novalog's CoreFilter and unlike Nova, a host with `vcpus_total == 0`
    fails instead of passing ("CPU collection broken, fail safe").
    """

    NAME = "AggregateCoreFilter"
    REASON = "not enough vCPUs at the aggregate's ratio"
    RESOURCE = VCPUS
