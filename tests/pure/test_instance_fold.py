"""The instance fold: Nova's vm_state / task_state through the lifecycle, and the agent commands it decides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import (
    NOW,
    build_build_requested,
    build_caused_envelope,
    build_claim_accepted,
    build_claim_rejected,
    build_delete_requested,
    build_deleted,
    build_flavor,
    build_instance_state,
    build_instance_updated,
    build_power_state_changed,
    build_scheduling_failed,
    build_spawn_failed,
    build_spawned,
    build_spec,
)
from novalog.events.outbound import Outbound
from novalog.events.state import InstanceState
from novalog.events.types import (
    ClaimAccepted,
    ClaimReleased,
    InstanceDeleteOrdered,
    InstanceSpawnOrdered,
    QuotaUsageReleased,
)
from novalog.projections import instances
from novalog.projections.instances import touch


def handle(state: InstanceState | None, event: Any) -> tuple[InstanceState | None, list[Outbound]]:
    """The state machine under test; the quota releases it sends are checked apart, and the actions it keeps in
    tests/pure/test_instance_action_log.py."""
    new, outs = instances.fold(state, event)
    return (None if new is None else replace(new, actions=[])), [o for o in outs if not isinstance(o.record, QuotaUsageReleased)]

T = [NOW + timedelta(minutes=m) for m in range(6)]  # T[0] build, T[1] accepted, ...


def timeless(value: Any) -> Any:
    """The value with its envelope's clock reading set to NOW (decisions read the clock; see test_host_state_fold)."""
    if isinstance(value, list):
        return [timeless(v) for v in value]
    if isinstance(value, Outbound):
        return replace(value, record=timeless(value.record))
    if hasattr(value, "envelope"):
        return replace(value, envelope=replace(value.envelope, occurred_at=NOW))
    return value


def spawn_order(accepted: ClaimAccepted) -> Outbound:
    order = InstanceSpawnOrdered(
        envelope=build_caused_envelope(accepted.envelope, InstanceSpawnOrdered),
        instance_id=accepted.instance_id,
        claim_id=accepted.claim_id,
        name="vm-1",
        flavor=build_flavor(),
        image_ref="image-1",
        project_id="project-1",
    )
    return Outbound(f"agent.{accepted.host}", accepted.instance_id, order)


def delete_order(cause: Any, host: str, claim_id: str | None) -> Outbound:
    order = InstanceDeleteOrdered(
        envelope=build_caused_envelope(cause.envelope, InstanceDeleteOrdered, salt=claim_id or ""),
        instance_id=cause.instance_id,
        claim_id=claim_id,
    )
    return Outbound(f"agent.{host}", cause.instance_id, order)


BUILD = build_build_requested(at=T[0])
ACCEPTED = build_claim_accepted("claim-1", "host-1", at=T[1])
SPAWNED = build_spawned(host="host-1", at=T[2])
DELETE = build_delete_requested(at=T[3])
DELETED = build_deleted(host="host-1", at=T[4])
LIFECYCLE = [BUILD, ACCEPTED, SPAWNED, DELETE, DELETED]

SCHEDULING = build_instance_state(created_at=T[0], updated_at=T[0])
SPAWNING = replace(SCHEDULING, host="host-1", claim_id="claim-1", task_state="spawning", attempts=1)
ACTIVE = replace(
    SPAWNING, vm_state="active", task_state=None, power_state=1, hypervisor_hostname="host-1",
    domain_name="novalog-instance-1", launched_at=T[2],
)
DELETING = replace(ACTIVE, task_state="deleting")
GONE = replace(DELETING, vm_state="deleted", task_state=None, power_state=0, terminated_at=T[4])

# (event, the row after it, the commands it decides)
STEPS = [
    pytest.param(BUILD, SCHEDULING, [], id="build-requested"),
    pytest.param(ACCEPTED, SPAWNING, [spawn_order(ACCEPTED)], id="claim-accepted-orders-a-spawn"),
    pytest.param(SPAWNED, ACTIVE, [], id="spawned-is-active"),
    pytest.param(DELETE, DELETING, [delete_order(DELETE, "host-1", "claim-1")], id="delete-requested-orders-a-delete"),
    pytest.param(DELETED, GONE, [], id="deleted"),
]


