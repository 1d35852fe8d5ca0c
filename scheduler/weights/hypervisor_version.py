"""HypervisorVersionWeigher (today's Nova): prefers hosts with a newer hypervisor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class HypervisorVersionWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value hypervisor_version (major x 1,000,000 + minor x 1,000 + micro; unknown is 0).

    `hypervisor_version_weight_multiplier` 1.0 prefers newer hosts; a
    negative one older hosts. Versions of different hypervisor types are
    compared as plain numbers, as in Nova.
    """

    NAME = "HypervisorVersionWeigher"
    MULTIPLIER_OPTION = "hypervisor_version_weight_multiplier"

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.hypervisor_version or 0

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        # An int64 column holds no None: `or 0` changes nothing there.
        return cols.hypervisor_version
