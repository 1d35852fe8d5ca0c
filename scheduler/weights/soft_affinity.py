"""ServerGroupSoftAffinityWeigher (today's Nova, Mitaka+): prefers hosts running more of the group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


def members_on_host(host: SchedHost, spec: RequestSpec, policy: str) -> int:
    """How many members of the request's group the host runs; 0 without a group or under another policy."""
    group = spec.instance_group
    if group is None or group.policy != policy:
        return 0
    return len(host.instances.keys() & set(group.members))


def members_per_row(cols: HostColumns, spec: RequestSpec, policy: str) -> np.ndarray:
    """`members_on_host` of every row. Host by host (those with instances), but only for a request whose group
    has this policy: the pass skips the weigher for every other request (`weighs_nothing`)."""
    group = spec.instance_group
    if group is None or group.policy != policy:
        return np.zeros(len(cols), dtype=np.int64)
    members = set(group.members)
    counts = np.zeros(len(cols), dtype=np.int64)
    for row, ids in cols.instance_ids():  # only the hosts that count instances, without a view per host
        counts[row] = len(members.intersection(ids))
    return counts


class ServerGroupSoftAffinityWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value: members of the request's "soft-affinity" group on the host.

    Any other policy, or no group, weighs every host 0, so the part is 0
    everywhere. `soft_affinity_weight_multiplier` 1.0; a soft policy never
    removes a host, it only ranks. The multiplier depends on the options and
    the host's aggregates only, so the columnar pass asks it once per
    aggregate set, not once per host.
    """

    NAME = "ServerGroupSoftAffinityWeigher"
    MULTIPLIER_OPTION = "soft_affinity_weight_multiplier"

    def weighs_nothing(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is None or group.policy != "soft-affinity" or not group.members

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return members_on_host(host, spec, "soft-affinity")

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return members_per_row(cols, spec, "soft-affinity")