def fold(events: list[Any], state: InstanceState | None = None) -> tuple[InstanceState | None, list[Outbound]]:
    outs: list[Outbound] = []
    for event in events:
        state, out = handle(state, event)
        outs += out
    return state, outs


def test_the_lifecycle_from_build_to_deleted() -> None:
    rows, outs = [], []
    state = None
    for event in LIFECYCLE:
        state, out = handle(state, event)
        rows.append(state)
        outs.append(timeless(out))

    assert rows == [SCHEDULING, SPAWNING, ACTIVE, DELETING, GONE]
    assert outs == [[], [spawn_order(ACCEPTED)], [], [delete_order(DELETE, "host-1", "claim-1")], []]


def test_the_spawn_order_goes_to_the_hosts_agent_under_an_id_derived_from_the_acceptance() -> None:
    _, out = handle(SCHEDULING, ACCEPTED)

    (order,) = out
    assert (order.topic, order.key) == ("agent.host-1", "instance-1")
    assert order.record.envelope.event_id == build_caused_envelope(ACCEPTED.envelope, InstanceSpawnOrdered).event_id
    assert (order.record.envelope.causation_id, order.record.envelope.request_id) == ("accepted-claim-1", "req-1")


@pytest.mark.parametrize(("event", "row", "commands"), STEPS)
def test_each_lifecycle_step_redelivered_changes_nothing_and_repeats_its_commands(event, row, commands) -> None:
    again, out = handle(row, event)

    assert again == row
    assert timeless(out) == commands


def test_a_scheduling_failure_is_error_with_the_fault_and_no_host() -> None:
    failed = build_scheduling_failed(at=T[1], attempts=3)

    assert handle(SCHEDULING, failed) == (
        replace(SCHEDULING, vm_state="error", task_state=None, host=None, fault=failed.fault, attempts=3),
        [],
    )


def test_a_rejected_claim_keeps_the_instance_building_and_counts_the_attempt() -> None:
    rejection = build_claim_rejected(spec=build_spec(instance_id="instance-1", num_attempts=2))

    assert handle(SCHEDULING, rejection) == (replace(SCHEDULING, attempts=2), [])


def test_a_rejection_arriving_after_an_acceptance_is_ignored() -> None:
    late = build_claim_rejected("claim-0", "host-2", spec=build_spec(instance_id="instance-1", num_attempts=3))

    assert handle(SPAWNING, late) == (SPAWNING, [])


def test_a_delete_while_scheduling_deletes_at_once() -> None:
    assert handle(SCHEDULING, DELETE) == (
        replace(SCHEDULING, vm_state="deleted", task_state=None, terminated_at=T[3]),
        [],
    )


def test_a_claim_accepted_after_the_delete_is_given_back() -> None:
    deleted = handle(SCHEDULING, DELETE)[0]
    late = build_claim_accepted("claim-1", "host-2", at=T[4])

    state, out = handle(deleted, late)
    again_state, again_out = handle(state, late)

    assert state == deleted
    assert timeless(out) == [delete_order(late, "host-2", "claim-1")]
    assert (again_state, timeless(again_out)) == (state, timeless(out))


def test_a_claim_accepted_while_deleting_is_given_back() -> None:
    """Deleted while spawning, then a second claim lands: the agent is told to drop it too."""
    deleting = replace(SPAWNING, task_state="deleting")
    other = build_claim_accepted("claim-2", "host-2", at=T[4])

    state, out = handle(deleting, other)

    assert (state, timeless(out)) == (deleting, [delete_order(other, "host-2", "claim-2")])


def test_a_claim_accepted_for_another_claim_is_not_used_for_spawning() -> None:
    other = build_claim_accepted("claim-2", "host-2", at=T[2])

    state, out = handle(SPAWNING, other)

    assert state == SPAWNING
    assert [o for o in out if isinstance(o.record, InstanceSpawnOrdered)] == []


