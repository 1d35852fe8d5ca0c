"""HypervisorVersionWeigher (today's Nova): prefers hosts with a newer hypervisor."""

from __future__ import annotations

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.weights.base import BaseHostWeigher


class HypervisorVersionWeigher(BaseHostWeigher):
    """Raw value hypervisor_version (major x 1,000,000 + minor x 1,000 + micro; unknown is 0).

    `hypervisor_version_weight_multiplier` 1.0 prefers newer hosts; a
    negative one older hosts. Versions of different hypervisor types are
    compared as plain numbers, as in Nova.
    """

    NAME = "HypervisorVersionWeigher"
    MULTIPLIER_OPTION = "hypervisor_version_weight_multiplier"

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.hypervisor_version or 0
