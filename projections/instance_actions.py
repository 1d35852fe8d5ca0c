"""Instance actions (os-instance-actions), kept from the log: what was asked of an instance, and how it went.

An action opens with the request that asked for it (its request id, user,
project, time) and one event named as Nova names the compute step; the event
closes with "Success" when the instance table shows the step done, or
"Error" with the fault's message when it failed. Pure: a function of the
instance row before and after an event.
"""

from __future__ import annotations

from datetime import datetime

from novalog.events.evolve import replace
from novalog.events.records import ActionEvent, InstanceAction
from novalog.events.state import InstanceState
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceDeleteRequested,
    InstanceLocked,
    InstanceMoveFailed,
    InstanceMoveRequested,
    InstanceRebuildRequested,
    InstanceRescueRequested,
    InstanceSchedulingFailed,
    InstanceSnapshotRequested,
    InstanceSpawnFailed,
    InstanceUnlocked,
)

# Nova's action names for the requests, and the compute step each one's event is named after.
ACTION_OF_REQUEST = {
    "stop": "stop", "start": "start", "reboot": "reboot", "pause": "pause", "unpause": "unpause",
    "suspend": "suspend", "resume": "resume", "confirmResize": "confirmResize", "revertResize": "revertResize",
}
ACTION_OF_MOVE = {"resize": "resize", "migration": "migrate", "live-migration": "live-migration", "evacuation": "evacuate"}
EVENT_OF_ACTION = {
    "create": "compute__do_build_and_run_instance",
    "delete": "compute_terminate_instance",
    "stop": "compute_stop_instance",
    "start": "compute_start_instance",
    "reboot": "compute_reboot_instance",
    "pause": "compute_pause_instance",
    "unpause": "compute_unpause_instance",
    "suspend": "compute_suspend_instance",
    "resume": "compute_resume_instance",
    "resize": "compute_finish_resize",
    "migrate": "compute_finish_resize",
    "confirmResize": "compute_confirm_resize",
    "revertResize": "compute_finish_revert_resize",
    "live-migration": "compute_live_migration",
    "evacuate": "compute_rebuild_instance",
    "rebuild": "compute_rebuild_instance",
    "createImage": "compute_snapshot_instance",
    "rescue": "compute_rescue_instance",
    "unrescue": "compute_unrescue_instance",
    # Done by the API itself in Nova (its wrap_instance_event with the "api" prefix).
    "lock": "api_lock",
    "unlock": "api_unlock",
}
# The actions that are done when asked: recorded and closed at once.
DONE_WHEN_ASKED = ("confirmResize", "lock", "unlock")


def _opened(action: str, request_id: str | None, user_id: str, project_id: str, at: datetime) -> InstanceAction:
    return InstanceAction(
        action=action,
        request_id=request_id or "",
        user_id=user_id,
        project_id=project_id,
        start_time=at,
        events=[ActionEvent(EVENT_OF_ACTION[action], at)],
    )


def _close(actions: list[InstanceAction], result: str, at: datetime, message: str | None = None) -> list[InstanceAction]:
    """Close the newest open action's open event with `result` (and the failure's message)."""
    for index in range(len(actions) - 1, -1, -1):
        action = actions[index]
        if action.events and action.events[-1].finish_time is None:
            event = replace(action.events[-1], finish_time=at, result=result, traceback=message)
            closed = replace(action, events=[*action.events[:-1], event], message=message if result == "Error" else action.message)
            return [*actions[:index], closed, *actions[index + 1 :]]
    return actions


def _settled(before: InstanceState, after: InstanceState) -> bool:
    """The step under way ended well: the instance left building or a task for no task, not in error."""
    busy_before = before.vm_state == "building" or before.task_state is not None
    return busy_before and after.task_state is None and after.vm_state not in ("building", "error")


def _guest_action(event: InstanceRebuildRequested | InstanceSnapshotRequested | InstanceRescueRequested) -> str:
    match event:
        case InstanceRebuildRequested():
            return "rebuild"
        case InstanceSnapshotRequested():
            return "createImage"
        case InstanceRescueRequested():
            return "rescue" if event.rescue else "unrescue"


def note(before: InstanceState | None, after: InstanceState | None, event: object) -> InstanceState | None:
    """`after` with its actions brought up to date by `event` (which moved the row from `before`)."""
    if after is None:
        return None
    actions = noted(before, after, event)
    return after if actions is None else replace(after, actions=actions)


def noted(before: InstanceState | None, after: InstanceState, event: object) -> list[InstanceAction] | None:
    """The actions `after` holds once `event` is noted; None when they stay as they are.

    Apart from `note`, so that the instance table copies its row once for these and the offset stamp.
    """
    actions = list(after.actions)
    at = event.envelope.occurred_at  # type: ignore[attr-defined]
    opened = None
    match event:
        case InstanceBuildRequested() if before is None:
            opened = _opened("create", event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceDeleteRequested() if before is not None and before.vm_state != "deleted":
            opened = _opened("delete", event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceActionRequested() if before is not None and (after.task_state != before.task_state or after.migration != before.migration):
            opened = _opened(ACTION_OF_REQUEST.get(event.action, event.action), event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceRebuildRequested() | InstanceSnapshotRequested() | InstanceRescueRequested() if before is not None and after.task_state != before.task_state:
            opened = _opened(_guest_action(event), event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceMoveRequested() if before is not None and after.migration != before.migration:
            opened = _opened(ACTION_OF_MOVE[event.migration_type], event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceLocked() | InstanceUnlocked() if before is not None and before.vm_state != "deleted":
            name = "lock" if isinstance(event, InstanceLocked) else "unlock"
            opened = _opened(name, event.envelope.request_id, event.user_id, event.project_id, at)
        case InstanceSchedulingFailed() | InstanceSpawnFailed() | InstanceActionFailed() | InstanceMoveFailed() if before != after:
            return _close(actions, "Error", at, event.fault.message)
    if opened is not None:
        if any((a.action, a.request_id, a.start_time) == (opened.action, opened.request_id, opened.start_time) for a in actions):
            return None  # a redelivered request: its action is recorded already
        actions.append(opened)
        if opened.action in DONE_WHEN_ASKED:
            actions = _close(actions, "Success", at)
        return actions
    if before is not None and (_settled(before, after) or (after.vm_state == "deleted" and before.vm_state != "deleted")):
        return _close(actions, "Success", at)
    return None