def given_back(outs: list[Outbound]) -> set[tuple[str, str]]:
    """The (host, claim id) pairs the commands hand back: a release on host.events, or a delete order naming the claim."""
    back = set()
    for out in outs:
        if isinstance(out.record, ClaimReleased) and out.topic == "host.events":
            back.add((out.record.host, out.record.claim_id))
        elif isinstance(out.record, InstanceDeleteOrdered) and out.record.claim_id:
            back.add((out.topic.removeprefix("agent."), out.record.claim_id))
    return back


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(SPAWNING, id="while-spawning-claim-1"),
        pytest.param(ACTIVE, id="while-active-on-claim-1"),
        pytest.param(replace(SCHEDULING, vm_state="error", task_state=None, fault=build_scheduling_failed().fault), id="after-no-valid-host"),
    ],
)
def test_a_claim_the_instance_will_not_use_is_given_back(row) -> None:
    """A second acceptance (e.g. a scheduler redelivered the build request and chose another host)
    holds room on host-2 that nothing else will ever release."""
    other = build_claim_accepted("claim-2", "host-2", at=T[3])

    state, out = handle(row, other)

    assert state == row
    assert given_back(out) == {("host-2", "claim-2")}


NOT_BUILDS = [
    build_delete_requested(),
    build_scheduling_failed(),
    build_spawned(),
    build_spawn_failed(),
    build_power_state_changed(),
    build_deleted(),
    build_claim_accepted(),
    build_claim_rejected(),
]


@pytest.mark.parametrize("event", NOT_BUILDS, ids=lambda e: type(e).__name__)
def test_events_for_an_unknown_instance_are_ignored(event) -> None:
    assert handle(None, event) == (None, [])


def test_a_redelivered_build_request_changes_nothing() -> None:
    assert handle(ACTIVE, BUILD) == (ACTIVE, [])


def test_a_spawn_failure_is_error_with_the_fault_and_no_host_or_claim() -> None:
    failed = build_spawn_failed(host="host-1", at=T[2])

    assert handle(SPAWNING, failed) == (
        replace(SPAWNING, vm_state="error", task_state=None, power_state=0, host=None, claim_id=None, fault=failed.fault),
        [],
    )


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(build_spawned(host="host-2"), id="spawned"),
        pytest.param(build_spawn_failed(host="host-2"), id="spawn-failed"),
    ],
)
def test_spawn_news_from_another_host_is_ignored(event) -> None:
    assert handle(SPAWNING, event) == (SPAWNING, [])


def test_a_spawn_after_the_delete_request_stays_deleting() -> None:
    deleting = replace(SPAWNING, task_state="deleting")

    assert handle(deleting, SPAWNED) == (replace(ACTIVE, task_state="deleting"), [])


@pytest.mark.parametrize(
    ("power_state", "vm_state"),
    [
        pytest.param(4, "stopped", id="4-SHUTDOWN-stopped"),
        pytest.param(6, "stopped", id="6-CRASHED-stopped"),
        pytest.param(3, "paused", id="3-PAUSED-paused"),
        pytest.param(7, "suspended", id="7-SUSPENDED-suspended"),
        pytest.param(1, "active", id="1-RUNNING-active"),
        # the guest is gone (its host lost it): shown stopped, as Nova's power-state sync stops it
        pytest.param(0, "stopped", id="0-NOSTATE-stopped"),
    ],
)
def test_power_states_map_to_vm_states(power_state, vm_state) -> None:
    change = build_power_state_changed(host="host-1", power_state=power_state, at=T[3])

    assert handle(ACTIVE, change) == (replace(ACTIVE, power_state=power_state, vm_state=vm_state), [])


def test_a_stopped_instance_running_again_is_active() -> None:
    stopped = replace(ACTIVE, vm_state="stopped", power_state=4)

    assert handle(stopped, build_power_state_changed(power_state=1)) == (ACTIVE, [])


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(SPAWNING, id="building"),
        pytest.param(GONE, id="deleted"),
        pytest.param(replace(SCHEDULING, vm_state="error", task_state=None), id="error"),
        pytest.param(replace(ACTIVE, host="host-2"), id="on-another-host"),
    ],
)
def test_power_state_news_is_ignored_unless_running_on_that_host(row) -> None:
    assert handle(row, build_power_state_changed(host="host-1", power_state=4)) == (row, [])


