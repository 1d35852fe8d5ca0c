"""AggregateTypeAffinityFilter (today's Nova): aggregates that name flavors take only those."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

FLAVOR_KEY = "instance_type"


class AggregateTypeAffinityFilter(BaseHostFilter):
    """Passes iff no aggregate of the host has `instance_type` metadata, or one lists the flavor's name.

    Each value is a comma list with blanks trimmed (Kilo+). The flavor is
    matched by name, not id, so a re-created flavor keeps its place. One
    aggregate listing the name is enough, even if another lists other names.
    """

    NAME = "AggregateTypeAffinityFilter"
    REASON = "aggregate reserved for other flavors"
    # Aggregates and the flavor do not change within one request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        values = values_of(host, FLAVOR_KEY)
        if not values:
            return True
        return any(spec.flavor.name in (name.strip() for name in value.split(",")) for value in values)
