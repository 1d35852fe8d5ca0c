"""Moving an instance to a new claim: resize, cold migration, live migration, evacuation (a pure fold).

The instance table conducts every move, as Nova's conductor does, one step
at a time on the hosts involved. The new claim comes from the scheduler and
the host-state processor like a build's; the old one is kept until the move
cannot be undone, so a host never runs more than its claims say.

==========================  ============================  ===========================================
move                        request -> claim accepted      the agents' steps, and how it ends
==========================  ============================  ===========================================
resize, migration (cold)    resize_prep -> resize_         source `prepare` (power off), dest `finish`
                            migrating                      (the guest with the new flavor; same host:
                                                           redefined) -> VERIFY_RESIZE (vm_state
                                                           resized); confirmResize: the source's guest
                                                           and claim go; revertResize: the destination's
                                                           go and the source `restore`s the guest
live-migration              migrating                      source `live` (the running guest moves), the
                                                           destination `adopt`s it; the source's claim
                                                           goes -> ACTIVE on the destination
evacuation                  rebuilding -> rebuild_         dest `rebuild` (boots the guest afresh);
                            spawning                       the down source is ordered to delete its
                                                           guest and release its claim when it returns
==========================  ============================  ===========================================

A failure gives back the destination's claim. Where the source's guest was
not touched (no host found, a refused live migration, a source that could
not power off) the instance stays as it was, with the fault recorded; where
it was (the destination could not finish or rebuild) it goes to ERROR, as Nova.
"""

from __future__ import annotations

from novalog.events import orders
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, Flavor, Migration
from novalog.events.state import InstanceState
from novalog.events.types.agent import InstanceMoveOrdered
from novalog.events.types.instance import (
    InstanceActionRequested,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstanceSchedulingFailed,
)
from novalog.events.types.placement import ClaimAccepted

PRODUCER = "novalog-projections"
RUNNING = 1

# Nova's migration types.
RESIZE, COLD, LIVE, EVACUATION = "resize", "migration", "live-migration", "evacuation"
MIGRATION_TYPES = (RESIZE, COLD, LIVE, EVACUATION)

# The task state a request starts in, and the one once its claim is accepted.
REQUESTED_TASK = {RESIZE: "resize_prep", COLD: "resize_prep", LIVE: "migrating", EVACUATION: "rebuilding"}
CLAIMED_TASK = {RESIZE: "resize_migrating", COLD: "resize_migrating", LIVE: "migrating", EVACUATION: "rebuild_spawning"}
MOVE_TASKS = frozenset({*REQUESTED_TASK.values(), *CLAIMED_TASK.values(), "resize_migrated", "resize_finish", "resize_reverting"})

# Migration statuses in which a move still holds (or waits for) a second claim.
OPEN_STATUSES = frozenset({"pre-migrating", "migrating", "post-migrating", "finished"})

# Confirm and revert ride on InstanceActionRequested under these names.
CONFIRM, REVERT = "confirmResize", "revertResize"


def is_open(state: InstanceState) -> bool:
    return state.migration is not None and state.migration.status in OPEN_STATUSES


def _caused(cause: Envelope, event_class: type, salt: str = "") -> Envelope:
    return cause.caused(event_class, PRODUCER, salt=salt, occurred_at=cause.occurred_at)


def _order(state: InstanceState, cause: Envelope, step: str, host: str, claim_id: str, flavor: Flavor, power_on: bool) -> Outbound:
    m = state.migration
    assert m is not None
    order = InstanceMoveOrdered(
        envelope=_caused(cause, InstanceMoveOrdered, salt=f"{m.migration_id}/{step}"),
        instance_id=state.instance_id,
        migration_id=m.migration_id,
        migration_type=m.migration_type,
        step=step,
        source_host=m.source_host,
        dest_host=m.dest_host or m.source_host,
        claim_id=claim_id,
        name=state.name,
        flavor=flavor,
        image_ref=state.image_ref,
        project_id=state.project_id,
        power_on=power_on,
        image_files=state.image_files,
        build_offset=state.build_offset,
    )
    return Outbound.to_agent(host, state.instance_id, order)


def delete_order(instance_id: str, cause: Envelope, host: str, claim_id: str | None) -> Outbound:
    """The host's agent removes the instance's guest (if any) and releases the claim."""
    return orders.delete_order(instance_id, cause, PRODUCER, host, claim_id, salt=f"{host}/{claim_id or ''}")


