"""ServerGroupSoftAntiAffinityWeigher (today's Nova, Mitaka+): prefers hosts running less of the group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher
from novalog.scheduler.weights.soft_affinity import members_on_host, members_per_row

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class ServerGroupSoftAntiAffinityWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value: minus the members of the request's "soft-anti-affinity" group on the host.

    Negated, as in Nova, so the positive `soft_anti_affinity_weight_multiplier`
    (1.0) ranks the emptiest host first. Any other policy, or no group,
    weighs every host 0. The multiplier is asked once per aggregate set.
    """

    NAME = "ServerGroupSoftAntiAffinityWeigher"
    MULTIPLIER_OPTION = "soft_anti_affinity_weight_multiplier"

    def weighs_nothing(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is None or group.policy != "soft-anti-affinity" or not group.members

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return -members_on_host(host, spec, "soft-anti-affinity")

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return -members_per_row(cols, spec, "soft-anti-affinity")
