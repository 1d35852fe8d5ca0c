"""AggregateIoOpsFilter (today's Nova)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.io_ops_filter import IoOpsFilter
from novalog.scheduler.host_state import Aggregate, SchedHost
from novalog.scheduler.lazy_numpy import np

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class AggregateIoOpsFilter(IoOpsFilter):
    """IoOpsFilter with the limit taken from the host's aggregates.

    The limit is the lowest `max_io_ops_per_host` in their metadata, each
    value cast to int (so "8.0" does not parse); none, or any unparsable
    value, gives the global `max_io_ops_per_host` option. The columnar form
    computes it once per aggregate set, then compares as IoOpsFilter.
    """

    NAME = "AggregateIoOpsFilter"
    REASON = "too many I/O operations for the aggregate"

    def max_io_ops(self, host: SchedHost, options: SchedulerOptions) -> int:
        return self.max_io_ops_of_set(host.aggregates, options)

    def max_io_ops_by_row(self, cols: HostColumns, options: SchedulerOptions) -> int | np.ndarray:
        # dtype=None: numpy infers it from the limits, so ints compare as ints (object beyond int64), never truncated.
        return cols.per_aggregate_set(lambda aggregates: self.max_io_ops_of_set(aggregates, options), dtype=None)

    def max_io_ops_of_set(self, aggregates: Sequence[Aggregate], options: SchedulerOptions) -> int:
        """The limit of a host in these aggregates."""
        return lowest(values_of(aggregates, "max_io_ops_per_host"), options.max_io_ops_per_host, int)

