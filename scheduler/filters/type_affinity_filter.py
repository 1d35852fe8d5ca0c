"""TypeAffinityFilter (Pike, 16.x: the last release with it; removed in Queens): one flavor per host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class TypeAffinityFilter(BaseHostFilter):
    """Passes iff every instance on the host is of the requested flavor id; an empty host passes.

    The host's instances are its counted claims, each with the flavor id it
    was requested with. A claim with no flavor id recorded ("") counts as
    another flavor: not knowing is not proof of sameness. Nova dropped the
    filter because a flavor deleted and re-created under the same name gets
    a new id, which this test then treats as a different flavor.
    """

    NAME = "TypeAffinityFilter"
    REASON = "running another flavor"
    # Not once per request (Nova): instances placed earlier in the request count.

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return all(claim.flavor_id == spec.flavor.id for claim in host.instances.values())
