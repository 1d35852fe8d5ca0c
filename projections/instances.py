"""The instance table: a pure fold over instance.events, and the agent commands it decides.

Every transition is guarded by the current state, so a redelivered event
changes nothing, while the commands it implies are decided again with the
same derived ids (the agent acts on each command idempotently).
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from novalog.events import orders
from novalog.events.actions import ACTION_BY_TASK, ACTIONS, POWER_TO_VM_STATE, RUNNING, action_key, refusal
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.quotas import counted
from novalog.events.records import InstanceAction, guest_name
from novalog.events.state import InstanceState
from novalog.events.types.agent import InstanceActionOrdered, InstanceSpawnOrdered
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceDeleted,
    InstanceDeleteRequested,
    InstanceEvent,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstancePowerStateChanged,
    InstanceRebuildRequested,
    InstanceRebuilt,
    InstanceRescued,
    InstanceRescueRequested,
    InstanceSchedulingFailed,
    InstanceSnapshotProgressed,
    InstanceSnapshotRequested,
    InstanceSnapshotted,
    InstanceSpawned,
    InstanceSpawnFailed,
    InstanceUnlocked,
    InstanceUpdated,
)
from novalog.events.types.placement import ClaimAccepted, ClaimRejected
from novalog.events.types.quota import QuotaUsageReleased
from novalog.projections import guest_ops, instance_actions, instance_extras, moves

# What the table folds: the instance family, and the claim decisions that travel keyed by instance.
Folded = InstanceEvent | ClaimAccepted | ClaimRejected

PRODUCER = "novalog-projections"


def _created(event: InstanceBuildRequested) -> InstanceState:
    at = event.envelope.occurred_at
    quota = counted(event.flavor)  # what the quota fold counted for this build
    return InstanceState(
        instance_id=event.instance_id,
        name=event.name,
        project_id=event.project_id,
        user_id=event.user_id,
        flavor=event.flavor,
        image_ref=event.image_ref,
        created_at=at,
        updated_at=at,
        availability_zone=event.availability_zone,
        metadata=event.metadata,
        key_name=event.key_name,
        request_id=event.envelope.request_id,
        task_state="scheduling",
        reservation_id=event.reservation_id,
        launch_index=event.instance_ids.index(event.instance_id) if event.instance_id in event.instance_ids else 0,
        user_data=event.user_data,
        image_properties=event.image_properties,
        image_files=event.image_files,
        server_group=None if event.instance_group is None else event.instance_group.id,
        quota_counted=[quota["cores"], quota["ram"]],
        access_ip_v4=event.access_ip_v4,
        access_ip_v6=event.access_ip_v6,
    )


def _delete_order(state: InstanceState, cause: ClaimAccepted | InstanceDeleteRequested, host: str, claim_id: str | None) -> Outbound:
    return orders.delete_order(state.instance_id, cause.envelope, PRODUCER, host, claim_id, salt=claim_id or "")


def _on_claim_accepted(state: InstanceState, event: ClaimAccepted) -> tuple[InstanceState, list[Outbound]]:
    if state.vm_state == "deleted" or state.task_state == "deleting":
        # Deleted while it was being scheduled: the claim must be given back.
        return state, [_delete_order(state, event, event.host, event.claim_id)]
    if event.spec.migration_id is not None:
        return moves.claim_accepted(state, event)
    if state.claim_id not in (None, event.claim_id) or state.vm_state != "building":
        # A claim this instance will not use (a scheduler re-handled a
        # redelivered request, or the instance already failed): give it back,
        # without touching the instance where it really runs.
        return state, [] if event.claim_id == state.claim_id else [_release(event)]
    order = InstanceSpawnOrdered(
        envelope=event.envelope.caused(InstanceSpawnOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        claim_id=event.claim_id,
        name=state.name,
        flavor=state.flavor,
        image_ref=state.image_ref,
        project_id=state.project_id,
        image_files=state.image_files,
        build_offset=state.build_offset,
    )
    placed = replace(state, host=event.host, claim_id=event.claim_id, task_state="spawning", attempts=event.spec.num_attempts)
    return placed, [Outbound.to_agent(event.host, state.instance_id, order)]


def _release(event: ClaimAccepted) -> Outbound:
    return orders.claim_released(event.instance_id, event.envelope, PRODUCER, event.host, event.claim_id, occurred_at=event.envelope.occurred_at)


def _on_delete_requested(state: InstanceState, event: InstanceDeleteRequested) -> tuple[InstanceState, list[Outbound]]:
    if state.vm_state == "deleted" and state.host is None:
        return state, [_usage_released(state, event)]  # deleted at once before: the same release again
    if state.vm_state == "deleted" or (state.task_state == "deleting" and state.host is None):
        return state, []
    if state.host is None:
        # Never placed (scheduling, or ERROR without a host): nothing runs anywhere.
        return _deleted(state, event.envelope.occurred_at), [_usage_released(state, event)]
    deleting = replace(state, task_state="deleting")
    return deleting, [_delete_order(state, event, state.host, state.claim_id), *moves.on_delete(state, event.envelope)]


def _spawned(state: InstanceState, host: str, hypervisor_hostname: str, domain: str, power_state: int, at: datetime) -> InstanceState:
    """A building instance's guest runs on its host: ACTIVE (a delete asked for meanwhile still goes on)."""
    if state.host != host or state.claim_id is None:
        return state
    return replace(
        state,
        vm_state="active",
        task_state="deleting" if state.task_state == "deleting" else None,
        power_state=power_state,
        hypervisor_hostname=hypervisor_hostname,
        domain_name=domain,
        launched_at=state.launched_at or at,
    )