def release(instance_id: str, cause: Envelope, host: str, claim_id: str) -> Outbound:
    """Give a claim back to its host without touching any guest."""
    return orders.claim_released(instance_id, cause, PRODUCER, host, claim_id, occurred_at=cause.occurred_at)


# --- the request ---------------------------------------------------------


def requested(state: InstanceState, event: InstanceMoveRequested) -> tuple[InstanceState, list[Outbound]]:
    """Record the move and wait for the scheduler's claim; a request that raced another is dropped."""
    if state.migration is not None and state.migration.migration_id == event.migration_id:
        return state, []  # redelivered
    if state.task_state is not None or state.host is None or is_open(state) or state.vm_state in ("building", "deleted"):
        return state, []  # the API refused it already, or it lost a race with another action
    migration = Migration(
        migration_id=event.migration_id,
        migration_type=event.migration_type,
        status="pre-migrating",
        source_host=state.host,
        old_flavor=state.flavor,
        new_flavor=event.spec.flavor,
        source_claim_id=state.claim_id,
        was_running=state.power_state == RUNNING,
        vm_state_before=state.vm_state,
        created_at=event.envelope.occurred_at,
    )
    return replace(state, task_state=REQUESTED_TASK[event.migration_type], migration=migration), []


def scheduling_failed(state: InstanceState, event: InstanceSchedulingFailed) -> InstanceState:
    """No host for the move: it ends, and the instance stays where and as it was."""
    m = state.migration
    if m is None or m.status != "pre-migrating":
        return state
    return replace(state, task_state=None, fault=event.fault, migration=replace(m, status="error"))


# --- the claim -----------------------------------------------------------


def claim_accepted(state: InstanceState, event: ClaimAccepted) -> tuple[InstanceState, list[Outbound]]:
    """The destination's claim is in: start the agents' steps (or give back a claim the move cannot use)."""
    m = state.migration
    if m is None or event.spec.migration_id != m.migration_id:
        return state, [release(event.instance_id, event.envelope, event.host, event.claim_id)]
    if m.status != "pre-migrating":
        if event.claim_id == m.dest_claim_id:
            return state, []  # redelivered
        return state, [release(event.instance_id, event.envelope, event.host, event.claim_id)]
    moving = replace(m, status="migrating", dest_host=event.host, dest_claim_id=event.claim_id)
    started = replace(state, task_state=CLAIMED_TASK[m.migration_type], migration=moving)
    cause = event.envelope
    match m.migration_type:
        case "resize" | "migration":
            return started, [_order(started, cause, "prepare", m.source_host, m.source_claim_id or "", m.old_flavor, False)]
        case "live-migration":
            return started, [_order(started, cause, "live", m.source_host, m.source_claim_id or "", m.old_flavor, True)]
        case _:  # evacuation: the source is down; its agent deletes the old guest when it returns
            rebuilt = replace(started, host=event.host, claim_id=event.claim_id, hypervisor_hostname=event.host)
            return rebuilt, [
                _order(rebuilt, cause, "rebuild", event.host, event.claim_id, m.old_flavor, m.vm_state_before != "stopped"),
                delete_order(state.instance_id, cause, m.source_host, m.source_claim_id),
            ]


# --- the agents' answers ---------------------------------------------------


def progressed(state: InstanceState, event: InstanceMoveProgressed) -> tuple[InstanceState, list[Outbound]]:
    """An agent finished a step: order the next, or end the move."""
    m = state.migration
    if m is None or m.migration_id != event.migration_id or m.dest_host is None or m.dest_claim_id is None:
        return state, []
    cause = event.envelope
    match event.step:
        case "prepare" if state.task_state == "resize_migrating" and event.host == m.source_host:
            on = replace(state, task_state="resize_migrated", power_state=event.power_state, migration=replace(m, status="post-migrating"))
            return on, [_order(on, cause, "finish", m.dest_host, m.dest_claim_id, m.new_flavor, m.was_running)]
        case "finish" if state.task_state == "resize_migrated" and event.host == m.dest_host:
            return replace(
                state,
                vm_state="resized",
                task_state=None,
                power_state=event.power_state,
                host=m.dest_host,
                hypervisor_hostname=m.dest_host,
                claim_id=m.dest_claim_id,
                flavor=m.new_flavor,
                migration=replace(m, status="finished"),
            ), []
        case "restore" if state.task_state == "resize_reverting" and event.host == m.source_host:
            outs = []
            if m.dest_host == m.source_host:  # the same host: the new flavor's claim was kept until now
                outs.append(release(state.instance_id, cause, m.dest_host, m.dest_claim_id))
            vm_state = "active" if event.power_state == RUNNING else "stopped"
            return replace(state, vm_state=vm_state, task_state=None, power_state=event.power_state, migration=replace(m, status="reverted")), outs
        case "live" if state.task_state == "migrating" and event.host == m.source_host:
            moved = replace(
                state,
                task_state=None,
                host=m.dest_host,
                hypervisor_hostname=m.dest_host,
                claim_id=m.dest_claim_id,
                migration=replace(m, status="completed"),
            )
            return moved, [
                _order(moved, cause, "adopt", m.dest_host, m.dest_claim_id, m.old_flavor, True),
                delete_order(state.instance_id, cause, m.source_host, m.source_claim_id),
            ]
        case "adopt" if m.status == "completed" and event.host == state.host:
            return replace(state, power_state=event.power_state), []
        case "rebuild" if state.task_state == "rebuild_spawning" and event.host == m.dest_host:
            vm_state = "active" if event.power_state == RUNNING else "stopped"
            return replace(state, vm_state=vm_state, task_state=None, power_state=event.power_state, migration=replace(m, status="done")), []
        case _:
            return state, []  # redelivered, or about a step this move is past


