"""AggregateIoOpsFilter (today's Nova)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.io_ops_filter import IoOpsFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AggregateIoOpsFilter(IoOpsFilter):
    """IoOpsFilter with the limit taken from the host's aggregates.

    The limit is the lowest `max_io_ops_per_host` in their metadata, each
    value cast to int (so "8.0" does not parse); none, or any unparsable
    value, gives the global `max_io_ops_per_host` option.
    """

    NAME = "AggregateIoOpsFilter"
    REASON = "too many concurrent I/O operations for the aggregate"

    def max_io_ops(self, host: SchedHost, options: SchedulerOptions) -> int:
        return lowest(values_of(host, "max_io_ops_per_host"), options.max_io_ops_per_host, int)
