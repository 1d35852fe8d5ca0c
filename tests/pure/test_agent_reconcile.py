"""reconcile: the agent's own command log against the hypervisor's guests."""

from __future__ import annotations

import pytest

from builders import build_delete_ordered, build_move_ordered, build_spawn_ordered
from novalog.agent.driver import Guest
from novalog.agent.reconcile import HandleOrphan, ReportPower, fold_desired, reconcile


def guest(instance_id: str, power: int = 1) -> Guest:
    return Guest(instance_id, f"novalog-{instance_id}", power, 1, 512)


def test_the_desired_set_is_spawn_orders_minus_delete_orders() -> None:
    desired: dict = {}
    for command in (build_spawn_ordered(instance_id="a"), build_spawn_ordered(instance_id="b"), build_delete_ordered("a"),
                    build_spawn_ordered(instance_id="b")):
        desired = fold_desired(desired, command)
    assert sorted(desired) == ["b"]


@pytest.mark.parametrize(
    ("desired", "actual", "policy", "expected"),
    [
        pytest.param(["a"], [guest("a")], "reap", [ReportPower("a", 1)], id="in-agreement-reports-power"),
        pytest.param(["a"], [guest("a", 4)], "reap", [ReportPower("a", 4)], id="stopped-behind-our-back"),
        # the hypervisor lost it (a test-driver host restarted): reported NOSTATE, never respawned
        pytest.param(["a"], [], "reap", [ReportPower("a", 0)], id="missing-is-reported-not-booted"),
        pytest.param([], [guest("x")], "reap", [HandleOrphan("x", "reap")], id="orphan-reaped"),
        pytest.param([], [guest("x")], "log", [HandleOrphan("x", "log")], id="orphan-logged"),
        pytest.param(["b", "a"], [guest("a"), guest("z")], "noop", [ReportPower("a", 1), ReportPower("b", 0), HandleOrphan("z", "noop")], id="mixed-stable-order"),
    ],
)
def test_reconcile(desired, actual, policy, expected) -> None:
    orders = {i: build_spawn_ordered(instance_id=i) for i in desired}
    assert reconcile(orders, actual, policy) == expected


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown orphan policy"):
        reconcile({}, [], "burn")


@pytest.mark.parametrize(
    ("step", "desired_after"),
    [
        pytest.param("prepare", ["a"], id="prepare-keeps-the-source-guest-for-a-revert"),
        pytest.param("live", ["a"], id="live-keeps-it-until-the-delete-order"),
        pytest.param("finish", ["a", "m"], id="finish-runs-it-here"),
        pytest.param("rebuild", ["a", "m"], id="rebuild-runs-it-here"),
        pytest.param("restore", ["a", "m"], id="restore-runs-it-here"),
        pytest.param("adopt", ["a", "m"], id="adopt-runs-it-here"),
    ],
)
def test_a_move_step_that_leaves_a_guest_here_makes_it_desired_with_the_steps_flavor(step, desired_after) -> None:
    desired = fold_desired({}, build_spawn_ordered(instance_id="a"))
    order = build_move_ordered(step, instance_id="m")

    after = fold_desired(desired, order)

    assert sorted(after) == desired_after
    if "m" in after:
        assert (after["m"].flavor, after["m"].claim_id) == (order.flavor, order.claim_id)
    assert sorted(fold_desired(after, build_delete_ordered("m"))) == ["a"]
