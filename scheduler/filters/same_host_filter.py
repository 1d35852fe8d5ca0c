"""SameHostFilter (today's Nova): only hosts running one of the instances named by the `same_host` hint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

HINT = "same_host"


class SameHostFilter(BaseHostFilter):
    """Passes iff the hint is absent or empty, or the host runs at least one of the instances it names.

    The host's instances are its counted claims, so a deleted (released)
    instance no longer holds a host, as Nova only looks at live instances.
    """

    NAME = "SameHostFilter"
    REASON = "not running a same_host instance"
    # Where the named instances run does not change within one request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = spec.scheduler_hints.get(HINT)
        if not wanted:
            return True
        return not host.instances.keys().isdisjoint(wanted)
