"""ServerGroupAffinityFilter (today's Nova): members of an affinity group share one host."""

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

POLICY = "affinity"


class ServerGroupAffinityFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff no member of the group is placed yet, or the host runs one of them.

    Acts only on an "affinity" group (Icehouse+: each group filter minds its
    own policy); any other policy, or no group, passes.

    Nova compares the host with `group.hosts`, the hosts of the members
    that have one, looked up in its database. The spec here carries no
    hosts, only `members`, so they are read as the group's placed members:
    whoever builds the spec must list only instances that hold a host. The
    instance being placed is ignored if listed. With members listed but all
    running on hosts other filters removed, no host passes, as in Nova.
    """

    NAME = "ServerGroupAffinityFilter"
    REASON = "against the group's affinity"
    # Not once per request (Nova): a placement earlier in the request may add a member.

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        group = spec.instance_group
        return group is None or group.policy != POLICY or not set(group.members) - {spec.instance_id}

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        group = spec.instance_group
        if group is None or group.policy != POLICY:
            return True
        placed = set(group.members) - {spec.instance_id}
        if not placed:
            return True
        return not host.instances.keys().isdisjoint(placed)

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        group = spec.instance_group
        placed = set() if group is None or group.policy != POLICY else set(group.members) - {spec.instance_id}
        if not placed:
            return np.ones(len(cols), dtype=bool)
        passed = np.zeros(len(cols), dtype=bool)
        for row, ids in cols.instance_ids():  # only the hosts that run instances can run a member
            if not placed.isdisjoint(ids):
                passed[row] = True
        return passed
