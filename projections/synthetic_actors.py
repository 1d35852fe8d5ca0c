"""The actors of the synthetic cloud (projections/synthetic_log.py): users, a scheduler, the hosts' agents.

Each is a pure function from what the actor sees (a row, a command, the
simulated clock, a seeded random generator) to the records it appends, built
as the real actor builds them: the API's requests, the scheduler's proposals
and retries, an agent's answers to its commands. What the live system
decides in answer (claims, quotas, the instance table's orders) is not made
here: the real folds decide it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from novalog.events import orders, topics
from novalog.events.actions import PAUSED, RUNNING, SHUTDOWN, SUSPENDED, move_refusal, refusal
from novalog.events.capacity import shortfall
from novalog.events.console import FAKE_CONSOLE, tail
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.quotas import DEFAULT_LIMITS
from novalog.events.records import Envelope, Fault, FilterCount, Flavor, PlacementTrace, RequestSpec, Resources, WeighedHost, guest_name
from novalog.events.state import HostState, InstanceState
from novalog.events.types.agent import (
    InstanceActionOrdered,
    InstanceConsoleOrdered,
    InstanceDeleteOrdered,
    InstanceMoveOrdered,
    InstanceRebuildOrdered,
    InstanceRescueOrdered,
    InstanceSnapshotOrdered,
    InstanceSpawnOrdered,
)
from novalog.events.types.image import ImageUploaded
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceConsoleReported,
    InstanceDeleted,
    InstanceDeleteRequested,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstancePowerStateChanged,
    InstanceRebuilt,
    InstanceRescued,
    InstanceSchedulingFailed,
    InstanceSnapshotted,
    InstanceSpawned,
    InstanceSpawnFailed,
)
from novalog.events.types.placement import ClaimRejected, PlacementProposed
from novalog.events.types.quota import ServersRequested

API, SCHEDULER = "novalog-api", "novalog-scheduler"
MAX_ATTEMPTS = 3
IMAGE = "cirros-0.6.2"
FLAVORS = (
    Flavor("1", "m1.tiny", 1, 512, 1),
    Flavor("2", "m1.small", 1, 2048, 20),
    Flavor("3", "m1.medium", 2, 4096, 40),
    Flavor("4", "m1.large", 4, 8192, 80),
    Flavor("5", "m1.xlarge", 8, 16384, 160, extra_specs={"hw:cpu_policy": "shared"}),
)
FLAVOR_WEIGHTS = (20, 35, 30, 12, 3)
# How often things go wrong on a host: a spawn, an action, a move step.
FAILURE_RATE = 0.01


@dataclass
class Dice:
    """The simulation's randomness and clock: every id and time comes from here, so a seed gives one log."""

    rng: random.Random
    now: datetime

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def envelope(self, event_class: type, producer: str) -> Envelope:
        return Envelope.new(event_class, producer, event_id=self.uuid(), occurred_at=self.now, request_id=f"req-{self.uuid()}")

    def caused(self, cause: Envelope, event_class: type, producer: str, salt: str = "") -> Envelope:
        return cause.caused(event_class, producer, salt=salt, occurred_at=self.now)


# --- users (through the API's rules: a request the API would refuse is not appended) ---


def create_servers(dice: Dice, project: str, serial: int) -> Outbound:
    """A project's POST /servers of one server (two, now and then), waiting for its quota writer."""
    flavor = dice.rng.choices(FLAVORS, FLAVOR_WEIGHTS)[0]
    count = 2 if dice.chance(0.1) else 1
    ids = [dice.uuid() for _ in range(count)]
    envelope = dice.envelope(ServersRequested, API)
    reservation = f"r-{dice.uuid()[:8]}"
    builds = [
        InstanceBuildRequested(
            envelope=Envelope.new(InstanceBuildRequested, API, event_id=dice.uuid(), occurred_at=dice.now, request_id=envelope.request_id),
            instance_id=iid, name=f"vm-{serial}-{i}", project_id=project,
            user_id=f"{project}-user", flavor=flavor, image_ref=IMAGE, metadata={"tier": dice.rng.choice(("web", "db", "batch"))},
            key_name=f"{project}-key", reservation_id=reservation, instance_ids=ids if count > 1 else [],
        )
        for i, iid in enumerate(ids)
    ]
    request = ServersRequested(
        envelope=envelope, project_id=project, user_id=f"{project}-user",
        reservation_id=reservation, min_count=1, builds=builds, default_limits=dict(DEFAULT_LIMITS),
    )
    return Outbound.event(project, request)


