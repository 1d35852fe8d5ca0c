"""AggregateNumInstancesFilter (today's Nova)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.filters.num_instances_filter import NumInstancesFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AggregateNumInstancesFilter(NumInstancesFilter):
    """NumInstancesFilter with the limit taken from the host's aggregates.

    The limit is the lowest `max_instances_per_host` in their metadata, each
    value cast to int (so "50.0" does not parse); none, or any unparsable
    value, gives the global `max_instances_per_host` option.
    """

    NAME = "AggregateNumInstancesFilter"
    REASON = "too many instances for the aggregate"

    def max_instances(self, host: SchedHost, options: SchedulerOptions) -> int:
        return lowest(values_of(host, "max_instances_per_host"), options.max_instances_per_host, int)
