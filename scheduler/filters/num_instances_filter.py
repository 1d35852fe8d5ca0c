"""NumInstancesFilter (today's Nova)."""

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


class NumInstancesFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host runs fewer instances than `max_instances_per_host`.

    Strictly fewer: at 50 of 50 the host is full. Runs for every instance of
    a request, so instances placed earlier in the same request count.
    """

    NAME = "NumInstancesFilter"
    REASON = "too many instances"

    def max_instances(self, host: SchedHost, options: SchedulerOptions) -> int:
        """The limit for this host; AggregateNumInstancesFilter overrides it."""
        return options.max_instances_per_host

    def max_instances_by_row(self, cols: HostColumns, options: SchedulerOptions) -> int | np.ndarray:
        """`max_instances` of every row: one value for all, or an array; a subclass overriding one overrides both."""
        return options.max_instances_per_host

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return host.num_instances < self.max_instances(host, options)

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        return np.asarray(cols.num_instances < self.max_instances_by_row(cols, options), dtype=bool)