def act_on(dice: Dice, row: InstanceState) -> Outbound | None:
    """What a user asks of a server in the state it is in: stop, start, reboot, delete, a move, a confirm or revert."""
    if row.vm_state == "resized":
        action = "confirmResize" if dice.chance(0.8) else "revertResize"
        if move_refusal(action, row.instance_id, row.vm_state, row.task_state, row.host) is None:
            return _action(dice, row, action, None)
        return None
    roll = dice.rng.random()
    if roll < 0.3:
        return delete_server(dice, row)
    if roll < 0.4:
        return _move(dice, row)
    action, reboot = {"active": ("stop", None), "stopped": ("start", None)}.get(row.vm_state, ("reboot", "HARD"))
    if row.vm_state == "active" and dice.chance(0.4):
        action, reboot = "reboot", dice.rng.choice(("SOFT", "HARD"))
    if refusal(action, reboot, row.instance_id, row.vm_state, row.task_state, row.host) is not None:
        return None
    return _action(dice, row, action, reboot)


def delete_server(dice: Dice, row: InstanceState) -> Outbound | None:
    if row.vm_state == "deleted" or row.task_state == "deleting":
        return None
    event = InstanceDeleteRequested(dice.envelope(InstanceDeleteRequested, API), row.instance_id, row.project_id, row.user_id)
    return Outbound.event(row.instance_id, event)


def _action(dice: Dice, row: InstanceState, action: str, reboot: str | None) -> Outbound:
    event = InstanceActionRequested(dice.envelope(InstanceActionRequested, API), row.instance_id, action, row.project_id, row.user_id, reboot)
    return Outbound.event(row.instance_id, event)


def _move(dice: Dice, row: InstanceState) -> Outbound | None:
    """A resize to another flavor (most moves), a cold migration or a live migration, as the API asks for it."""
    kind, api_name = dice.rng.choices((("resize", "resize"), ("migration", "migrate"), ("live-migration", "os-migrateLive")), (6, 3, 1))[0]
    if move_refusal(api_name, row.instance_id, row.vm_state, row.task_state, row.host) is not None or row.host is None:
        return None
    flavor = dice.rng.choice([f for f in FLAVORS if f.id != row.flavor.id]) if kind == "resize" else row.flavor
    migration_id = dice.uuid()
    spec = RequestSpec(instance_id=row.instance_id, project_id=row.project_id, user_id=row.user_id, flavor=flavor,
                       image_ref=row.image_ref, ignore_hosts=[row.host], migration_id=migration_id)
    event = InstanceMoveRequested(dice.envelope(InstanceMoveRequested, API), row.instance_id, migration_id, kind,
                                  row.project_id, row.user_id, row.host, spec)
    return Outbound.event(row.instance_id, event)


# --- the scheduler (a stand-in for the filter pipeline: RamFilter and RAMWeigher alone) ---


def spec_of(build: InstanceBuildRequested) -> RequestSpec:
    return RequestSpec(instance_id=build.instance_id, project_id=build.project_id, user_id=build.user_id, flavor=build.flavor,
                       image_ref=build.image_ref, availability_zone=build.availability_zone, scheduler_hints=build.scheduler_hints)


