"""DiskFilter (Nova Stein, the last release that had it; removed in Train)."""

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


class DiskFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host has room for the flavor's root plus ephemeral disk.

    As in Stein: the ratio is the host's own `disk_allocation_ratio`, room
    is total x ratio - used (via `capacity.room`, with the reserved disk, the
    claim check's formula), and (Liberty+) a request larger than the physical
    total fails whatever the ratio.

    Unlike Stein, swap is not counted: novalog's claim (`Resources.of`, as
    Nova's compute-side claim) leaves swap out, and the filter must not
    disagree with the claim check. Nova works in MB; novalog's inventory and
    claims are whole GB, which gives the same answers.
    """

    NAME = "DiskFilter"
    REASON = "insufficient disk"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = Resources.of(spec.flavor).disk_gb
        if wanted > host.total_usable_disk_gb:
            return False
        left = room(host.total_usable_disk_gb, host.disk_allocation_ratio, host.reserved_disk_gb, host.disk_claimed_gb)
        return left >= wanted

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        return cols.disk_fit_gb >= Resources.of(spec.flavor).disk_gb
