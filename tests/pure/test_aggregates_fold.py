"""Host aggregates in one row: numbered in order, unique names, one zone per host, Nova's refusals kept by event id."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from builders import NOW, build_envelope, build_sched_host, build_spec
from novalog.events.types import (
    AggregateCreated,
    AggregateDeleted,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    AggregateUpdated,
)
from novalog.projections.aggregates import apply, zones_of_host
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import no_valid_host_message, select_host

_n = iter(range(10_000))


def env(event_class: type):
    return build_envelope(event_class, event_id=f"agg-{next(_n)}", occurred_at=NOW)


def fold(*events):
    state = None
    for event in events:
        state = apply(state, event)
    return state


def created(uuid: str, name: str, zone: str | None = None) -> AggregateCreated:
    return AggregateCreated(envelope=env(AggregateCreated), aggregate_uuid=uuid, name=name, availability_zone=zone)


def test_aggregates_are_numbered_in_log_order_and_hold_hosts_and_metadata() -> None:
    state = fold(
        created("u1", "fast", "az1"), created("u2", "gpu"),
        AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h1"),
        AggregateMetadataSet(envelope=env(AggregateMetadataSet), aggregate_uuid="u2", metadata={"gpu": "true", "x": None}),
    )
    assert [(a.id, a.name, a.hosts, a.metadata) for a in state.aggregates] == [
        (1, "fast", ["h1"], {"availability_zone": "az1"}), (2, "gpu", [], {"gpu": "true"}),
    ]
    assert zones_of_host(state.aggregates, "h1") == {"az1"} and state.refusals == {}


def test_novas_refusals_change_nothing_and_are_kept_under_the_events_id() -> None:
    base = fold(created("u1", "a", "az1"), created("u2", "b", "az2"), AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h1"))
    cases = [
        (created("u3", "a"), "Aggregate a already exists."),
        (AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h1"), "Aggregate 1 already has host h1."),
        (AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u2", host="h1"),
         "Cannot add host to aggregate 2. Reason: One or more hosts already in availability zone(s) ['h1']."),
        (AggregateHostRemoved(envelope=env(AggregateHostRemoved), aggregate_uuid="u2", host="h1"), "Cannot remove host h1 in aggregate 2"),
        (AggregateDeleted(envelope=env(AggregateDeleted), aggregate_uuid="u1"),
         "Cannot perform action 'delete' on aggregate 1. Reason: Host aggregate is not empty."),
        (AggregateUpdated(envelope=env(AggregateUpdated), aggregate_uuid="u9", name="z"), "Aggregate u9 could not be found."),
    ]
    for event, message in cases:
        after = apply(base, event)
        assert after.aggregates == base.aggregates and after.refusals == {**base.refusals, event.envelope.event_id: message}


def test_update_delete_and_redelivery() -> None:
    create = created("u1", "a", "az1")
    state = fold(create, create, AggregateUpdated(envelope=env(AggregateUpdated), aggregate_uuid="u1", name="b", availability_zone=None))
    assert [(a.id, a.name, a.metadata) for a in state.aggregates] == [(1, "b", {})]
    gone = apply(state, AggregateDeleted(envelope=env(AggregateDeleted), aggregate_uuid="u1"))
    assert gone.aggregates == [] and apply(gone, created("u2", "c")).aggregates[0].id == 2  # ids are never reused


def test_a_requested_zone_keeps_only_its_hosts_before_any_filter() -> None:
    in_az1 = (Aggregate("1", "a", {"availability_zone": "az1"}),)
    hosts = [replace(build_sched_host(host="h1"), aggregates=in_az1), build_sched_host(host="h2"), build_sched_host(host="h3")]
    options = SchedulerOptions()
    picks = {select_host(hosts, build_spec(availability_zone="az1"), options, random.Random(s)).host for s in range(10)}
    default = {select_host(hosts, build_spec(availability_zone="nova"), options, random.Random(s)).host for s in range(20)}
    nowhere = select_host(hosts, build_spec(availability_zone="az9"), options, random.Random(0))
    assert picks == {"h1"} and default and default <= {"h2", "h3"}
    assert nowhere.host is None and "(availability_zone): 3 -> 0" in no_valid_host_message(nowhere.trace)


def at(event, minutes: int):
    """The event as if it happened `minutes` after NOW."""
    return replace(event, envelope=replace(event.envelope, occurred_at=NOW + timedelta(minutes=minutes)))


@pytest.mark.parametrize(("change", "updated"), [
    # Nova's aggregate row changes only with its own columns (name, zone); hosts and metadata are rows of their own.
    (AggregateUpdated(envelope=env(AggregateUpdated), aggregate_uuid="u1", name="faster", availability_zone="az1"), 5),
    (AggregateUpdated(envelope=env(AggregateUpdated), aggregate_uuid="u1", name="fast", availability_zone="az2"), 5),
    (AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h2"), None),
    (AggregateHostRemoved(envelope=env(AggregateHostRemoved), aggregate_uuid="u1", host="h1"), None),
    (AggregateMetadataSet(envelope=env(AggregateMetadataSet), aggregate_uuid="u1", metadata={"ssd": "true"}), None),
    # A refused change changes nothing either (h1 is already a member).
    (AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h1"), None),
], ids=["rename", "new zone", "add host", "remove host", "set metadata", "refused add"])
def test_updated_at_moves_only_when_the_aggregates_own_fields_do(change, updated: int | None) -> None:
    base = fold(created("u1", "fast", "az1"), at(AggregateHostAdded(envelope=env(AggregateHostAdded), aggregate_uuid="u1", host="h1"), 1))
    (before,) = base.aggregates
    assert before.updated_at is None  # created, then a host added at T+1: never updated
    (after,) = apply(base, at(change, 5)).aggregates
    assert after.updated_at == (None if updated is None else NOW + timedelta(minutes=updated))
    assert after.created_at == before.created_at == NOW
