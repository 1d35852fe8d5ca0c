"""ComputeFilter (today's Nova): only hosts whose compute service is enabled and up."""

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


class ComputeFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host is not disabled and its service is up.

    Up is decided once, when the view is built (`host_view`: last heartbeat
    at most service_down_time old, Nova's servicegroup check), so the filter
    reads no clock. Like today's Nova, disabled is checked first.
    """

    NAME = "ComputeFilter"
    REASON = "disabled or down"
    # The service's state does not change within one request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        if host.disabled:
            return False
        return host.service_up

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        return ~cols.disabled & cols.service_up
