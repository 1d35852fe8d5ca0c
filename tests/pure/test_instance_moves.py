"""Moves in the instance table: resize with confirm and revert, cold and live migration, evacuation, and their failures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import (
    build_action_requested,
    build_claim_accepted,
    build_delete_requested,
    build_deleted,
    build_instance_state,
    build_move_failed,
    build_move_progressed,
    build_move_requested,
    build_power_state_changed,
    build_scheduling_failed,
    build_spawned,
    build_spec,
)
from novalog.events.types import ClaimReleased, InstanceDeleteOrdered, InstanceMoveOrdered
from novalog.projections.instances import fold as handle

ACTIVE = build_instance_state(vm_state="active", task_state=None, power_state=1, host="host-1", claim_id="claim-1")
NEW_FLAVOR = build_move_requested().spec.flavor


def move_claim(host: str = "host-2", claim_id: str = "claim-2", migration_id: str = "migration-1", flavor=NEW_FLAVOR):
    return build_claim_accepted(claim_id, host, spec=build_spec(flavor, migration_id=migration_id))


def run(state, *events):
    """Fold the events in order; return the last state and every command decided on the way."""
    outs = []
    for event in events:
        state, more = handle(state, event)
        outs.extend(more)
    return state, outs


def kinds(outs):
    return [(o.topic, type(o.record).__name__, getattr(o.record, "step", None)) for o in outs]


def verify_resize(state=ACTIVE, dest: str = "host-2", power: int = 1):
    """Resize requested, claimed on `dest`, prepared on host-1, finished on `dest`: VERIFY_RESIZE."""
    return run(
        state,
        build_move_requested(),
        move_claim(dest),
        build_move_progressed("prepare", "host-1", power_state=4),
        build_move_progressed("finish", dest, power_state=power),
    )


def test_a_resize_walks_nova_task_states_to_verify_resize_with_both_claims_kept() -> None:
    requested, _ = handle(ACTIVE, build_move_requested())
    assert (requested.vm_state, requested.task_state, requested.migration.status) == ("active", "resize_prep", "pre-migrating")

    claimed, outs = handle(requested, move_claim())
    assert claimed.task_state == "resize_migrating"
    assert kinds(outs) == [("agent.host-1", "InstanceMoveOrdered", "prepare")]

    prepared, outs = handle(claimed, build_move_progressed("prepare", "host-1", power_state=4))
    assert prepared.task_state == "resize_migrated"
    (finish,) = [o.record for o in outs]
    assert outs[0].topic == "agent.host-2" and finish.step == "finish"
    assert (finish.flavor, finish.claim_id, finish.power_on) == (NEW_FLAVOR, "claim-2", True)

    done, outs = handle(prepared, build_move_progressed("finish", "host-2", power_state=1))
    assert outs == []
    assert (done.vm_state, done.task_state, done.host, done.claim_id, done.flavor) == ("resized", None, "host-2", "claim-2", NEW_FLAVOR)
    assert (done.migration.status, done.migration.source_claim_id, done.migration.dest_claim_id) == ("finished", "claim-1", "claim-2")


def test_confirm_removes_the_source_guest_and_its_claim() -> None:
    resized, _ = verify_resize()
    confirmed, outs = handle(resized, build_action_requested("confirmResize"))
    assert (confirmed.vm_state, confirmed.task_state, confirmed.host, confirmed.migration.status) == ("active", None, "host-2", "confirmed")
    (order,) = [o for o in outs]
    assert order.topic == "agent.host-1" and isinstance(order.record, InstanceDeleteOrdered) and order.record.claim_id == "claim-1"
    # the source's agent then reports the old guest deleted: the instance lives on at host-2
    after, _ = handle(confirmed, build_deleted(host="host-1"))
    assert after.vm_state == "active"


def test_revert_removes_the_new_guest_and_restores_the_old_one() -> None:
    resized, _ = verify_resize()
    reverting, outs = handle(resized, build_action_requested("revertResize"))
    assert (reverting.vm_state, reverting.task_state, reverting.host, reverting.claim_id) == ("resized", "resize_reverting", "host-1", "claim-1")
    assert reverting.flavor == ACTIVE.flavor
    assert kinds(outs) == [("agent.host-2", "InstanceDeleteOrdered", None), ("agent.host-1", "InstanceMoveOrdered", "restore")]
    assert outs[0].record.claim_id == "claim-2" and outs[1].record.flavor == ACTIVE.flavor

    reverted, outs = run(reverting, build_deleted(host="host-2"), build_move_progressed("restore", "host-1", power_state=1))
    assert (reverted.vm_state, reverted.task_state, reverted.host, reverted.migration.status) == ("active", None, "host-1", "reverted")
    assert outs == []


def test_a_same_host_resize_keeps_both_claims_on_the_host_until_confirm_releases_the_old() -> None:
    resized, outs = verify_resize(dest="host-1")
    assert ("agent.host-1", "InstanceMoveOrdered", "finish") in kinds(outs)
    assert (resized.host, resized.claim_id) == ("host-1", "claim-2")
    confirmed, outs = handle(resized, build_action_requested("confirmResize"))
    (out,) = outs
    assert isinstance(out.record, ClaimReleased) and (out.record.claim_id, out.record.host) == ("claim-1", "host-1")
    assert confirmed.vm_state == "active"


def test_a_same_host_revert_releases_the_new_claim_once_the_old_flavor_is_back() -> None:
    resized, _ = verify_resize(dest="host-1")
    reverting, outs = handle(resized, build_action_requested("revertResize"))
    assert kinds(outs) == [("agent.host-1", "InstanceMoveOrdered", "restore")]
    reverted, outs = handle(reverting, build_move_progressed("restore", "host-1", power_state=1))
    (out,) = outs
    assert isinstance(out.record, ClaimReleased) and out.record.claim_id == "claim-2"
    assert (reverted.claim_id, reverted.vm_state) == ("claim-1", "active")


def test_a_stopped_instance_is_resized_without_being_started() -> None:
    stopped = replace(ACTIVE, vm_state="stopped", power_state=4)
    _, outs = run(stopped, build_move_requested(), move_claim(), build_move_progressed("prepare", "host-1", power_state=4))
    assert outs[-1].record.power_on is False
    resized, _ = verify_resize(stopped, power=4)
    confirmed, _ = handle(resized, build_action_requested("confirmResize"))
    assert (resized.vm_state, confirmed.vm_state) == ("resized", "stopped")


def test_power_reports_during_a_move_do_not_end_it() -> None:
    claimed, _ = run(ACTIVE, build_move_requested(), move_claim())
    off, _ = handle(claimed, build_power_state_changed(power_state=4))  # the source powering off
    assert (off.vm_state, off.task_state, off.power_state) == ("active", "resize_migrating", 4)
    resized, _ = verify_resize()
    synced, _ = handle(resized, build_power_state_changed(host="host-2", power_state=1))
    assert synced.vm_state == "resized"
    # the new guest's start on host-2, reported before the finish step, is not the instance's yet
    prepared, _ = run(ACTIVE, build_move_requested(), move_claim(), build_move_progressed("prepare", "host-1", power_state=4))
    early, _ = handle(prepared, build_spawned(host="host-2"))
    assert (early.host, early.power_state) == ("host-1", 4)


def test_no_valid_host_ends_the_move_and_leaves_the_instance_as_it_was() -> None:
    requested, _ = handle(ACTIVE, build_move_requested())
    ended, outs = handle(requested, build_scheduling_failed())
    assert (ended.vm_state, ended.task_state, ended.host, ended.migration.status, ended.fault) == ("active", None, "host-1", "error", build_scheduling_failed().fault)
    assert outs == []


@pytest.mark.parametrize(
    ("step", "host", "vm_state"),
    [
        pytest.param("prepare", "host-1", "active", id="source-cannot-power-off"),
        pytest.param("finish", "host-2", "error", id="destination-cannot-finish"),
    ],
)
def test_a_failed_step_gives_the_destination_claim_back(step, host, vm_state) -> None:
    events = [build_move_requested(), move_claim()]
    if step == "finish":
        events.append(build_move_progressed("prepare", "host-1", power_state=4))
    state, _ = run(ACTIVE, *events)
    failed, outs = handle(state, build_move_failed(step, host))
    (out,) = outs
    assert isinstance(out.record, ClaimReleased) and (out.record.claim_id, out.record.host) == ("claim-2", "host-2")
    assert (failed.vm_state, failed.task_state, failed.host, failed.migration.status) == (vm_state, None, "host-1", "error")
    assert failed.fault.message == f"{step} failed"


def test_a_claim_for_a_move_the_instance_no_longer_makes_is_given_back() -> None:
    stale, outs = handle(ACTIVE, move_claim(migration_id="migration-0"))
    (out,) = outs
    assert stale == ACTIVE and isinstance(out.record, ClaimReleased) and out.record.claim_id == "claim-2"


def test_redelivered_move_events_change_nothing() -> None:
    request = build_move_requested()
    claim = move_claim()
    state, _ = run(ACTIVE, request, claim)
    again, outs = run(state, request, claim)
    assert again == state and outs == []


def test_cold_migration_is_a_resize_to_the_same_flavor_elsewhere() -> None:
    request = build_move_requested("migration", spec=build_spec(ACTIVE.flavor, migration_id="migration-1", ignore_hosts=["host-1"]))
    state, outs = run(
        ACTIVE, request, move_claim(flavor=ACTIVE.flavor),
        build_move_progressed("prepare", "host-1", power_state=4), build_move_progressed("finish", "host-2"),
    )
    assert (state.vm_state, state.host, state.flavor, state.migration.migration_type) == ("resized", "host-2", ACTIVE.flavor, "migration")


def test_live_migration_moves_the_running_guest_and_frees_the_source() -> None:
    request = build_move_requested("live-migration", spec=build_spec(ACTIVE.flavor, migration_id="migration-1", ignore_hosts=["host-1"]))
    requested, _ = handle(ACTIVE, request)
    assert requested.task_state == "migrating"
    claimed, outs = handle(requested, move_claim(flavor=ACTIVE.flavor))
    assert kinds(outs) == [("agent.host-1", "InstanceMoveOrdered", "live")]
    assert outs[0].record.dest_host == "host-2"
    moved, outs = handle(claimed, build_move_progressed("live", "host-1"))
    assert (moved.vm_state, moved.task_state, moved.host, moved.claim_id, moved.migration.status) == ("active", None, "host-2", "claim-2", "completed")
    assert kinds(outs) == [("agent.host-2", "InstanceMoveOrdered", "adopt"), ("agent.host-1", "InstanceDeleteOrdered", None)]


def test_a_refused_live_migration_leaves_the_guest_running_where_it_was() -> None:
    request = build_move_requested("live-migration", spec=build_spec(ACTIVE.flavor, migration_id="migration-1"))
    state, _ = run(ACTIVE, request, move_claim(flavor=ACTIVE.flavor))
    back, outs = handle(state, build_move_failed("live", "host-1"))
    assert (back.vm_state, back.task_state, back.host, back.claim_id) == ("active", None, "host-1", "claim-1")
    assert isinstance(outs[0].record, ClaimReleased)


def test_evacuation_rebuilds_elsewhere_and_orders_the_down_source_to_clean_up() -> None:
    request = build_move_requested("evacuation", spec=build_spec(ACTIVE.flavor, migration_id="migration-1", ignore_hosts=["host-1"]))
    requested, _ = handle(ACTIVE, request)
    assert requested.task_state == "rebuilding"
    claimed, outs = handle(requested, move_claim(flavor=ACTIVE.flavor))
    assert (claimed.task_state, claimed.host, claimed.claim_id) == ("rebuild_spawning", "host-2", "claim-2")
    assert kinds(outs) == [("agent.host-2", "InstanceMoveOrdered", "rebuild"), ("agent.host-1", "InstanceDeleteOrdered", None)]
    assert outs[1].record.claim_id == "claim-1"
    # the source comes back and deletes its stale guest before the rebuild is reported: no effect
    cleaned, _ = handle(claimed, build_deleted(host="host-1"))
    assert cleaned.vm_state == "active"
    done, _ = handle(cleaned, build_move_progressed("rebuild", "host-2"))
    assert (done.vm_state, done.task_state, done.host, done.migration.status) == ("active", None, "host-2", "done")


def test_a_failed_evacuation_leaves_an_error_that_runs_nowhere() -> None:
    request = build_move_requested("evacuation", spec=build_spec(ACTIVE.flavor, migration_id="migration-1"))
    state, _ = run(ACTIVE, request, move_claim(flavor=ACTIVE.flavor))
    failed, outs = handle(state, build_move_failed("rebuild", "host-2"))
    assert (failed.vm_state, failed.host, failed.claim_id) == ("error", None, None)
    assert isinstance(outs[0].record, ClaimReleased) and outs[0].record.claim_id == "claim-2"


def test_deleting_a_resized_instance_cleans_both_hosts() -> None:
    resized, _ = verify_resize()
    deleting, outs = handle(resized, build_delete_requested())
    deletes = sorted((o.topic, o.record.claim_id) for o in outs if isinstance(o.record, InstanceDeleteOrdered))
    assert deletes == [("agent.host-1", "claim-1"), ("agent.host-2", "claim-2")]
    gone, _ = run(deleting, build_deleted(host="host-1"), build_deleted(host="host-2"))
    assert gone.vm_state == "deleted"


def test_confirm_or_revert_outside_verify_resize_changes_nothing() -> None:
    for action in ("confirmResize", "revertResize"):
        same, outs = handle(ACTIVE, build_action_requested(action))
        assert same == ACTIVE and outs == []


def test_a_move_request_while_another_action_runs_is_dropped() -> None:
    busy = replace(ACTIVE, task_state="powering-off")
    same, outs = handle(busy, build_move_requested())
    assert same == busy and outs == []


def test_every_order_of_a_move_names_the_migration() -> None:
    _, outs = verify_resize()
    orders = [o.record for o in outs if isinstance(o.record, InstanceMoveOrdered)]
    assert [o.step for o in orders] == ["prepare", "finish"]
    assert {o.migration_id for o in orders} == {"migration-1"}


def test_every_order_of_a_move_carries_the_build_offset_that_names_the_guest() -> None:
    # Nova keeps instance_name across moves: the destination names its guest from the same number.
    _, outs = verify_resize(replace(ACTIVE, build_offset=41))
    orders = [o.record for o in outs if isinstance(o.record, InstanceMoveOrdered)]
    assert [(o.step, o.build_offset) for o in orders] == [("prepare", 41), ("finish", 41)]
