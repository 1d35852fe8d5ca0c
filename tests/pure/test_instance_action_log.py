"""os-instance-actions kept from the log: each request opens an action, its end closes the action's event."""

from __future__ import annotations

from builders import (
    build_action_failed,
    build_action_requested,
    build_build_requested,
    build_claim_accepted,
    build_delete_requested,
    build_move_requested,
    build_power_state_changed,
    build_scheduling_failed,
    build_spawned,
)
from novalog.projections.instances import fold as handle


def fold(*events):
    state = None
    for event in events:
        state, _ = handle(state, event)
    return state


def summary(state):
    return [(a.action, a.request_id, [(e.event, e.result) for e in a.events], a.message) for a in state.actions]


def test_a_build_then_a_stop_record_two_actions_that_end_in_success() -> None:
    state = fold(
        build_build_requested(), build_claim_accepted(), build_spawned(),
        build_action_requested("stop"), build_power_state_changed(power_state=4),
    )
    assert summary(state) == [
        ("create", "req-1", [("compute__do_build_and_run_instance", "Success")], None),
        ("stop", "req-1", [("compute_stop_instance", "Success")], None),
    ]
    assert state.actions[0].events[0].finish_time is not None


def test_a_failed_build_and_a_failed_action_end_in_error_with_the_message() -> None:
    failed = fold(build_build_requested(), build_scheduling_failed())
    assert summary(failed)[0][2] == [("compute__do_build_and_run_instance", "Error")]
    assert failed.actions[0].message == build_scheduling_failed().fault.message
    refused = fold(
        build_build_requested(), build_claim_accepted(), build_spawned(), build_action_requested("stop"), build_action_failed("stop")
    )
    assert summary(refused)[1] == ("stop", "req-1", [("compute_stop_instance", "Error")], "stop failed")


def test_an_action_still_running_has_an_open_event_and_a_redelivered_request_is_recorded_once() -> None:
    stop = build_action_requested("stop")
    state = fold(build_build_requested(), build_claim_accepted(), build_spawned(), stop, stop)
    assert [a.action for a in state.actions] == ["create", "stop"]
    assert (state.actions[1].events[0].finish_time, state.actions[1].events[0].result) == (None, None)


def test_moves_and_deletes_are_actions_too() -> None:
    state = fold(build_build_requested(), build_claim_accepted(), build_spawned(), build_move_requested(), build_delete_requested())
    assert [a.action for a in state.actions] == ["create", "resize", "delete"]


def test_a_request_that_changed_nothing_is_no_action() -> None:
    state = fold(build_build_requested(), build_claim_accepted(), build_spawned(), build_action_requested("start"))  # already running
    assert [a.action for a in state.actions] == ["create"]
