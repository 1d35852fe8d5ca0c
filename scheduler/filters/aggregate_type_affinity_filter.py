"""AggregateTypeAffinityFilter (today's Nova): aggregates that name flavors take only those."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.vectorized import AggregateSetFilter

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

FLAVOR_KEY = "instance_type"


class AggregateTypeAffinityFilter(AggregateSetFilter, BaseHostFilter):
    """Passes iff no aggregate of the host has `instance_type` metadata, or one lists the flavor's name.

    Each value is a comma list with blanks trimmed (Kilo+). The flavor is
    matched by name, not id, so a re-created flavor keeps its place. One
    aggregate listing the name is enough, even if another lists other names.
    Reads nothing of the host but its aggregates (asked once per aggregate
    set in the columnar pass).
    """

    NAME = "AggregateTypeAffinityFilter"
    REASON = "reserved for other flavors"
    # Aggregates and the flavor do not change within one request.
    run_filter_once_per_request = True

    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        values = values_of(aggregates, FLAVOR_KEY)
        if not values:
            return True
        return any(spec.flavor.name in (name.strip() for name in value.split(",")) for value in values)