def place(dice: Dice, hosts: dict[str, HostState], usage: dict[str, Resources], spec: RequestSpec, cause: Envelope) -> Outbound:
    """Propose one of the three hosts with the most free RAM (Nova's host_subset_size), or record "No valid host".

    Its view is the host table (and each host's claims summed, `usage`),
    which does not show the claims still in flight: two proposals in a burst
    may go to the same nearly full host, and the host table refuses the
    second (then the scheduler tries another).
    """
    wanted = Resources.of(spec.flavor)
    excluded = {*spec.retry_hosts, *spec.ignore_hosts}
    free = {
        name: row.memory_mb * row.ram_allocation_ratio - row.reserved_memory_mb - usage[name].memory_mb
        for name, row in sorted(hosts.items())
        if name not in excluded and shortfall(row, usage[name], wanted) is None
    }
    if not free:
        failed = InstanceSchedulingFailed(
            envelope=dice.caused(cause, InstanceSchedulingFailed, SCHEDULER), instance_id=spec.instance_id,
            fault=Fault(500, "No valid host was found. There are not enough hosts available.", dice.now), attempts=spec.num_attempts,
            trace=PlacementTrace(len(hosts), [FilterCount("ComputeFilter", len(hosts)), FilterCount("RamFilter", 0)]),
        )
        return Outbound.event(spec.instance_id, failed)
    best = dice.rng.choice(sorted(free, key=lambda h: (-free[h], h))[:3])
    proposal = PlacementProposed(
        envelope=dice.caused(cause, PlacementProposed, SCHEDULER, salt=f"{spec.instance_id}/{best}"),
        claim_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cause.event_id}/claim/{spec.instance_id}/{best}")),
        instance_id=spec.instance_id, host=best, scheduler=SCHEDULER, resources=wanted, spec=spec,
        trace=PlacementTrace(len(hosts), [FilterCount("ComputeFilter", len(hosts)), FilterCount("RamFilter", len(free))],
                             [WeighedHost(best, 1.0, {"RAMWeigher": 1.0})]),
    )
    return Outbound.event(best, proposal)


def retry(dice: Dice, hosts: dict[str, HostState], usage: dict[str, Resources], rejected: ClaimRejected) -> Outbound:
    """Another host after a refused claim (RetryFilter), until max_attempts."""
    spec = replace(rejected.spec, num_attempts=rejected.spec.num_attempts + 1, retry_hosts=[*rejected.spec.retry_hosts, rejected.host])
    if spec.num_attempts > MAX_ATTEMPTS:
        message = f"No valid host was found. Exceeded max scheduling attempts {MAX_ATTEMPTS} for instance {spec.instance_id}."
        failed = InstanceSchedulingFailed(dice.caused(rejected.envelope, InstanceSchedulingFailed, SCHEDULER), spec.instance_id,
                                          Fault(500, message, dice.now), spec.num_attempts)
        return Outbound.event(spec.instance_id, failed)
    return place(dice, hosts, usage, spec, rejected.envelope)


# --- the agents: what a host answers to each command ---


# The actions after which the guest no longer runs: the lifecycle transition its hypervisor reports, and the power state.
STOPPING = {"stop": ("STOPPED", SHUTDOWN), "pause": ("SUSPENDED", PAUSED), "suspend": ("SUSPENDED", SUSPENDED)}


