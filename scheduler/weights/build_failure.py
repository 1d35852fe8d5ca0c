"""BuildFailureWeigher (today's Nova, Pike+): keeps new builds away from hosts whose recent builds failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class BuildFailureWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value failed_builds (consecutive failed builds; a success resets it).

    Nova applies `build_failure_weight_multiplier` (1e6) negated, so a
    positive option, the aggregate override included, pushes failing hosts
    down; the huge default outweighs every other weigher, so one failure
    sends a host behind all clean ones. 0 turns it off.
    """

    NAME = "BuildFailureWeigher"
    MULTIPLIER_OPTION = "build_failure_weight_multiplier"

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.failed_builds

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return cols.failed_builds

    def weight_multiplier(self, options: SchedulerOptions, host: SchedHost) -> float:
        return -super().weight_multiplier(options, host)
