"""RamFilter (Nova Stein, the last release that had it; removed in Train)."""

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


class RamFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host has room for the flavor's RAM.

    As in Stein: the ratio is the host's own `ram_allocation_ratio` (per
    node since Liberty; in novalog from the host's capacity report), room is
    total x ratio - used, and (Liberty+) a request larger than the physical
    total fails whatever the ratio: an instance may overcommit against other
    instances, never against itself. "Used" here is reserved plus claimed,
    computed by `capacity.room`, the formula the claim check also uses.
    """

    NAME = "RamFilter"
    REASON = "insufficient RAM"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = Resources.of(spec.flavor).memory_mb
        if wanted > host.total_usable_ram_mb:
            return False
        left = room(host.total_usable_ram_mb, host.ram_allocation_ratio, host.reserved_memory_mb, host.ram_claimed_mb)
        return left >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        # ram_fit_mb is the least of the total and the same capacity.room, computed once per build.
        return cols.ram_fit_mb >= Resources.of(spec.flavor).memory_mb
