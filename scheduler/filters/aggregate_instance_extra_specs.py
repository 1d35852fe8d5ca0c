"""AggregateInstanceExtraSpecsFilter (today's Nova)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import metadata_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.extra_specs_ops import match
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.vectorized import AggregateSetFilter

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter(AggregateSetFilter, BaseHostFilter):
    """Passes iff the host's aggregates' metadata satisfies the flavor's extra specs.

    A key scoped `aggregate_instance_extra_specs:` is checked without its
    scope (split at the first ":" only); other scopes are ignored; an
    unscoped key is checked too (so it is also read by
    ComputeCapabilitiesFilter: scope keys when both are on). The key must be
    in the metadata of one of the host's aggregates, and one of its values
    (gathered over the aggregates, each split on commas, Kilo+) must `match`
    the requirement. No extra specs: every host passes. Reads nothing of the
    host but its aggregates (asked once per aggregate set in the columnar
    pass; a requirement that raises ExtraSpecError raises there too).
    """

    NAME = "AggregateInstanceExtraSpecsFilter"
    REASON = "aggregate unlike the flavor's extra specs"
    # Aggregates and the flavor do not change within a request.
    run_filter_once_per_request = True

    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        if not spec.flavor.extra_specs:
            return True
        metadata = metadata_of(aggregates)
        for key, req in spec.flavor.extra_specs.items():
            scope, colon, rest = key.partition(":")
            if colon and scope != SCOPE:
                continue
            values = metadata.get(rest if colon else key)
            # Sorted: which value is tried first decides whether a bad numeric one raises.
            if not values or not any(match(value, req) for value in sorted(values)):
                return False
        return True

