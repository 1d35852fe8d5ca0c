"""DifferentHostFilter (today's Nova): no host running an instance named by the `different_host` hint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

HINT = "different_host"


class DifferentHostFilter(BaseHostFilter):
    """Passes iff the host runs none of the instances the hint names; no hint, or an empty one, passes.

    The host's instances are its counted claims, so a deleted (released)
    instance no longer keeps others away, as Nova only looks at live ones.
    """

    NAME = "DifferentHostFilter"
    REASON = "running a different_host instance"
    # Where the named instances run does not change within one request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        avoided = spec.scheduler_hints.get(HINT)
        if not avoided:
            return True
        return host.instances.keys().isdisjoint(avoided)