def test_a_delete_of_an_instance_in_error_without_a_host_deletes_at_once() -> None:
    error = replace(SCHEDULING, vm_state="error", task_state=None, fault=build_scheduling_failed().fault)

    assert handle(error, DELETE) == (replace(error, vm_state="deleted", terminated_at=T[3]), [])


def test_touch_stamps_the_offset_and_the_latest_change_time() -> None:
    assert touch(SCHEDULING, SPAWNED, 41) == replace(SCHEDULING, offset=41, updated_at=T[2])
    # an event older than the row's last change keeps updated_at
    assert touch(ACTIVE, BUILD, 42) == replace(ACTIVE, offset=42, updated_at=T[0])
    assert touch(replace(ACTIVE, updated_at=T[5]), SPAWNED, 43) == replace(ACTIVE, offset=43, updated_at=T[5])


# --- properties over valid histories ---

POWER_TO_VM = {1: "active", 3: "paused", 4: "stopped", 6: "stopped", 7: "suspended"}


@dataclass(frozen=True)
class World:
    """What the instance is, as the other services would tell it (independent of the fold under test)."""

    phase: str = "scheduling"  # scheduling | placed | active | error | deleted
    host: str | None = None
    power: int = 0
    attempts: int = 1
    deleting: bool = False  # delete requested while on a host: the agent will answer InstanceDeleted
    late: bool = False  # deleted while scheduling: a claim decision or failure may still arrive
    agent_pending: str | None = None  # a host whose agent still owes an InstanceDeleted

    def shown(self) -> set[tuple[str, str | None]]:
        """The (vm_state, task_state) Nova may show."""
        match self.phase:
            case "scheduling":
                return {("building", "scheduling")}
            case "placed":
                return {("building", "deleting" if self.deleting else "spawning")}
            case "active":
                return {(POWER_TO_VM[self.power], "deleting" if self.deleting else None)}
            case "error" if self.deleting:
                # the spawn failed after the delete was ordered: still being deleted, or already gone
                return {("error", "deleting"), ("deleted", None)}
            case "error":
                return {("error", None)}
            case _:
                return {("deleted", None)}


def next_events(w: World, i: int, draw: st.DrawFn) -> list[tuple[Any, World]]:
    """Every event that may come next, with the world after it; step i makes ids and times unique."""
    at = NOW + timedelta(seconds=i)
    host = draw(st.sampled_from(("host-1", "host-2")))
    claim = f"claim-{w.attempts}"
    spec = build_spec(instance_id="instance-1", num_attempts=w.attempts)

    def ev(builder: Any, *args: Any, **kw: Any) -> Any:
        event = builder(*args, at=at, **kw)
        return replace(event, envelope=replace(event.envelope, event_id=f"{event.envelope.event_id}-{i}"))

    options: list[tuple[Any, World]] = []
    if w.phase == "scheduling":
        options += [
            (ev(build_claim_rejected, claim, host, spec=spec), replace(w, attempts=w.attempts + 1)),
            (ev(build_claim_accepted, claim, host, spec=spec), replace(w, phase="placed", host=host)),
            (ev(build_scheduling_failed, attempts=w.attempts), replace(w, phase="error")),
            (ev(build_delete_requested), replace(w, phase="deleted", late=True)),
        ]
    elif w.phase == "placed":
        options += [
            (ev(build_spawned, host=w.host), replace(w, phase="active", power=1)),
            (ev(build_spawn_failed, host=w.host), replace(w, phase="error", host=None, agent_pending=w.host if w.deleting else None)),
        ]
    elif w.phase == "active":
        power = draw(st.sampled_from(sorted(POWER_TO_VM)))
        options.append((ev(build_power_state_changed, host=w.host, power_state=power), replace(w, power=power)))
    elif w.phase == "error" and not w.deleting:
        options.append((ev(build_delete_requested), replace(w, phase="deleted")))
    elif w.phase == "deleted" and w.late:
        options += [
            (ev(build_claim_accepted, claim, host, spec=spec), replace(w, late=False, agent_pending=host)),
            (ev(build_scheduling_failed, attempts=w.attempts), replace(w, late=False)),
        ]
    if w.phase in ("placed", "active") and not w.deleting:
        options.append((ev(build_delete_requested), replace(w, deleting=True, agent_pending=w.host)))
    if w.agent_pending is not None:
        options.append((ev(build_deleted, host=w.agent_pending), replace(w, phase="deleted", agent_pending=None, deleting=False)))
    return options


