"""CoreFilter (Nova Stein, the last release that had it; removed in Train)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from novalog.events.capacity import room
from novalog.events.records import RequestSpec, Resources
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class CoreFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host has room for the flavor's vCPUs.

    As in Stein: the ratio is the host's own `cpu_allocation_ratio`, room is
    vcpus_total x ratio - vcpus_used (via `capacity.room`, with the reserved
    vCPUs, the claim check's formula), and (Liberty+) a request for more
    vCPUs than the host physically has fails whatever the ratio.

    Deliberately unlike Nova: Nova passes a host with `vcpus_total == 0`
    ("CPU collection broken, fail safe"). novalog never places on a host that
    reported no capacity, so such a host fails here.
    """

    NAME = "CoreFilter"
    REASON = "insufficient vCPUs"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        if host.vcpus_total <= 0:
            return False
        wanted = Resources.of(spec.flavor).vcpus
        if wanted > host.vcpus_total:
            return False
        left = room(host.vcpus_total, host.cpu_allocation_ratio, host.reserved_vcpus, host.vcpus_used)
        return left >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        # vcpu_fit: the least of the total and the room, -inf without vCPUs (HostColumns' derived columns).
        return cols.vcpu_fit >= Resources.of(spec.flavor).vcpus
