"""Every projection declared once: what it reads, what it folds, where its rows go.

The Faust worker, `novalog replay`, `novalog state --at` and the tests all
run these same declarations, so a replay runs exactly the live code. Each
declared fold has one signature, `handle(state, event, offset) -> (state,
outs)`: the row after the event (None: no row for this key) and the records
the decision asks to append. `step` is the one rule around it that every
runner shares: an event that does not belong on the topic is refused, and a
row is stored only when it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from novalog.events import topics
from novalog.events.evolve import changed
from novalog.events.outbound import Outbound

# The row headers' vocabulary, imported here too, where the folds that write them are declared.
from novalog.events.row_headers import DECIDED_HEADER, SOURCE_HEADER, decided_header, parse_decided_header, parse_source_position, source_position  # noqa: F401
from novalog.events.types.aggregate import AggregateEvent
from novalog.events.types.identity import IdentityEvent
from novalog.events.types.network import NetworkEvent
from novalog.events.types.quota import QuotaEvent
from novalog.events.types.tenant import TenantEvent
from novalog.projections import aggregates, catalog, host_state, identity, instances, networks, quotas, tenant

Handle = Callable[[Any, Any, int], tuple[Any, list[Outbound]]]


class NotOnThisTopic(ValueError):
    """A decodable record of a type the projection does not fold (written to the wrong topic)."""


@dataclass(frozen=True, slots=True)
class Projection:
    """One table: its source topics (co-partitioned by key), the event union it folds, its state topic and its fold."""

    table: str
    sources: tuple[str, ...]
    accepts: tuple[type, ...]
    state_topic: str
    handle: Handle
    # For a table whose rows answer requests (quotas): what a changed row newly decided, from
    # (old row, new row), as {decision id: (message, accepted ids)}; sent as its DECIDED_HEADER.
    newly_decided: Callable[[Any, Any], dict[str, tuple[str, list[str]]]] | None = None

    def step(self, old: Any, record: Any, offset: int) -> tuple[Any, list[Outbound]]:
        """Fold one decoded record: the row to store (None: leave the stored row as it is) and what to append."""
        if not isinstance(record, self.accepts):
            raise NotOnThisTopic(f"{type(record).__name__} does not belong on {'/'.join(self.sources)}")
        new, outs = self.handle(old, record, offset)
        return (new if new is not None and changed(new, old) else None), outs

    def headers(self, source: bytes, old: Any, new: Any) -> list[tuple[str, bytes]]:
        """The headers a changed row is published with: the record that made it, and what it newly decided."""
        headers = [(SOURCE_HEADER, source)]
        if self.newly_decided is not None and (decided := self.newly_decided(old, new)):
            headers.append((DECIDED_HEADER, decided_header(decided)))
        return headers


PROJECTIONS: tuple[Projection, ...] = (
    Projection("host_state", (topics.HOST_EVENTS, topics.HOST_HEARTBEATS), get_args(host_state.Folded), topics.STATE_HOSTS, host_state.handle),
    Projection("instances", (topics.INSTANCE_EVENTS,), get_args(instances.Folded), topics.STATE_INSTANCES, instances.handle),
    Projection("catalog", (topics.CATALOG_EVENTS,), get_args(catalog.Folded), topics.STATE_CATALOG, catalog.handle),
    Projection("identity", (topics.IDENTITY_EVENTS,), get_args(IdentityEvent), topics.STATE_IDENTITY, identity.handle),
    Projection("quotas", (topics.QUOTA_EVENTS,), get_args(QuotaEvent), topics.STATE_QUOTAS, quotas.handle, quotas.newly_decided),
    Projection("aggregates", (topics.AGGREGATE_EVENTS,), get_args(AggregateEvent), topics.STATE_AGGREGATES, aggregates.handle),
    Projection("tenant", (topics.TENANT_EVENTS,), get_args(TenantEvent), topics.STATE_TENANT, tenant.handle),
    Projection("networks", (topics.NETWORK_EVENTS,), get_args(NetworkEvent), topics.STATE_NETWORKS, networks.handle),
)

BY_TABLE: dict[str, Projection] = {p.table: p for p in PROJECTIONS}
