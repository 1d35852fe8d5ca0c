"""AvailabilityZoneFilter (Nova 2023.1 Antelope, the last release that had it; removed in 2023.2 Bobcat)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import metadata_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.vectorized import AggregateSetFilter

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AvailabilityZoneFilter(AggregateSetFilter, BaseHostFilter):
    """Passes iff the host is in the requested availability zone.

    No zone requested: every host passes. A host whose aggregates carry
    `availability_zone` is in those zones only (Kilo+: each value split on
    commas); a host without one is in `default_availability_zone`. So a host
    with an explicit zone is not in "nova", even if "nova" is the default.

    Reads nothing of the host but its aggregates: `host_passes` is
    `passes_aggregates(host.aggregates, ...)`, asked once per aggregate set
    in the columnar pass.
    """

    NAME = "AvailabilityZoneFilter"
    REASON = "not in the requested zone"
    # Zones do not change within a request.
    run_filter_once_per_request = True

    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = spec.availability_zone
        if not wanted:
            return True
        zones = metadata_of(aggregates, "availability_zone").get("availability_zone")
        if zones is None:
            return wanted == options.default_availability_zone
        return wanted in zones

