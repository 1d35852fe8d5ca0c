"""IoOpsFilter (today's Nova)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class IoOpsFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host runs fewer I/O-heavy operations than `max_io_ops_per_host`.

    Strictly fewer: at 8 of 8 the host is full. Runs for every instance of a
    request, so instances placed earlier in the same request count (each new
    instance is an I/O op, `consume`).
    """

    NAME = "IoOpsFilter"
    REASON = "too many I/O operations"

    def max_io_ops(self, host: SchedHost, options: SchedulerOptions) -> int:
        """The limit for this host; AggregateIoOpsFilter overrides it."""
        return options.max_io_ops_per_host

    def max_io_ops_by_row(self, cols: HostColumns, options: SchedulerOptions) -> int | np.ndarray:
        """`max_io_ops` of every row: one value for all, or an array; a subclass overriding one overrides both."""
        return options.max_io_ops_per_host

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return host.num_io_ops < self.max_io_ops(host, options)

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        return np.asarray(cols.num_io_ops < self.max_io_ops_by_row(cols, options), dtype=bool)
