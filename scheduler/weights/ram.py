"""RAMWeigher (today's Nova): prefers the host with the most free RAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class RAMWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value free_ram_mb (total - reserved - claimed; negative when overcommitted).

    `ram_weight_multiplier` 1.0 spreads instances; a negative one stacks them.
    """

    NAME = "RAMWeigher"
    MULTIPLIER_OPTION = "ram_weight_multiplier"
    minval = 0

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.free_ram_mb

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return cols.free_ram_mb
