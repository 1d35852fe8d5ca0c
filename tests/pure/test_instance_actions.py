"""Power actions: which states they start from (Nova's 409), the task_state they show, how the hypervisor ends them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import build_action_failed, build_action_requested, build_instance_state, build_power_state_changed
from novalog.api.compute.commands import parse_action
from novalog.api.faults import BadRequest
from novalog.events.actions import refusal
from novalog.events.types import InstanceActionOrdered
from novalog.projections.instances import fold as handle

ACTIVE = build_instance_state(vm_state="active", task_state=None, power_state=1, host="host-1", claim_id="claim-1")


@pytest.mark.parametrize(
    ("action", "reboot_type", "before", "task_state", "power", "after"),
    [
        pytest.param("stop", None, "active", "powering-off", 4, "stopped", id="stop"),
        pytest.param("start", None, "stopped", "powering-on", 1, "active", id="start"),
        pytest.param("reboot", "SOFT", "active", "rebooting", 1, "active", id="soft-reboot"),
        pytest.param("reboot", "HARD", "stopped", "rebooting_hard", 1, "active", id="hard-reboot-from-stopped"),
        pytest.param("pause", None, "active", "pausing", 3, "paused", id="pause"),
        pytest.param("unpause", None, "paused", "unpausing", 1, "active", id="unpause"),
        pytest.param("suspend", None, "active", "suspending", 7, "suspended", id="suspend"),
        pytest.param("resume", None, "suspended", "resuming", 1, "active", id="resume"),
    ],
)
def test_an_action_shows_its_task_state_then_ends_when_the_hypervisor_says_so(action, reboot_type, before, task_state, power, after) -> None:
    state = replace(ACTIVE, vm_state=before)
    started, outs = handle(state, build_action_requested(action, reboot_type=reboot_type))
    assert (started.vm_state, started.task_state) == (before, task_state)
    (out,) = outs
    assert out.topic == "agent.host-1" and isinstance(out.record, InstanceActionOrdered)
    assert (out.record.action, out.record.reboot_type) == (action, reboot_type)
    done, _ = handle(started, build_power_state_changed(power_state=power))
    assert (done.vm_state, done.task_state, done.power_state) == (after, None, power)


def test_a_hard_reboot_passes_through_shutdown_without_looking_stopped() -> None:
    started, _ = handle(ACTIVE, build_action_requested("reboot", reboot_type="HARD"))
    halfway, _ = handle(started, build_power_state_changed(power_state=4))
    assert (halfway.vm_state, halfway.task_state, halfway.power_state) == ("active", "rebooting_hard", 4)
    done, _ = handle(halfway, build_power_state_changed(power_state=1))
    assert (done.vm_state, done.task_state) == ("active", None)


def test_a_redelivered_request_orders_again_and_changes_nothing() -> None:
    request = build_action_requested("stop")
    started, first = handle(ACTIVE, request)
    again, second = handle(started, request)
    assert again == started and first == second


def test_a_failed_action_goes_back_with_its_fault() -> None:
    started, _ = handle(ACTIVE, build_action_requested("stop"))
    back, _ = handle(started, build_action_failed("stop"))
    assert (back.vm_state, back.task_state, back.fault.message) == ("active", None, "stop failed")


def test_a_guest_that_powers_itself_off_is_shown_stopped() -> None:
    state, _ = handle(ACTIVE, build_power_state_changed(power_state=4))
    assert (state.vm_state, state.task_state, state.power_state) == ("stopped", None, 4)


@pytest.mark.parametrize(
    ("action", "reboot_type", "vm_state", "task_state", "message"),
    [
        pytest.param("stop", None, "stopped", None, "Cannot 'os-stop' instance i while it is in vm_state stopped", id="stop-stopped"),
        pytest.param("start", None, "active", None, "Cannot 'os-start' instance i while it is in vm_state active", id="start-active"),
        pytest.param("reboot", "SOFT", "stopped", None, "Cannot 'reboot' instance i while it is in vm_state stopped", id="soft-reboot-stopped"),
        pytest.param("pause", None, "active", "powering-off", "Cannot 'pause' instance i while it is in task_state powering-off", id="busy"),
        pytest.param("reboot", "HARD", "stopped", None, None, id="hard-reboot-stopped-ok"),
    ],
)
def test_refusals_use_novas_words(action, reboot_type, vm_state, task_state, message) -> None:
    assert refusal(action, reboot_type, "i", vm_state, task_state, "host-1") == message


def test_a_refused_request_that_reaches_the_table_changes_nothing() -> None:
    stopped = replace(ACTIVE, vm_state="stopped", power_state=4)
    assert handle(stopped, build_action_requested("stop")) == (stopped, [])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"os-stop": None}, ("stop", None), id="os-stop"),
        pytest.param({"os-start": None}, ("start", None), id="os-start"),
        pytest.param({"reboot": {"type": "hard"}}, ("reboot", "HARD"), id="reboot-hard"),
        pytest.param({"pause": None}, ("pause", None), id="pause"),
    ],
)
def test_action_bodies(body, expected) -> None:
    assert parse_action(body) == expected


@pytest.mark.parametrize(
    "body",
    [{}, {"os-stop": None, "os-start": None}, {"fly": None}, {"reboot": {"type": "GENTLE"}}, {"reboot": None}, {"pause": 3}],
    ids=["empty", "two", "unknown", "bad-reboot-type", "reboot-without-type", "bad-args"],
)
def test_bad_action_bodies_are_400(body) -> None:
    with pytest.raises(BadRequest):
        parse_action(body)