@st.composite
def lifecycles(draw: st.DrawFn, max_steps: int = 12) -> tuple[list[Any], list[World]]:
    """A valid history of one instance: what the API, the schedulers, the host-state processor and the
    agent can say, in an order they can say it; with the world after each event."""
    events, worlds = [build_build_requested()], [World()]
    for i in range(1, draw(st.integers(0, max_steps)) + 1):
        options = next_events(worlds[-1], i, draw)
        if not options:
            break
        event, world = draw(st.sampled_from(options))
        events.append(event)
        worlds.append(world)
    return events, worlds


@settings(max_examples=300, deadline=None)
@given(lifecycles())
def test_the_fold_shows_what_the_world_says(history) -> None:
    events, worlds = history
    state = None
    for event, world in zip(events, worlds):
        state, _ = handle(state, event)
        assert (state.vm_state, state.task_state) in world.shown(), (type(event).__name__, world)
        if world.phase in ("scheduling", "placed", "active", "error") and state.vm_state != "deleted":
            assert state.host == world.host


@settings(max_examples=300, deadline=None)
@given(lifecycles(), st.data())
def test_instance_replay_is_deterministic(history, data) -> None:
    events, _ = history
    k = data.draw(st.integers(0, len(events)))
    whole, whole_out = fold(events)
    prefix, prefix_out = fold(events[:k])
    rest, rest_out = fold(events[k:], prefix)

    assert rest == whole
    assert timeless(prefix_out + rest_out) == timeless(whole_out)
    assert fold(events)[0] == whole


@settings(max_examples=300, deadline=None)
@given(lifecycles())
def test_an_event_delivered_twice_changes_nothing_and_repeats_its_commands(history) -> None:
    events, _ = history
    state = None
    for event in events:
        state, out = handle(state, event)
        again, again_out = handle(state, event)
        assert again == state
        assert timeless(again_out) == timeless(out)


@settings(max_examples=300, deadline=None)
@given(lifecycles(), st.data())
def test_replaying_the_uncommitted_tail_again_changes_nothing(history, data) -> None:
    """After a restart the worker re-reads from its last commit: a suffix, in order."""
    events, _ = history
    k = data.draw(st.integers(0, len(events)))
    final, _ = fold(events)

    assert fold(events[k:], final)[0] == final


def test_a_power_reading_of_a_running_guest_ends_a_build_whose_started_event_was_lost() -> None:
    """The agent died after the guest started, before its STARTED event reached the log; restarted, it reports RUNNING."""
    from builders import build_power_state_changed

    placed = build_instance_state(vm_state="building", task_state="spawning", host="host-1", claim_id="claim-1")
    elsewhere, _ = handle(placed, build_power_state_changed(host="host-2", power_state=1))
    off, _ = handle(placed, build_power_state_changed(host="host-1", power_state=4))
    done, _ = handle(placed, build_power_state_changed(host="host-1", power_state=1))

    assert elsewhere == placed and off.vm_state == "building"
    assert (done.vm_state, done.task_state, done.power_state, done.domain_name) == ("active", None, 1, "novalog-instance-1")


def test_an_instance_gone_gives_its_quota_back_each_time_it_is_told() -> None:
    _, outs = instances.fold(DELETING, build_deleted(host="host-1", at=T[4]))
    _, again = instances.fold(GONE, build_deleted(host="host-1", at=T[4]))
    (released,) = [o for o in outs if isinstance(o.record, QuotaUsageReleased)]
    assert (released.topic, released.key, released.record.instance_id) == ("quota.events", "project-1", "instance-1")
    assert [o.record for o in again if isinstance(o.record, QuotaUsageReleased)] == [released.record]


