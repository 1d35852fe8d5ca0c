"""AggregateCoreFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from novalog.events.capacity import room
from novalog.events.records import RequestSpec, Resources
from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import Aggregate, SchedHost
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class AggregateCoreFilter(VectorizedFilter, BaseHostFilter):
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
        ratio = self.ratio_of_set(host.aggregates, options)
        return room(host.vcpus_total, ratio, host.reserved_vcpus, host.vcpus_used) >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        # The ratio once per aggregate set (float64, as the host-ratio columns), then the same capacity.room
        # and physical-size rule over the columns.
        wanted = Resources.of(spec.flavor).vcpus
        ratio = cols.per_aggregate_set(lambda aggregates: self.ratio_of_set(aggregates, options))
        left = room(cols.vcpus_total, ratio, cols.reserved_vcpus, cols.vcpus_used)
        return (cols.vcpus_total > 0) & (cols.vcpus_total >= wanted) & (left >= wanted)

    def ratio_of_set(self, aggregates: Sequence[Aggregate], options: SchedulerOptions) -> float:
        """The allocation ratio of a host in these aggregates."""
        return lowest(values_of(aggregates, "cpu_allocation_ratio"), options.cpu_allocation_ratio, float)

