"""DiskFilter (Nova Stein, the last release that had it; removed in Train)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import DISK, ResourceFilter


class DiskFilter(ResourceFilter):
    """Passes iff the host has room for the flavor's root, ephemeral and swap disk.

    As in Stein: the request is root + ephemeral + swap (Icehouse+), the
    ratio is the host's own `disk_allocation_ratio`, room is total x ratio -
    used (via `capacity.room`, with the reserved disk, the claim check's
    formula), and (Liberty+) a request larger than the physical total fails
    whatever the ratio.

    One difference of unit, on purpose: Nova adds swap in MB to the disk in
    MB; novalog's inventory and claims are whole GB, so swap is rounded up to
    a GB (`Resources.of`, as Placement's DISK_GB allocation does). While the
    room is a whole number of GB the answers are Stein's (swap s MB fits in
    R GB left iff ceil(s / 1024) <= R); only a fractional room (a ratio such
    as 1.1) can refuse a host that Stein, counting MB, would pass. The claim
    check counts the same GB, so the filter never passes a host the claim
    refuses.
    """

    NAME = "DiskFilter"
    REASON = "not enough disk"
    RESOURCE = DISK
