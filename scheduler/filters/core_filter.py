"""CoreFilter (Nova Stein, the last release that had it; removed in Train)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import VCPUS, ResourceFilter


class CoreFilter(ResourceFilter):
    """Passes iff the host has room for the flavor's vCPUs.

    As in Stein: the ratio is the host's own `cpu_allocation_ratio`, room is
    vcpus_total x ratio - vcpus_used (via `capacity.room`, with the reserved
    vCPUs, the claim check's formula), and (Liberty+) a request for more
    vCPUs than the host physically has fails whatever the ratio.

    Deliberately unlike Nova: Nova passes a host with `vcpus_total == 0`
    ("CPU collection broken, fail safe"). novalog never places on a host that
    reported no capacity, so such a host fails here (`VCPUS.none_is_full`).
    """

    NAME = "CoreFilter"
    REASON = "not enough vCPUs"
    RESOURCE = VCPUS