def _usage_released(state: InstanceState, cause: InstanceDeleted | InstanceDeleteRequested) -> Outbound:
    """The instance no longer counts against its project's quota."""
    released = QuotaUsageReleased(
        envelope=cause.envelope.caused(QuotaUsageReleased, PRODUCER, occurred_at=cause.envelope.occurred_at),
        project_id=state.project_id,
        instance_id=state.instance_id,
        vcpus=state.quota_counted[0] if state.quota_counted else -1,
        ram=state.quota_counted[1] if state.quota_counted else -1,
        server_group=state.server_group,
    )
    return Outbound.event(state.project_id, released)


def _deleted(state: InstanceState, at: datetime) -> InstanceState:
    # The console's answers go with the guest (the row stays, as a tombstone).
    return replace(state, vm_state="deleted", task_state=None, power_state=0, terminated_at=state.terminated_at or at,
                   console_answers={}, console_errors={})


def handle(state: InstanceState | None, event: Folded, offset: int) -> tuple[InstanceState | None, list[Outbound]]:
    """The declared fold (projections/registry.py): `fold`, the row stamped with the event's log offset.

    The actions and the stamp go into one copy of the row: a copy costs as much as the rest of most folds.
    """
    new, outs = _decide(state, event)
    if new is None:
        return None, outs
    if state is None:  # the build: its log position numbers the instance (events/instance_names.py)
        new = replace(new, build_offset=offset)
    return touch(new, event, offset, instance_actions.noted(state, new, event)), outs


def fold(state: InstanceState | None, event: Folded) -> tuple[InstanceState | None, list[Outbound]]:
    """Fold one instance event; return the new row (its instance actions kept up to date) and the commands it decides."""
    new, outs = _decide(state, event)
    return instance_actions.note(state, new, event), outs


# The instance's events by who states them: the API's requests, the placement's outcome (scheduler
# and host-state processor), and the agent's reports of what the guest did.
Request = (
    InstanceBuildRequested | InstanceActionRequested | InstanceMoveRequested | InstanceDeleteRequested | InstanceUpdated
    | InstanceRebuildRequested | InstanceSnapshotRequested | InstanceRescueRequested
    | InstanceMetadataSet | InstanceMetadataDeleted | InstanceLocked | InstanceUnlocked | InstanceConsoleRequested
)
Placement = ClaimAccepted | ClaimRejected | InstanceSchedulingFailed
Report = (
    InstanceSpawned | InstanceSpawnFailed | InstancePowerStateChanged | InstanceActionFailed | InstanceDeleted
    | InstanceMoveProgressed | InstanceMoveFailed | InstanceRebuilt | InstanceSnapshotProgressed | InstanceSnapshotted | InstanceRescued
)


