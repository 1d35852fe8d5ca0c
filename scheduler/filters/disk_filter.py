"""DiskFilter (Nova Stein, the last release that had it; removed in Train)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import DISK, ResourceFilter


class DiskFilter(ResourceFilter):
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
    REASON = "not enough disk"
    RESOURCE = DISK
