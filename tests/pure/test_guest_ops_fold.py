"""The instance fold for rebuild, createImage and rescue: Nova's task and vm states, the orders, and redeliveries."""

from __future__ import annotations

from typing import Any

import pytest

from builders import (
    build_action_failed,
    build_instance_state,
    build_power_state_changed,
    build_rebuild_requested,
    build_rebuilt,
    build_rescue_requested,
    build_rescued,
    build_snapshot_progressed,
    build_snapshot_requested,
    build_snapshotted,
    build_spawned,
)
from novalog.events.state import InstanceState
from novalog.events.types import InstanceRebuildOrdered, InstanceRescueOrdered, InstanceSnapshotOrdered
from novalog.projections import instances

ACTIVE = build_instance_state(vm_state="active", task_state=None, power_state=1, host="host-1", claim_id="claim-1")
STOPPED = build_instance_state(vm_state="stopped", task_state=None, power_state=4, host="host-1", claim_id="claim-1")


def fold(state: InstanceState, *events: Any) -> tuple[InstanceState, list[Any]]:
    orders = []
    for event in events:
        new, outs = instances.fold(state, event)
        assert new is not None
        state, orders = new, orders + [o.record for o in outs]
    return state, orders


def states(state: InstanceState) -> tuple[str, str | None, int]:
    return state.vm_state, state.task_state, state.power_state


@pytest.mark.parametrize(("start", "events", "expected"), [
    # rebuild: REBUILDING, the guest's stop and start change only the power state, then REBUILD_SPAWNING, the report ends it
    (ACTIVE, [build_rebuild_requested()], ("active", "rebuilding", 1)),
    (ACTIVE, [build_rebuild_requested(), build_power_state_changed(power_state=4)], ("active", "rebuilding", 4)),
    (ACTIVE, [build_rebuild_requested(), build_power_state_changed(power_state=4), build_spawned()], ("active", "rebuild_spawning", 1)),
    (ACTIVE, [build_rebuild_requested(), build_spawned(), build_rebuilt()], ("active", None, 1)),
    (STOPPED, [build_rebuild_requested(), build_rebuilt(power_state=4)], ("stopped", None, 4)),
    (build_instance_state(vm_state="error", task_state=None, host="host-1", claim_id="claim-1"), [build_rebuild_requested(), build_rebuilt()], ("active", None, 1)),
    (ACTIVE, [build_rebuild_requested(), build_action_failed("rebuild")], ("error", None, 1)),
    (ACTIVE, [build_rebuilt()], ("active", None, 1)),  # a report with no rebuild under way: nothing
    (ACTIVE, [build_rebuild_requested(), build_rebuilt(host="host-2")], ("active", "rebuilding", 1)),  # another host's: nothing
    # snapshot: IMAGE_SNAPSHOT_PENDING until the agent wrote the image; a failure leaves the instance as it was
    (ACTIVE, [build_snapshot_requested()], ("active", "image_snapshot_pending", 1)),
    (ACTIVE, [build_snapshot_requested(), build_snapshotted()], ("active", None, 1)),
    (ACTIVE, [build_snapshot_requested(), build_snapshot_progressed("image_pending_upload")], ("active", "image_pending_upload", 1)),
    (ACTIVE, [build_snapshot_requested(), build_snapshot_progressed(), build_snapshotted()], ("active", None, 1)),
    (ACTIVE, [build_snapshot_progressed()], ("active", None, 1)),  # no snapshot under way: nothing
    (STOPPED, [build_snapshot_requested(), build_action_failed("createImage")], ("stopped", None, 4)),
    # rescue: RESCUING then RESCUED (the guest restarts meanwhile), unrescue back to ACTIVE
    (ACTIVE, [build_rescue_requested(), build_power_state_changed(power_state=4), build_spawned(), build_rescued()], ("rescued", None, 1)),
    (ACTIVE, [build_rescue_requested(), build_rescued(), build_rescue_requested(False)], ("rescued", "unrescuing", 1)),
    (ACTIVE, [build_rescue_requested(), build_rescued(), build_rescue_requested(False), build_rescued(False)], ("active", None, 1)),
    (ACTIVE, [build_rescue_requested(), build_rescued(), build_power_state_changed(power_state=4)], ("rescued", None, 4)),
    (ACTIVE, [build_rescue_requested(), build_action_failed("rescue")], ("error", None, 1)),
], ids=[
    "rebuild asked", "guest stopped meanwhile", "guest started again", "rebuilt", "stopped stays stopped", "error rebuilt active",
    "rebuild failed", "stray report", "other host's report",
    "snapshot asked", "snapshotted", "pending upload", "uploading then done", "stray progress", "snapshot failed",
    "rescued", "unrescue asked", "unrescued", "rescued guest stops", "rescue failed",
])
def test_states(start: InstanceState, events: list[Any], expected: tuple[str, str | None, int]) -> None:
    assert states(fold(start, *events)[0]) == expected


