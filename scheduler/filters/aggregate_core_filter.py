"""AggregateCoreFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.capacity import room
from novalog.events.records import RequestSpec, Resources
from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AggregateCoreFilter(BaseHostFilter):
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
    REASON = "insufficient vCPUs at the aggregate's ratio"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        if host.vcpus_total <= 0:
            return False
        wanted = Resources.of(spec.flavor).vcpus
        if wanted > host.vcpus_total:
            return False
        ratio = lowest(values_of(host, "cpu_allocation_ratio"), options.cpu_allocation_ratio, float)
        return room(host.vcpus_total, ratio, host.reserved_vcpus, host.vcpus_used) >= wanted
