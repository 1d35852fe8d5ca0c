"""AvailabilityZoneFilter (Nova 2023.1 Antelope, the last release that had it; removed in 2023.2 Bobcat)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import metadata_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AvailabilityZoneFilter(BaseHostFilter):
    """Passes iff the host is in the requested availability zone.

    No zone requested: every host passes. A host whose aggregates carry
    `availability_zone` is in those zones only (Kilo+: each value split on
    commas); a host without one is in `default_availability_zone`. So a host
    with an explicit zone is not in "nova", even if "nova" is the default.
    """

    NAME = "AvailabilityZoneFilter"
    REASON = "not in the requested availability zone"
    # Zones do not change within a request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = spec.availability_zone
        if not wanted:
            return True
        zones = metadata_of(host, "availability_zone").get("availability_zone")
        if zones is None:
            return wanted == options.default_availability_zone
        return wanted in zones