@pytest.mark.parametrize(("start", "request_"), [
    (build_instance_state(), build_rebuild_requested()),  # building
    (build_instance_state(vm_state="active", task_state="powering-off", host="host-1", claim_id="claim-1"), build_rebuild_requested()),
    (build_instance_state(vm_state="paused", task_state=None, host="host-1", claim_id="claim-1"), build_rescue_requested()),
    (ACTIVE, build_rescue_requested(False)),
    (build_instance_state(vm_state="error", task_state=None, host="host-1", claim_id="claim-1"), build_snapshot_requested()),
], ids=["rebuild while building", "rebuild during a task", "rescue of a paused server", "unrescue of an active one", "snapshot in error"])
def test_a_request_in_a_wrong_state_changes_nothing_and_orders_nothing(start: InstanceState, request_: Any) -> None:
    assert fold(start, request_) == (fold(start)[0], [])


def test_a_rebuild_takes_the_new_image_name_and_metadata_and_orders_the_host() -> None:
    asked = build_rebuild_requested("image-9", name="renamed", metadata={"role": "db"}, image_properties={"os_distro": "debian"})
    state, (order,) = fold(STOPPED, asked)
    assert (state.image_ref, state.name, state.metadata, state.image_properties) == ("image-9", "renamed", {"role": "db"}, {"os_distro": "debian"})
    assert isinstance(order, InstanceRebuildOrdered)
    assert (order.image_ref, order.name, order.claim_id, order.power_on) == ("image-9", "renamed", "claim-1", False)
    again, (reordered,) = fold(state, asked)  # redelivered: the same order again, nothing else changes
    assert again == state and reordered == order


def test_snapshot_and_rescue_orders_carry_what_the_agent_needs() -> None:
    _, (snap,) = fold(ACTIVE, build_snapshot_requested("snap-7", image_file="/store/snap-7", disk_format="raw"))
    assert isinstance(snap, InstanceSnapshotOrdered) and (snap.image_id, snap.image_file, snap.disk_format) == ("snap-7", "/store/snap-7", "raw")
    _, (rescue,) = fold(ACTIVE, build_rescue_requested(image_ref="rescue-img"))
    assert isinstance(rescue, InstanceRescueOrdered) and (rescue.rescue, rescue.rescue_image_ref, rescue.image_ref) == (True, "rescue-img", "image-1")


def test_the_instance_actions_record_each_request_and_its_end() -> None:
    state, _ = fold(ACTIVE, build_rebuild_requested(), build_rebuilt(), build_snapshot_requested(), build_action_failed("createImage"))
    recorded = [(a.action, [(e.event, e.result) for e in a.events]) for a in state.actions]
    assert recorded == [
        ("rebuild", [("compute_rebuild_instance", "Success")]),
        ("createImage", [("compute_snapshot_instance", "Error")]),
    ]


def test_the_history_tells_each_step() -> None:
    from novalog.projections.history_details import _describe_in_place

    lines = [_describe_in_place(e, "novalog.agent.host-1")[0] for e in (  # type: ignore[index]
        build_rebuild_requested("image-9"), build_rebuilt("image-9"), build_snapshot_requested("snap-1"), build_rescue_requested(False))]
    assert lines == ["rebuild from image image-9", "rebuilt from image image-9 on host-1, power state 1", "createImage into image snap-1", "unrescue"]
