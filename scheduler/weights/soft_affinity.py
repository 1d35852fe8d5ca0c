"""ServerGroupSoftAffinityWeigher (today's Nova, Mitaka+): prefers hosts running more of the group."""

from __future__ import annotations

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.weights.base import BaseHostWeigher


def members_on_host(host: SchedHost, spec: RequestSpec, policy: str) -> int:
    """How many members of the request's group the host runs; 0 without a group or under another policy."""
    group = spec.instance_group
    if group is None or group.policy != policy:
        return 0
    return len(host.instances.keys() & set(group.members))


class ServerGroupSoftAffinityWeigher(BaseHostWeigher):
    """Raw value: members of the request's "soft-affinity" group on the host.

    Any other policy, or no group, weighs every host 0, so the part is 0
    everywhere. `soft_affinity_weight_multiplier` 1.0; a soft policy never
    removes a host, it only ranks.
    """

    NAME = "ServerGroupSoftAffinityWeigher"
    MULTIPLIER_OPTION = "soft_affinity_weight_multiplier"

    def weighs_nothing(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is None or group.policy != "soft-affinity" or not group.members

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return members_on_host(host, spec, "soft-affinity")
