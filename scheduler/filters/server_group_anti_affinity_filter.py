"""ServerGroupAntiAffinityFilter (today's Nova): at most max_server_per_host group members per host."""

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

POLICY = "anti-affinity"
MAX_RULE = "max_server_per_host"


class ServerGroupAntiAffinityFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the group's members on the host are fewer than its `max_server_per_host` rule (default 1).

    Acts only on an "anti-affinity" group (Icehouse+: each group filter
    minds its own policy); any other policy, or no group, passes. A host
    already running the instance being placed passes (Nova: a move may
    check its own source host). The rule is a string in the spec, an
    integer in Nova; one that is not an integer counts as the default 1,
    the strictest reading (Nova's API never lets one through).
    """

    NAME = "ServerGroupAntiAffinityFilter"
    REASON = "against the group's anti-affinity"
    # Not once per request: members placed earlier in the request count.

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        group = spec.instance_group
        return group is None or group.policy != POLICY or not set(group.members) - {spec.instance_id}

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        group = spec.instance_group
        if group is None or group.policy != POLICY:
            return True
        if spec.instance_id in host.instances:
            return True
        on_host = host.instances.keys() & set(group.members)
        return len(on_host) < _max_server_per_host(group.rules)

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        group = spec.instance_group
        if group is None or group.policy != POLICY:
            return np.ones(len(cols), dtype=bool)
        members, limit = set(group.members), _max_server_per_host(group.rules)
        # A host running no instance holds no member: 0 < limit. Only the others are looked at.
        passed = np.full(len(cols), 0 < limit, dtype=bool)
        for row, ids in cols.instance_ids():
            passed[row] = spec.instance_id in ids or len(members.intersection(ids)) < limit
        return passed


def _max_server_per_host(rules: dict[str, str]) -> int:
    try:
        return int(rules.get(MAX_RULE, 1))
    except ValueError:
        return 1
