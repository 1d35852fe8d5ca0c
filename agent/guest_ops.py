"""The agent's side of rebuild, snapshot (createImage) and rescue: the driver call, then one report.

Each is idempotent, so a redelivered order (an agent killed after acting)
reports the same again without doing the work twice: a rebuild is tagged
with its order's id on the guest (`GuestSpec.rebuild_id`), a snapshot's file
exists, a rescued guest says so. A guest that should run after the step but
does not (the agent died between defining and starting it) is started.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

from novalog.agent.driver import DriverError, GuestSpec, PowerState
from novalog.events.outbound import Outbound
from novalog.events.records import Fault, utcnow
from novalog.events.types.agent import InstanceRebuildOrdered, InstanceRescueOrdered, InstanceSnapshotOrdered
from novalog.events.types.image import ImageUploaded
from novalog.events.types.instance import InstanceActionFailed, InstanceRebuilt, InstanceRescued, InstanceSnapshotProgressed, InstanceSnapshotted

if TYPE_CHECKING:
    from novalog.agent.service import NodeAgent

GuestOrder = InstanceRebuildOrdered | InstanceSnapshotOrdered | InstanceRescueOrdered
HASH_ALGO = "sha512"  # the image store's os_hash_algo (Glance's default)


def carry_out(agent: NodeAgent, order: GuestOrder) -> list[Outbound]:
    """Do the order on this host; report its end, or InstanceActionFailed with the driver's words."""
    try:
        match order:
            case InstanceRebuildOrdered():
                return _rebuild(agent, order)
            case InstanceSnapshotOrdered():
                return _snapshot(agent, order)
            case InstanceRescueOrdered():
                return _rescue(agent, order)
    except (DriverError, OSError) as exc:
        action = {InstanceRebuildOrdered: "rebuild", InstanceSnapshotOrdered: "createImage"}.get(type(order))
        if isinstance(order, InstanceRescueOrdered):
            action = "rescue" if order.rescue else "unrescue"
        failed = InstanceActionFailed(
            envelope=order.envelope.caused(InstanceActionFailed, agent.producer),
            instance_id=order.instance_id,
            host=agent.host,
            action=action or "rebuild",
            fault=Fault(code=500, message=str(exc), created=utcnow()),
        )
        return [Outbound.event(order.instance_id, failed)]


def _spec(agent: NodeAgent, order: InstanceRebuildOrdered | InstanceRescueOrdered) -> GuestSpec:
    """The guest the order defines again; a redefinition keeps the guest's own name (the name given is for a guest the host lost)."""
    flavor = order.flavor
    return GuestSpec(
        order.instance_id, order.name, flavor.vcpus, flavor.ram, flavor.disk + flavor.ephemeral, order.image_ref, order.image_files,
        domain_name=agent.guest_name(order.instance_id),
    )


def _running_if(agent: NodeAgent, instance_id: str, power_on: bool) -> int:
    """The guest's power state, after starting it if it should run and does not (a step cut short by a crash)."""
    if power_on and agent.driver.power_state(instance_id) != PowerState.RUNNING:
        agent.driver.power_on(instance_id)
    return int(agent.driver.power_state(instance_id))


def _rebuild(agent: NodeAgent, order: InstanceRebuildOrdered) -> list[Outbound]:
    spec = replace(_spec(agent, order), rebuild_id=order.envelope.event_id)
    agent.driver.rebuild(spec, start=order.power_on)
    power = _running_if(agent, order.instance_id, order.power_on)
    rebuilt = InstanceRebuilt(
        envelope=order.envelope.caused(InstanceRebuilt, agent.producer),
        instance_id=order.instance_id,
        host=agent.host,
        image_ref=order.image_ref,
        power_state=power,
    )
    return [Outbound.event(order.instance_id, rebuilt)]


def _snapshot(agent: NodeAgent, order: InstanceSnapshotOrdered) -> list[Outbound]:
    """The guest's disk into the image store, then the image's bits reported (it goes active) and the task ended.

    Nova's steps are reported as they are reached (sent at once, so they come
    before the end in the instance's partition): IMAGE_SNAPSHOT, then
    IMAGE_PENDING_UPLOAD while the disk is copied, IMAGE_UPLOADING while its bits are hashed.
    """
    for step in ("image_snapshot", "image_pending_upload"):
        _progress(agent, order, step)
    agent.driver.snapshot(order.instance_id, order.image_file, order.disk_format)
    _progress(agent, order, "image_uploading")
    md5, multihash, size = hashlib.md5(usedforsecurity=False), hashlib.new(HASH_ALGO), 0
    with open(order.image_file, "rb") as stored:
        while chunk := stored.read(1 << 20):
            md5.update(chunk)
            multihash.update(chunk)
            size += len(chunk)
    uploaded = ImageUploaded(
        envelope=order.envelope.caused(ImageUploaded, agent.producer),
        image_id=order.image_id,
        size=size,
        checksum=md5.hexdigest(),
        os_hash_algo=HASH_ALGO,
        os_hash_value=multihash.hexdigest(),
        location=order.image_file,
    )
    done = InstanceSnapshotted(
        envelope=order.envelope.caused(InstanceSnapshotted, agent.producer),
        instance_id=order.instance_id,
        host=agent.host,
        image_id=order.image_id,
    )
    return [Outbound.event(f"image:{order.image_id}", uploaded), Outbound.event(order.instance_id, done)]


def _progress(agent: NodeAgent, order: InstanceSnapshotOrdered, task_state: str) -> None:
    step = InstanceSnapshotProgressed(
        envelope=order.envelope.caused(InstanceSnapshotProgressed, agent.producer, salt=task_state),
        instance_id=order.instance_id,
        host=agent.host,
        image_id=order.image_id,
        task_state=task_state,
    )
    if agent.log is not None:  # None only for an agent driven without Kafka (tests): the end is reported all the same
        agent.log.send(Outbound.event(order.instance_id, step))


def _rescue(agent: NodeAgent, order: InstanceRescueOrdered) -> list[Outbound]:
    spec = _spec(agent, order)
    if order.rescue:
        agent.driver.rescue(replace(spec, rescue=True, rescue_files=order.rescue_image_files))
    else:
        agent.driver.unrescue(spec)
    power = _running_if(agent, order.instance_id, True)
    rescued = InstanceRescued(
        envelope=order.envelope.caused(InstanceRescued, agent.producer),
        instance_id=order.instance_id,
        host=agent.host,
        rescued=order.rescue,
        power_state=power,
    )
    return [Outbound.event(order.instance_id, rescued)]