def answer(dice: Dice, host: str, command: Any) -> list[Outbound]:
    """The records an agent appends after carrying out `command` (now and then, a failure)."""
    producer, iid = f"novalog-agent-{host}", command.instance_id
    match command:
        case InstanceSpawnOrdered() if dice.chance(FAILURE_RATE):
            fault = Fault(500, f"Build of instance {iid} aborted: the hypervisor refused", dice.now)
            failed = InstanceSpawnFailed(dice.caused(command.envelope, InstanceSpawnFailed, producer), iid, host, fault)
            return [Outbound.event(iid, failed), _released(dice, command, producer, host, command.claim_id)]
        case InstanceSpawnOrdered():
            return [Outbound.event(iid, InstanceSpawned(dice.caused(command.envelope, InstanceSpawned, producer), iid, host, host, guest_name(iid), RUNNING))]
        case InstanceActionOrdered() if dice.chance(FAILURE_RATE):
            fault = Fault(500, f"{command.action} of {iid} failed", dice.now)
            return [Outbound.event(iid, InstanceActionFailed(dice.caused(command.envelope, InstanceActionFailed, producer), iid, host, command.action, fault))]
        case InstanceActionOrdered() if command.action in STOPPING:
            transition, power = STOPPING[command.action]
            changed = InstancePowerStateChanged(dice.caused(command.envelope, InstancePowerStateChanged, producer), iid, host, transition, power)
            return [Outbound.event(iid, changed)]
        case InstanceActionOrdered():  # start, reboot, unpause, resume: the guest (re)started
            return [Outbound.event(iid, InstanceSpawned(dice.caused(command.envelope, InstanceSpawned, producer), iid, host, host, guest_name(iid), RUNNING))]
        case InstanceMoveOrdered():
            return [_move_answer(dice, host, command, producer)]
        case InstanceConsoleOrdered():  # a synthetic host runs no guest: Nova's fake console
            reported = InstanceConsoleReported(dice.caused(command.envelope, InstanceConsoleReported, producer), iid, command.ask_id, host,
                                               tail(FAKE_CONSOLE, command.length))
            return [Outbound.event(iid, reported)]
        case InstanceDeleteOrdered():
            deleted = InstanceDeleted(dice.caused(command.envelope, InstanceDeleted, producer), iid, host)
            return [Outbound.event(iid, deleted)] + ([_released(dice, command, producer, host, command.claim_id)] if command.claim_id else [])
        case InstanceRebuildOrdered() | InstanceSnapshotOrdered() | InstanceRescueOrdered():
            return _guest_answer(dice, host, command, producer)
        case _:
            return []


def _guest_answer(dice: Dice, host: str, order: InstanceRebuildOrdered | InstanceSnapshotOrdered | InstanceRescueOrdered, producer: str) -> list[Outbound]:
    """A rebuild, snapshot or rescue done. A synthetic host has no disk: its snapshot is an empty image (no file is written)."""
    iid = order.instance_id
    match order:
        case InstanceRebuildOrdered():
            power = RUNNING if order.power_on else SHUTDOWN
            return [Outbound.event(iid, InstanceRebuilt(dice.caused(order.envelope, InstanceRebuilt, producer), iid, host, order.image_ref, power))]
        case InstanceSnapshotOrdered():
            empty_md5, empty_sha512 = "d41d8cd98f00b204e9800998ecf8427e", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
            uploaded = ImageUploaded(dice.caused(order.envelope, ImageUploaded, producer), order.image_id, 0, empty_md5, "sha512", empty_sha512, order.image_file)
            done = InstanceSnapshotted(dice.caused(order.envelope, InstanceSnapshotted, producer), iid, host, order.image_id)
            return [Outbound.event(f"image:{order.image_id}", uploaded), Outbound.event(iid, done)]
        case InstanceRescueOrdered():
            return [Outbound.event(iid, InstanceRescued(dice.caused(order.envelope, InstanceRescued, producer), iid, host, order.rescue, RUNNING))]


def _move_answer(dice: Dice, host: str, order: InstanceMoveOrdered, producer: str) -> Outbound:
    iid = order.instance_id
    if order.step in ("prepare", "finish", "live") and dice.chance(FAILURE_RATE):
        fault = Fault(500, f"{order.migration_type} of instance {iid} failed at {order.step} on {host}", dice.now)
        failed = InstanceMoveFailed(dice.caused(order.envelope, InstanceMoveFailed, producer), iid, order.migration_id, order.step, host, fault)
        return Outbound.event(iid, failed)
    power = SHUTDOWN if order.step == "prepare" or not order.power_on else RUNNING
    progressed = InstanceMoveProgressed(dice.caused(order.envelope, InstanceMoveProgressed, producer), iid, order.migration_id, order.step, host, power)
    return Outbound.event(iid, progressed)


def _released(dice: Dice, cause: Any, producer: str, host: str, claim_id: str) -> Outbound:
    return orders.claim_released(cause.instance_id, cause.envelope, producer, host, claim_id, occurred_at=dice.now)


def is_agent_topic(topic: str) -> bool:
    return topic.startswith(f"{topics.AGENT_COMMANDS}.")