def test_the_release_gives_back_what_the_quota_counted_at_create_even_after_a_resize() -> None:
    built, _ = instances.fold(None, replace(BUILD, flavor=replace(BUILD.flavor, vcpus=2, ram=2048)))
    assert built.quota_counted == [2, 2048]
    resized = replace(built, flavor=replace(built.flavor, vcpus=8, ram=8192), server_group="g-1", host="host-1",
                      claim_id="claim-1", vm_state="active", task_state="deleting")
    _, outs = instances.fold(resized, build_deleted(host="host-1", at=T[4]))
    (released,) = [o.record for o in outs if isinstance(o.record, QuotaUsageReleased)]
    assert (released.vcpus, released.ram, released.server_group) == (2, 2048, "g-1")
    _, outs = instances.fold(replace(resized, quota_counted=[]), build_deleted(host="host-1", at=T[4]))
    (unknown,) = [o.record for o in outs if isinstance(o.record, QuotaUsageReleased)]
    assert (unknown.vcpus, unknown.ram) == (-1, -1), "a row from before the counts were kept cannot say"


@pytest.mark.parametrize(("v4", "v6"), [(None, None), ("192.0.2.1", None), (None, "2001:db8::1"), ("10.0.0.1", "::1")],
                         ids=["none", "v4", "v6", "both"])
def test_the_build_keeps_its_access_ips(v4: str | None, v6: str | None) -> None:
    state, _ = handle(None, build_build_requested(access_ip_v4=v4, access_ip_v6=v6))
    assert state is not None and (state.access_ip_v4, state.access_ip_v6) == (v4, v6)


@pytest.mark.parametrize(("row", "changes", "expected"), [
    (dict(vm_state="active"), dict(name="renamed"), ("renamed", None, None)),
    (dict(vm_state="active", access_ip_v4="10.0.0.1"), dict(access_ip_v6="::1"), ("vm-1", "10.0.0.1", "::1")),
    # While it is still building, or stopped, or in a move: Nova's update touches the record only.
    (dict(vm_state="building", task_state="scheduling"), dict(name="early", access_ip_v4="192.0.2.9"), ("early", "192.0.2.9", None)),
    (dict(vm_state="stopped"), dict(name="off"), ("off", None, None)),
    # None given is left as it was.
    (dict(vm_state="active", name="kept", access_ip_v4="10.0.0.1"), {}, ("kept", "10.0.0.1", None)),
    # A deleted instance is not updated (the API answers 404 before; a race is dropped here).
    (dict(vm_state="deleted"), dict(name="ghost"), ("vm-1", None, None)),
], ids=["name", "v6 beside v4", "building", "stopped", "nothing given", "deleted"])
def test_an_update_replaces_the_fields_it_gives_and_orders_nothing(row: dict, changes: dict, expected: tuple) -> None:
    state = build_instance_state(**row)
    new, outs = handle(state, build_instance_updated(**changes))
    assert new is not None and (new.name, new.access_ip_v4, new.access_ip_v6) == expected
    assert outs == []
    assert replace(new, name=state.name, access_ip_v4=state.access_ip_v4, access_ip_v6=state.access_ip_v6) == state


@pytest.mark.parametrize(("events", "expected"), [
    # (event, its offset) folded in order; the row keeps the build's offset, whatever follows
    ([("build", 17)], 17),
    ([("build", 17), ("build", 30)], 17),  # a redelivered build does not renumber it
    ([("build", 0), ("accepted", 5), ("spawned", 9)], 0),
    ([("accepted", 3)], None),  # no build seen: no row
], ids=["build", "redelivered build", "lifecycle", "no build"])
def test_the_table_keeps_the_builds_log_offset(events: list[tuple[str, int]], expected: int | None) -> None:
    made = {"build": build_build_requested(), "accepted": build_claim_accepted(), "spawned": build_spawned()}
    state = None
    for name, offset in events:
        state, _ = instances.handle(state, made[name], offset)
    assert (None if state is None else state.build_offset) == expected


@pytest.mark.parametrize("build_offset", [17, -1], ids=["numbered", "row from before offsets"])
def test_the_spawn_order_carries_the_build_offset_that_names_the_guest(build_offset: int) -> None:
    _, outs = handle(replace(SCHEDULING, build_offset=build_offset), ACCEPTED)
    assert [o.record.build_offset for o in outs if isinstance(o.record, InstanceSpawnOrdered)] == [build_offset]
