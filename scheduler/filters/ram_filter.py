"""RamFilter (Nova Stein, the last release that had it; removed in Train)."""

from __future__ import annotations

from novalog.scheduler.filters.resource import RAM, ResourceFilter


class RamFilter(ResourceFilter):
    """Passes iff the host has room for the flavor's RAM.

    As in Stein: the ratio is the host's own `ram_allocation_ratio` (per
    node since Liberty; in novalog from the host's capacity report), room is
    total x ratio - used, and (Liberty+) a request larger than the physical
    total fails whatever the ratio: an instance may overcommit against other
    instances, never against itself. "Used" here is reserved plus claimed,
    computed by `capacity.room`, the formula the claim check also uses.
    """

    NAME = "RamFilter"
    REASON = "not enough RAM"
    RESOURCE = RAM
