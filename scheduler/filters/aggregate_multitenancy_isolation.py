"""AggregateMultiTenancyIsolation (today's Nova, 2024.2+): aggregates that name tenants keep the others out."""

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

TENANT_KEY_PREFIX = "filter_tenant_id"


class AggregateMultiTenancyIsolation(AggregateSetFilter, BaseHostFilter):
    """Passes iff none of the host's aggregates names tenants, or the request's project is among them.

    Tenants are the union, over every aggregate of the host, of the values
    of every metadata key that starts with `filter_tenant_id` (2024.2+:
    `filter_tenant_id_2`... lift the 255-character limit of one value), each
    value a comma list with blanks trimmed (Kilo+). It keeps other tenants
    out; it does not keep the named tenant in. As in Nova, a key with an
    empty value names the tenant "" and so keeps every real project out.
    Reads nothing of the host but its aggregates (asked once per aggregate
    set in the columnar pass).
    """

    NAME = "AggregateMultiTenancyIsolation"
    REASON = "reserved for other projects"
    # Aggregates and the project do not change within one request.
    run_filter_once_per_request = True

    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        metadata = metadata_of(aggregates)
        tenants = {tenant for key, ids in metadata.items() if key.startswith(TENANT_KEY_PREFIX) for tenant in ids}
        return not tenants or spec.project_id in tenants

