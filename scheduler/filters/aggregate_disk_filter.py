"""AggregateDiskFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

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


class AggregateDiskFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host has room for the flavor's root plus ephemeral disk at its aggregates' ratio.

    The ratio is the lowest `disk_allocation_ratio` in the metadata of the
    host's aggregates (Kilo+: numeric minimum; any unparsable value, or none
    at all, gives the global `disk_allocation_ratio` option). Then as
    DiskFilter: a request larger than the physical total fails whatever the
    ratio, and room is `capacity.room` with that ratio.

    Version choices: Ussuri falls back to the host's own ratio (Liberty+);
    novalog falls back to the global option, as Juno-Kilo did. Ussuri also
    counts swap; novalog does not, as its DiskFilter and claim check do not.
    """

    NAME = "AggregateDiskFilter"
    REASON = "insufficient disk at the aggregate's ratio"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = Resources.of(spec.flavor).disk_gb
        if wanted > host.total_usable_disk_gb:
            return False
        ratio = self.ratio_of_set(host.aggregates, options)
        return room(host.total_usable_disk_gb, ratio, host.reserved_disk_gb, host.disk_claimed_gb) >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        # The ratio once per aggregate set (float64, as the host-ratio columns), then the same capacity.room
        # and physical-size rule over the columns.
        wanted = Resources.of(spec.flavor).disk_gb
        ratio = cols.per_aggregate_set(lambda aggregates: self.ratio_of_set(aggregates, options))
        left = room(cols.total_usable_disk_gb, ratio, cols.reserved_disk_gb, cols.disk_claimed_gb)
        return (cols.total_usable_disk_gb >= wanted) & (left >= wanted)

    def ratio_of_set(self, aggregates: Sequence[Aggregate], options: SchedulerOptions) -> float:
        """The allocation ratio of a host in these aggregates."""
        return lowest(values_of(aggregates, "disk_allocation_ratio"), options.disk_allocation_ratio, float)

