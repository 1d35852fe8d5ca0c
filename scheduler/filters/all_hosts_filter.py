"""AllHostsFilter (today's Nova): lets every host through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AllHostsFilter(BaseHostFilter):
    """Passes every host; a pipeline with only this filter is weighing alone."""

    NAME = "AllHostsFilter"
    REASON = "never rejects"
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return True
