"""NumInstancesWeigher (today's Nova): weighs hosts by how many instances they run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class NumInstancesWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value num_instances (the host's counted claims).

    `num_instances_weight_multiplier` 0.0 (the default) leaves it out; a
    negative one spreads by instance count, a positive one packs. No
    `minval`, as in Nova: the fewest instances among the hosts weighs 0.
    """

    NAME = "NumInstancesWeigher"
    MULTIPLIER_OPTION = "num_instances_weight_multiplier"

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.num_instances

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return cols.num_instances