def _decide(state: InstanceState | None, event: Folded) -> tuple[InstanceState | None, list[Outbound]]:
    if state is None:
        if isinstance(event, InstanceBuildRequested):
            return _created(event), []
        return None, []  # an event about an instance this table never saw built
    match event:
        case (InstanceBuildRequested() | InstanceActionRequested() | InstanceMoveRequested() | InstanceDeleteRequested() | InstanceUpdated()
              | InstanceRebuildRequested() | InstanceSnapshotRequested() | InstanceRescueRequested()
              | InstanceMetadataSet() | InstanceMetadataDeleted() | InstanceLocked() | InstanceUnlocked() | InstanceConsoleRequested()):
            return _on_request(state, event)
        case ClaimAccepted() | ClaimRejected() | InstanceSchedulingFailed():
            return _on_placement(state, event)
        case InstanceConsoleReported():  # the agent's answer to a console ask: kept for the asking API
            return instance_extras.on_console_reported(state, event), []
        case (InstanceSpawned() | InstanceSpawnFailed() | InstancePowerStateChanged() | InstanceActionFailed() | InstanceDeleted()
              | InstanceMoveProgressed() | InstanceMoveFailed() | InstanceRebuilt() | InstanceSnapshotProgressed() | InstanceSnapshotted()
              | InstanceRescued()):
            ended = guest_ops.reported(state, event)  # the end of a rebuild, snapshot or rescue, or a step of one
            return (ended, []) if ended is not None else _on_report(state, event)
        case _:
            assert_never(event)


def _on_request(state: InstanceState, event: Request) -> tuple[InstanceState, list[Outbound]]:
    """A request the API recorded, about an instance the table holds."""
    match event:
        case InstanceBuildRequested():
            return state, []
        case InstanceActionRequested() if event.action in (moves.CONFIRM, moves.REVERT):
            return moves.confirm_or_revert(state, event)
        case InstanceActionRequested():
            return _on_action_requested(state, event)
        case InstanceMoveRequested():
            return moves.requested(state, event)
        case InstanceDeleteRequested():
            return _on_delete_requested(state, event)
        case InstanceUpdated():
            return _updated(state, event), []
        case InstanceRebuildRequested():
            return guest_ops.rebuild_requested(state, event)
        case InstanceSnapshotRequested():
            return guest_ops.snapshot_requested(state, event)
        case InstanceRescueRequested():
            return guest_ops.rescue_requested(state, event)
        case InstanceMetadataSet() | InstanceMetadataDeleted() | InstanceLocked() | InstanceUnlocked() | InstanceConsoleRequested():
            return instance_extras.on_request(state, event)
        case _:
            assert_never(event)


def _updated(state: InstanceState, event: InstanceUpdated) -> InstanceState:
    """Nova's update: the fields given replace the row's, whatever the instance is doing; a deleted one stays as it was."""
    if state.vm_state == "deleted":
        return state
    changes = {"name": event.name, "access_ip_v4": event.access_ip_v4, "access_ip_v6": event.access_ip_v6}
    given = {field: value for field, value in changes.items() if value is not None}
    return replace(state, **given) if given else state


def _on_placement(state: InstanceState, event: Placement) -> tuple[InstanceState, list[Outbound]]:
    """Where the instance goes: a claim accepted or rejected on a host, or no host at all."""
    match event:
        case ClaimAccepted():
            return _on_claim_accepted(state, event)
        case ClaimRejected():
            if state.vm_state != "building" or state.claim_id is not None or event.spec.migration_id is not None:
                return state, []
            return replace(state, attempts=max(state.attempts, event.spec.num_attempts)), []
        case InstanceSchedulingFailed():
            if state.vm_state != "building":
                return moves.scheduling_failed(state, event), []
            return replace(state, vm_state="error", task_state=None, host=None, fault=event.fault, attempts=event.attempts), []
        case _:
            assert_never(event)