def failed(state: InstanceState, event: InstanceMoveFailed) -> tuple[InstanceState, list[Outbound]]:
    """A step failed: give back the destination's claim; ERROR where the guest was already touched."""
    m = state.migration
    if m is None or m.migration_id != event.migration_id or m.status not in OPEN_STATUSES:
        return state, []
    cause = event.envelope
    ended = replace(m, status="error")
    give_back = [] if m.dest_claim_id is None or m.dest_host is None else [release(state.instance_id, cause, m.dest_host, m.dest_claim_id)]
    match event.step:
        case "prepare" | "live":  # the guest stayed on the source, as it was
            return replace(state, task_state=None, fault=event.fault, migration=ended), give_back
        case "finish":  # the source's guest is off; the destination has none
            return replace(state, vm_state="error", task_state=None, fault=event.fault, migration=ended), give_back
        case "rebuild":  # the source is being cleaned up; nothing runs anywhere
            return replace(state, vm_state="error", task_state=None, power_state=0, host=None, claim_id=None, fault=event.fault, migration=ended), give_back
        case _:  # restore: the destination's claim went with its guest already
            return replace(state, vm_state="error", task_state=None, fault=event.fault, migration=ended), []


# --- confirm and revert ------------------------------------------------------


def confirm_or_revert(state: InstanceState, event: InstanceActionRequested) -> tuple[InstanceState, list[Outbound]]:
    """confirmResize drops the source's guest and claim; revertResize goes back to them."""
    m = state.migration
    if m is None or m.status != "finished" or m.dest_host is None or m.dest_claim_id is None:
        return state, []
    cause = event.envelope
    same_host = m.dest_host == m.source_host
    if event.action == CONFIRM:
        if state.vm_state != "resized" or state.task_state is not None:
            return state, []
        vm_state = "active" if state.power_state == RUNNING else "stopped"
        confirmed = replace(state, vm_state=vm_state, migration=replace(m, status="confirmed"))
        if same_host:
            return confirmed, [] if m.source_claim_id is None else [release(state.instance_id, cause, m.source_host, m.source_claim_id)]
        return confirmed, [delete_order(state.instance_id, cause, m.source_host, m.source_claim_id)]
    if state.vm_state != "resized" or state.task_state is not None:
        return state, []
    reverting = replace(
        state,
        task_state="resize_reverting",
        host=m.source_host,
        hypervisor_hostname=m.source_host,
        claim_id=m.source_claim_id,
        flavor=m.old_flavor,
    )
    restore = _order(reverting, cause, "restore", m.source_host, m.source_claim_id or "", m.old_flavor, m.was_running)
    if same_host:
        return reverting, [restore]
    return reverting, [delete_order(state.instance_id, cause, m.dest_host, m.dest_claim_id), restore]


def on_delete(state: InstanceState, cause: Envelope) -> list[Outbound]:
    """A delete during a move also cleans the other host the move involves (its guest, its claim)."""
    m = state.migration
    if m is None or m.status not in OPEN_STATUSES or state.host is None:
        return []
    other = [(h, c) for h, c in ((m.source_host, m.source_claim_id), (m.dest_host, m.dest_claim_id)) if h is not None and c != state.claim_id]
    outs = []
    for host, claim_id in other:
        if host == state.host:
            if claim_id is not None:
                outs.append(release(state.instance_id, cause, host, claim_id))
        else:
            outs.append(delete_order(state.instance_id, cause, host, claim_id))
    return outs
