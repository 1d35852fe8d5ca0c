"""CPUWeigher (today's Nova, Queens+): prefers the host with the most vCPUs left to claim."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.capacity import room
from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns


class CPUWeigher(VectorizedWeigher, BaseHostWeigher):
    """Raw value vcpus_total x cpu_allocation_ratio - vcpus_used.

    Computed with `capacity.room`, so the host's reserved vCPUs are left out
    too (Nova keeps them in Placement's inventory instead); the value is
    exactly what CoreFilter and the claim check call room.
    `cpu_weight_multiplier` 1.0 spreads; a negative one stacks.
    """

    NAME = "CPUWeigher"
    MULTIPLIER_OPTION = "cpu_weight_multiplier"
    minval = 0

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return room(host.vcpus_total, host.cpu_allocation_ratio, host.reserved_vcpus, host.vcpus_used)

    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        # The same capacity.room, computed once per build as the column CoreFilter reads too.
        return cols.vcpu_room
