"""Host aggregates and availability zones: a pure fold over aggregate.events into one row.

Every aggregate event travels under one key, so one writer numbers the
aggregates (Nova's integer ids), keeps their names unique and a host in one
availability zone at most. What it refuses changes nothing; its message is
kept under the refused event's id for the API that wrote it (Nova's 400,
404 and 409 texts).
"""

from __future__ import annotations

from collections.abc import Iterable

from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.records import HostAggregate
from novalog.events.state import AggregatesState
from novalog.events.types.aggregate import (
    AggregateCreated,
    AggregateDeleted,
    AggregateEvent,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    AggregateUpdated,
)

KEY = "aggregates"
AZ = "availability_zone"
REFUSALS_KEEP = 256


def zone_of(aggregate: HostAggregate) -> str | None:
    return aggregate.metadata.get(AZ)


def zones_of_host(aggregates: Iterable[HostAggregate], host: str) -> set[str]:
    """The availability zones a host's aggregates put it in."""
    return {z for a in aggregates if host in a.hosts and (z := zone_of(a))}


def _find(state: AggregatesState, uuid: str) -> HostAggregate | None:
    return next((a for a in state.aggregates if a.uuid == uuid), None)


def _zone_conflict(state: AggregatesState, aggregate: HostAggregate, hosts: Iterable[str], zone: str | None) -> list[str]:
    """The hosts that would end up in two zones if `aggregate` (with those hosts) were in `zone`."""
    if zone is None:
        return []
    others = [a for a in state.aggregates if a.uuid != aggregate.uuid]
    return sorted(h for h in hosts if zones_of_host(others, h) - {zone})


def _refuse(state: AggregatesState, event: AggregateEvent, message: str) -> AggregatesState:
    refusals = {**state.refusals, event.envelope.event_id: message}
    while len(refusals) > REFUSALS_KEEP:
        refusals.pop(next(iter(refusals)))
    return replace(state, refusals=refusals)


def _put(state: AggregatesState, aggregate: HostAggregate) -> AggregatesState:
    return replace(state, aggregates=[aggregate if a.uuid == aggregate.uuid else a for a in state.aggregates])


def handle(state: AggregatesState | None, event: AggregateEvent, offset: int) -> tuple[AggregatesState, list[Outbound]]:
    """The declared fold (projections/registry.py): `apply`, the row stamped with the event's log offset; it orders nothing."""
    return replace(apply(state, event), offset=offset), []


def apply(state: AggregatesState | None, event: AggregateEvent) -> AggregatesState:
    """The aggregates after the event (or with its refusal recorded)."""
    current = state or AggregatesState()
    if event.envelope.event_id in current.refusals:
        return current  # redelivered refusal
    if isinstance(event, AggregateCreated):
        return _create(current, event)
    aggregate = _find(current, event.aggregate_uuid)
    if aggregate is None:
        return _refuse(current, event, f"Aggregate {event.aggregate_uuid} could not be found.")
    return _change(current, aggregate, event)


def _create(current: AggregatesState, event: AggregateCreated) -> AggregatesState:
    """A new aggregate; a known uuid is a redelivery, a taken name a refusal."""
    if _find(current, event.aggregate_uuid) is not None:
        return current  # redelivered
    if any(a.name == event.name for a in current.aggregates):
        return _refuse(current, event, f"Aggregate {event.name} already exists.")
    metadata = {AZ: event.availability_zone} if event.availability_zone else {}
    made = HostAggregate(current.next_id, event.aggregate_uuid, event.name, event.envelope.occurred_at, [], metadata)
    return replace(current, aggregates=[*current.aggregates, made], next_id=current.next_id + 1)


def _change(current: AggregatesState, aggregate: HostAggregate, event: AggregateEvent) -> AggregatesState:
    """An existing aggregate after the event (or the refusal recorded).

    Its `updated_at` moves as Nova's aggregate row's does: only when the row
    itself changes (name, zone). Hosts and metadata live in rows of their own
    in Nova (aggregate_hosts, aggregate_metadata), so adding or removing a host
    or setting metadata leaves it as it was.
    """
    at = event.envelope.occurred_at
    match event:
        case AggregateUpdated():
            if any(a.name == event.name and a.uuid != aggregate.uuid for a in current.aggregates):
                return _refuse(current, event, f"Aggregate {event.name} already exists.")
            if conflict := _zone_conflict(current, aggregate, aggregate.hosts, event.availability_zone):
                return _refuse(current, event, f"Cannot update aggregate {aggregate.id}. Reason: One or more hosts already in availability zone(s) {conflict}.")
            metadata = {k: v for k, v in aggregate.metadata.items() if k != AZ}
            if event.availability_zone:
                metadata[AZ] = event.availability_zone
            return _put(current, replace(aggregate, name=event.name, metadata=metadata, updated_at=at))
        case AggregateDeleted():
            if aggregate.hosts:
                return _refuse(current, event, f"Cannot perform action 'delete' on aggregate {aggregate.id}. Reason: Host aggregate is not empty.")
            return replace(current, aggregates=[a for a in current.aggregates if a.uuid != aggregate.uuid])
        case AggregateHostAdded():
            if event.host in aggregate.hosts:
                return _refuse(current, event, f"Aggregate {aggregate.id} already has host {event.host}.")
            if conflict := _zone_conflict(current, aggregate, [event.host], zone_of(aggregate)):
                return _refuse(current, event, f"Cannot add host to aggregate {aggregate.id}. Reason: One or more hosts already in availability zone(s) {conflict}.")
            return _put(current, replace(aggregate, hosts=[*aggregate.hosts, event.host]))
        case AggregateHostRemoved():
            if event.host not in aggregate.hosts:
                return _refuse(current, event, f"Cannot remove host {event.host} in aggregate {aggregate.id}")
            return _put(current, replace(aggregate, hosts=[h for h in aggregate.hosts if h != event.host]))
        case AggregateMetadataSet():
            metadata = _merged(aggregate.metadata, event.metadata)
            if conflict := _zone_conflict(current, aggregate, aggregate.hosts, metadata.get(AZ)):
                return _refuse(current, event, f"Cannot update metadata of aggregate {aggregate.id}. Reason: One or more hosts already in availability zone(s) {conflict}.")
            return _put(current, replace(aggregate, metadata=metadata))
    return current


def _merged(metadata: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """The metadata after a set: a key set to None is removed."""
    merged = dict(metadata)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
