"""IoOpsWeigher (today's Nova, Juno+): prefers the host with the fewest I/O-heavy operations in progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class IoOpsWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value num_io_ops (here: instances proposed and not yet accepted, surely still building).

    `io_ops_weight_multiplier` -1.0 (the default) prefers idle hosts; a
    positive one stacks new builds where builds already run.
    """

    NAME = "IoOpsWeigher"
    MULTIPLIER_OPTION = "io_ops_weight_multiplier"
    minval = 0

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return host.num_io_ops

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        return cols.num_io_ops