def _on_report(state: InstanceState, event: Report) -> tuple[InstanceState, list[Outbound]]:
    """What the agent saw the guest do: spawn, change power, fail an action or a move's step, go away."""
    at = event.envelope.occurred_at
    match event:
        case InstanceSpawned() if state.vm_state != "building":
            # The guest started again (a start, a reboot, a resume): a power change.
            return _on_power(state, event.host, event.power_state), []
        case InstanceSpawned():
            return _spawned(state, event.host, event.hypervisor_hostname, event.domain_name, event.power_state, at), []
        case InstanceSpawnFailed():
            if state.vm_state != "building" or state.host != event.host:
                return state, []
            task_state = "deleting" if state.task_state == "deleting" else None
            return replace(state, vm_state="error", task_state=task_state, power_state=0, host=None, claim_id=None, fault=event.fault), []
        case InstancePowerStateChanged() if state.vm_state == "building" and event.power_state == RUNNING:
            # The agent finds the guest running where it was ordered to spawn it, but its STARTED
            # event never reached the log (the agent died first): the build is done all the same.
            return _spawned(state, event.host, event.host, guest_name(state.instance_id), event.power_state, at), []
        case InstancePowerStateChanged():
            return _on_power(state, event.host, event.power_state), []
        case InstanceActionFailed():
            if state.host != event.host or state.task_state not in ACTION_BY_TASK:
                return state, []
            return replace(state, task_state=None, fault=event.fault), []
        case InstanceDeleted():
            if event.host is not None and state.host is not None and event.host != state.host:
                return state, []  # a move's other host cleaned up; the instance lives on where it is
            if state.vm_state == "deleted":
                return state, [_usage_released(state, event)]  # redelivered: the same release again
            return _deleted(state, at), [_usage_released(state, event)]
        case InstanceMoveProgressed():
            return moves.progressed(state, event)
        case InstanceMoveFailed():
            return moves.failed(state, event)
        case InstanceRebuilt() | InstanceSnapshotProgressed() | InstanceSnapshotted() | InstanceRescued():
            return state, []  # reported() had them
        case _:
            assert_never(event)


def _on_action_requested(state: InstanceState, event: InstanceActionRequested) -> tuple[InstanceState, list[Outbound]]:
    """Start the action if the instance is in a state it may start from; order it on the instance's host."""
    key = action_key(event.action, event.reboot_type)
    pending = ACTIONS[key].task_state
    if state.task_state == pending and state.host is not None:
        started = state  # redelivered: order it again (same id), change nothing
    elif refusal(event.action, event.reboot_type, state.instance_id, state.vm_state, state.task_state, state.host):
        return state, []  # the API refused it already; a request that raced another is dropped
    else:
        started = replace(state, task_state=pending)
    order = InstanceActionOrdered(
        envelope=event.envelope.caused(InstanceActionOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        action=event.action,
        reboot_type=event.reboot_type,
    )
    assert started.host is not None  # refusal() refuses an instance without a host
    return started, [Outbound.to_agent(started.host, state.instance_id, order)]


def _on_power(state: InstanceState, host: str, power_state: int) -> InstanceState:
    """What the hypervisor reports: it ends the pending action, or (none pending) says what happened."""
    if state.vm_state in ("deleted", "building", "error") and state.task_state not in ACTION_BY_TASK:
        return state
    if state.host != host:
        return state
    if state.task_state in moves.MOVE_TASKS or state.vm_state == "resized":
        return replace(state, power_state=power_state)  # the move's steps say how it ends
    if state.task_state in guest_ops.GUEST_TASKS or state.vm_state == "rescued":
        return replace(state, power_state=power_state)  # the agent's report says how the task ends
    if state.task_state in ACTION_BY_TASK:
        action = ACTIONS[ACTION_BY_TASK[state.task_state]]
        if power_state != action.done_when:
            return replace(state, power_state=power_state)  # on its way (a hard reboot passes through SHUTDOWN)
        return replace(state, power_state=power_state, vm_state=action.vm_state_after, task_state=None)
    return replace(state, power_state=power_state, vm_state=POWER_TO_VM_STATE.get(power_state, state.vm_state))


def apply(state: InstanceState | None, event: Folded) -> InstanceState | None:
    """The instance's row after the event."""
    return fold(state, event)[0]


def touch(state: InstanceState, event: Folded, offset: int, actions: list[InstanceAction] | None = None) -> InstanceState:
    """Stamp the row with the log position it reflects (and its last change time), and its new actions if any."""
    updated_at = max(state.updated_at, event.envelope.occurred_at)
    if actions is None:
        return replace(state, offset=offset, updated_at=updated_at)
    return replace(state, offset=offset, updated_at=updated_at, actions=actions)
