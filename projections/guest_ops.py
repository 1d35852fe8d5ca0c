"""What the instance table does with the actions that change a guest's disk or boot in place: rebuild, snapshot, rescue.

Each is Nova's on one host, with no claim of its own: the request starts a
task (REBUILDING, IMAGE_SNAPSHOT_PENDING, RESCUING or UNRESCUING) and orders the
host's agent; the agent's report ends it. While a task of these runs, the
hypervisor's lifecycle events (the guest stopped and started again) change
only the power state: the report says how the task ended. A redelivered
request finds its task running and orders the same again (same derived id),
which the agent carries out once.
"""

from __future__ import annotations

from novalog.events.actions import RUNNING, guest_refusal
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.state import InstanceState
from novalog.events.types.agent import InstanceRebuildOrdered, InstanceRescueOrdered, InstanceSnapshotOrdered
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceRebuildRequested,
    InstanceRebuilt,
    InstanceRescued,
    InstanceRescueRequested,
    InstanceSnapshotProgressed,
    InstanceSnapshotRequested,
    InstanceSnapshotted,
    InstanceSpawned,
)

PRODUCER = "novalog-projections"

REBUILD_TASKS = frozenset({"rebuilding", "rebuild_spawning"})
SNAPSHOT_TASKS = frozenset({"image_snapshot_pending", "image_snapshot", "image_pending_upload", "image_uploading"})
RESCUE_TASKS = frozenset({"rescuing", "unrescuing"})
GUEST_TASKS = REBUILD_TASKS | SNAPSHOT_TASKS | RESCUE_TASKS

# The action names an agent's InstanceActionFailed carries for these tasks.
GUEST_ACTIONS = frozenset({"rebuild", "createImage", "rescue", "unrescue"})


def rebuild_requested(state: InstanceState, event: InstanceRebuildRequested) -> tuple[InstanceState, list[Outbound]]:
    """Nova's rebuild: the instance takes the new image (and name, metadata) at once; its host's agent recreates the guest."""
    if state.task_state in REBUILD_TASKS and state.image_ref == event.image_ref:
        started = state  # redelivered: order it again (same id)
    elif guest_refusal("rebuild", state.instance_id, state.vm_state, state.task_state, state.host) or state.claim_id is None:
        return state, []  # the API refused it already; a request that raced another is dropped
    else:
        started = replace(
            state,
            task_state="rebuilding",
            image_ref=event.image_ref,
            image_properties=event.image_properties,
            image_files=event.image_files,
            name=event.name if event.name is not None else state.name,
            metadata=event.metadata if event.metadata is not None else state.metadata,
            access_ip_v4=event.access_ip_v4 if event.access_ip_v4 is not None else state.access_ip_v4,
            access_ip_v6=event.access_ip_v6 if event.access_ip_v6 is not None else state.access_ip_v6,
        )
    assert started.host is not None and started.claim_id is not None
    order = InstanceRebuildOrdered(
        envelope=event.envelope.caused(InstanceRebuildOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        claim_id=started.claim_id,
        name=started.name,
        flavor=started.flavor,
        image_ref=started.image_ref,
        project_id=started.project_id,
        power_on=started.vm_state != "stopped",  # Nova stops a rebuilt instance again when it was stopped
        image_files=started.image_files,
    )
    return started, [Outbound.to_agent(started.host, state.instance_id, order)]


def rebuilt(state: InstanceState, event: InstanceRebuilt) -> InstanceState:
    """The guest runs the new image: ACTIVE (STOPPED when it was stopped), the task over."""
    if state.host != event.host or state.task_state not in REBUILD_TASKS:
        return state
    at = event.envelope.occurred_at
    vm_state = "active" if event.power_state == RUNNING else "stopped"
    return replace(state, vm_state=vm_state, task_state=None, power_state=event.power_state, launched_at=at, fault=None)


def snapshot_requested(state: InstanceState, event: InstanceSnapshotRequested) -> tuple[InstanceState, list[Outbound]]:
    """Nova's createImage: IMAGE_SNAPSHOT_PENDING while the host's agent writes the guest's disk into the image store."""
    if state.task_state in SNAPSHOT_TASKS:
        started = state  # redelivered: the agent finds the image written and reports it again
    elif guest_refusal("createImage", state.instance_id, state.vm_state, state.task_state, state.host):
        return state, []
    else:
        started = replace(state, task_state="image_snapshot_pending")
    assert started.host is not None
    order = InstanceSnapshotOrdered(
        envelope=event.envelope.caused(InstanceSnapshotOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        image_id=event.image_id,
        image_file=event.image_file,
        disk_format=event.disk_format,
    )
    return started, [Outbound.to_agent(started.host, state.instance_id, order)]


def snapshotted(state: InstanceState, event: InstanceSnapshotted) -> InstanceState:
    if state.host != event.host or state.task_state not in SNAPSHOT_TASKS:
        return state
    return replace(state, task_state=None)


def rescue_requested(state: InstanceState, event: InstanceRescueRequested) -> tuple[InstanceState, list[Outbound]]:
    """Nova's rescue (RESCUING, then RESCUED) and unrescue (UNRESCUING, then ACTIVE)."""
    task = "rescuing" if event.rescue else "unrescuing"
    if state.task_state == task:
        started = state  # redelivered
    elif guest_refusal("rescue" if event.rescue else "unrescue", state.instance_id, state.vm_state, state.task_state, state.host):
        return state, []
    else:
        started = replace(state, task_state=task)
    assert started.host is not None
    order = InstanceRescueOrdered(
        envelope=event.envelope.caused(InstanceRescueOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        rescue=event.rescue,
        name=state.name,
        flavor=state.flavor,
        image_ref=state.image_ref,
        project_id=state.project_id,
        rescue_image_ref=event.image_ref,
        rescue_image_files=event.image_files,
        image_files=state.image_files,
    )
    return started, [Outbound.to_agent(started.host, state.instance_id, order)]


def rescued(state: InstanceState, event: InstanceRescued) -> InstanceState:
    task = "rescuing" if event.rescued else "unrescuing"
    if state.host != event.host or state.task_state != task:
        return state
    vm_state = "rescued" if event.rescued else ("active" if event.power_state == RUNNING else "stopped")
    return replace(state, vm_state=vm_state, task_state=None, power_state=event.power_state)


def reported(state: InstanceState, event: object) -> InstanceState | None:
    """The row after an agent's report about a task of these (its end, or the guest started again in a rebuild); None for other reports."""
    match event:
        case InstanceRebuilt():
            return rebuilt(state, event)
        case InstanceSnapshotted():
            return snapshotted(state, event)
        case InstanceSnapshotProgressed():
            on_its_way = state.host == event.host and state.task_state in SNAPSHOT_TASKS and event.task_state in SNAPSHOT_TASKS
            return replace(state, task_state=event.task_state) if on_its_way else state
        case InstanceRescued():
            return rescued(state, event)
        case InstanceActionFailed() if event.action in GUEST_ACTIONS:
            return failed(state, event)
        case InstanceSpawned() if state.task_state == "rebuilding" and state.host == event.host:
            return replace(state, task_state="rebuild_spawning", power_state=event.power_state)
        case _:
            return None


def failed(state: InstanceState, event: InstanceActionFailed) -> InstanceState:
    """The agent could not carry the task out: a rebuild or rescue leaves the instance in ERROR (as Nova's), a snapshot as it was."""
    if state.host != event.host or state.task_state not in GUEST_TASKS:
        return state
    if state.task_state in SNAPSHOT_TASKS:
        return replace(state, task_state=None)
    return replace(state, vm_state="error", task_state=None, fault=event.fault)
