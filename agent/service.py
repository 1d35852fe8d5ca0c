"""The node agent of one host: obeys its command topic, reports what the hypervisor says.

It reads only `<prefix>.agent.<host>` (its own commands), never other hosts'
traffic. Spawning returns as soon as the hypervisor accepted the guest; the
instance becomes ACTIVE when the hypervisor's STARTED lifecycle event comes
back, not because the agent's own call returned. Capacity is reported at
start and periodically; heartbeats say the host is alive.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, Message

from novalog.agent import guest_ops
from novalog.agent.config import HostConfig
from novalog.agent.driver import Driver, DriverError, GuestSpec, LifecycleEvent, PowerState, Transition, domain_name
from novalog.agent.reconcile import HandleOrphan, ReportPower, fold_desired, reconcile
from novalog.events import orders, topics
from novalog.events.codec import DecodeError, decode
from novalog.events.console import tail
from novalog.events.instance_names import InstanceNaming
from novalog.events.kafka.log import ConsumeLoop, EventLog, consumer_config, ensure_topics, read_all
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, Fault, utcnow
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
from novalog.events.types.host import HostCapacityReported, HostHeartbeatReported
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceConsoleReported,
    InstanceDeleted,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstancePowerStateChanged,
    InstanceSpawned,
    InstanceSpawnFailed,
)

log = logging.getLogger(__name__)


class NodeAgent:
    """Drives one host's hypervisor from its command topic and reports back to the log."""

    def __init__(
        self,
        config: HostConfig,
        driver: Driver,
        event_log: EventLog,
        bootstrap: str,
        *,
        default_ratios: tuple[float, float, float] = (4.0, 1.0, 1.0),
        heartbeat_interval: float = 10.0,
        capacity_interval: float = 60.0,
        orphan_policy: str = "reap",
        shutdown_timeout: float = 60.0,
        naming: InstanceNaming | None = None,
    ) -> None:
        self.config = config
        self.host = config.name
        self.driver = driver
        self.log = event_log
        self.bootstrap = bootstrap
        self.default_ratios = default_ratios
        self.heartbeat_interval = heartbeat_interval
        self.capacity_interval = capacity_interval
        self.producer = f"novalog-agent-{self.host}"
        self.orphan_policy = orphan_policy
        self.shutdown_timeout = shutdown_timeout
        # Nova's instance_name_template, as the API shows OS-EXT-SRV-ATTR:instance_name: guests are named so.
        self.naming = naming if naming is not None else InstanceNaming()
        self.desired: dict[str, InstanceSpawnOrdered] = {}
        self._stop = threading.Event()
        self._loop: ConsumeLoop | None = None
        # Held while a command is carried out and while a sync reads and reports power
        # states: a reading taken in the middle of a step (NOSTATE before the guest is
        # defined) could reach the log after the step's report and undo what it said.
        self._commanding = threading.Lock()

    # --- reporting -------------------------------------------------------

    def capacity_report(self) -> HostCapacityReported:
        node = self.driver.node_info()
        guests = self.driver.list_guests()
        cpu, ram, disk = self.default_ratios
        c = self.config
        return HostCapacityReported(
            envelope=Envelope.new(HostCapacityReported, self.producer),
            host=self.host,
            hypervisor_type=node.hypervisor_type,
            hypervisor_version=node.hypervisor_version,
            hypervisor_hostname=node.hypervisor_hostname,
            cpu_info=json.dumps({"model": node.cpu_model}),
            vcpus=node.vcpus,
            memory_mb=node.memory_mb,
            disk_gb=c.disk_gb,
            cpu_allocation_ratio=c.cpu_allocation_ratio if c.cpu_allocation_ratio is not None else cpu,
            ram_allocation_ratio=c.ram_allocation_ratio if c.ram_allocation_ratio is not None else ram,
            disk_allocation_ratio=c.disk_allocation_ratio if c.disk_allocation_ratio is not None else disk,
            reserved_memory_mb=c.reserved_memory_mb,
            reserved_disk_gb=c.reserved_disk_gb,
            running_vms=len(guests),
            vcpus_in_use=sum(g.vcpus for g in guests),
            memory_mb_in_use=sum(g.memory_mb for g in guests),
            reported_at=utcnow(),
            supported_instances=[["x86_64", node.hypervisor_type.lower(), "hvm"]],
        )

    def heartbeat(self) -> HostHeartbeatReported:
        return HostHeartbeatReported(
            envelope=Envelope.new(HostHeartbeatReported, self.producer),
            host=self.host,
            interval_s=self.heartbeat_interval,
        )

    def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Hypervisor callback (another thread): report the transition to the log."""
        record: Any
        if event.transition == Transition.STARTED:
            record = InstanceSpawned(
                envelope=Envelope.new(InstanceSpawned, self.producer),
                instance_id=event.instance_id,
                host=self.host,
                hypervisor_hostname=self.host,
                domain_name=event.domain_name or self.guest_name(event.instance_id),
                power_state=int(event.power_state),
            )
        elif event.transition in (Transition.STOPPED, Transition.SUSPENDED, Transition.RESUMED, Transition.CRASHED):
            record = InstancePowerStateChanged(
                envelope=Envelope.new(InstancePowerStateChanged, self.producer),
                instance_id=event.instance_id,
                host=self.host,
                transition=event.transition,
                power_state=int(event.power_state),
            )
        else:
            return
        self.log.send(Outbound.event(event.instance_id, record))

    # --- commands --------------------------------------------------------

    def handle(self, msg: Message, record: Any) -> list[Outbound]:
        """Carry out one command; return what it caused (besides lifecycle events)."""
        if isinstance(record, InstanceConsoleOrdered):
            return [self._console(record)]  # a read: no need to wait for a command or a sync under way
        with self._commanding:
            if isinstance(record, InstanceSpawnOrdered | InstanceDeleteOrdered | InstanceMoveOrdered | InstanceRebuildOrdered):
                self.desired = fold_desired(self.desired, record)
            match record:
                case InstanceSpawnOrdered():
                    return self._spawn(record)
                case InstanceDeleteOrdered():
                    return self._delete(record)
                case InstanceActionOrdered():
                    return self._act(record)
                case InstanceMoveOrdered():
                    return self._move(record)
                case InstanceRebuildOrdered() | InstanceSnapshotOrdered() | InstanceRescueOrdered():
                    return guest_ops.carry_out(self, record)
                case _:
                    log.warning("%s: ignoring %s on its command topic", self.host, type(record).__name__)
                    return []

    def _guest_spec(self, order: InstanceSpawnOrdered | InstanceMoveOrdered) -> GuestSpec:
        flavor = order.flavor
        return GuestSpec(
            order.instance_id, order.name, flavor.vcpus, flavor.ram, flavor.disk + flavor.ephemeral, order.image_ref, order.image_files,
            domain_name=self.naming.name(order.instance_id, order.build_offset, order.name),
        )

    def guest_name(self, instance_id: str) -> str:
        """The name this host gives the instance's guest: its instance name, from the build offset its orders carry;
        `novalog-<instance id>` for an instance whose orders carried none (written before they did)."""
        order = self.desired.get(instance_id)
        named = self.naming.name(instance_id, order.build_offset, order.name) if order is not None else None
        return named or domain_name(instance_id)

    def _spawn(self, order: InstanceSpawnOrdered) -> list[Outbound]:
        try:
            self.driver.spawn(self._guest_spec(order))
        except DriverError as exc:
            failed = InstanceSpawnFailed(
                envelope=order.envelope.caused(InstanceSpawnFailed, self.producer),
                instance_id=order.instance_id,
                host=self.host,
                fault=Fault(code=500, message=f"Build of instance {order.instance_id} aborted: {exc}", created=utcnow()),
            )
            return [Outbound.event(order.instance_id, failed), self._release(order, order.claim_id)]
        return []

    def _console(self, order: InstanceConsoleOrdered) -> Outbound:
        """The tail of the guest's console (bounded, events/console.py), or why it could not be read."""
        try:
            output, error = tail(self.driver.console_output(order.instance_id), order.length), None
        except DriverError as exc:
            output, error = "", str(exc)
        reported = InstanceConsoleReported(
            envelope=order.envelope.caused(InstanceConsoleReported, self.producer),
            instance_id=order.instance_id,
            ask_id=order.ask_id,
            host=self.host,
            output=output,
            error=error,
        )
        return Outbound.event(order.instance_id, reported)

    def _act(self, order: InstanceActionOrdered) -> list[Outbound]:
        """A power action; its effect is reported by the hypervisor's lifecycle events, a refusal here."""
        iid = order.instance_id
        calls = {
            "stop": lambda: self.driver.power_off(iid, clean=True),
            "start": lambda: self.driver.power_on(iid),
            "reboot": lambda: self.driver.reboot(iid, hard=(order.reboot_type or "SOFT").upper() == "HARD"),
            "pause": lambda: self.driver.pause(iid),
            "unpause": lambda: self.driver.unpause(iid),
            "suspend": lambda: self.driver.suspend(iid),
            "resume": lambda: self.driver.resume(iid),
        }
        try:
            if order.action not in calls:
                raise DriverError(f"unknown action {order.action!r} for instance {iid} on {self.host}")
            before = self.driver.power_state(iid)
            lost = before == PowerState.NOSTATE and iid in self.desired
            if lost and order.action in ("start", "reboot"):
                # The hypervisor lost the guest (its host restarted): boot it again from its order.
                self.driver.spawn(self._guest_spec(self.desired[iid]))
            else:
                calls[order.action]()
        except DriverError as exc:
            failed = InstanceActionFailed(
                envelope=order.envelope.caused(InstanceActionFailed, self.producer),
                instance_id=iid,
                host=self.host,
                action=order.action,
                fault=Fault(code=500, message=str(exc), created=utcnow()),
            )
            return [Outbound.event(iid, failed)]
        # An action that changed nothing (a redelivered order finds the guest
        # already there) brings no lifecycle event: the power reading ends it.
        # Anything else is reported by the hypervisor's events alone; a reading
        # sent as well could overtake them in the log (a hard reboot would end
        # on its reading, then show its own late STOPPED event as SHUTOFF).
        # A reboot always brings events, even from RUNNING back to RUNNING.
        after = self.driver.power_state(iid)
        if order.action == "reboot" or after != before:
            return []
        synced = InstancePowerStateChanged(
            envelope=order.envelope.caused(InstancePowerStateChanged, self.producer, salt="sync"),
            instance_id=iid,
            host=self.host,
            transition="SYNC",
            power_state=int(after),
        )
        return [Outbound.event(iid, synced)]

    def _move(self, order: InstanceMoveOrdered) -> list[Outbound]:
        """One step of a move on this host (see projections/moves.py); its end reported with the guest's power state here."""
        iid = order.instance_id
        spec = self._guest_spec(order)
        try:
            match order.step:
                case "prepare":  # the source: the guest off, kept for a revert
                    if self.driver.power_state(iid) != PowerState.NOSTATE:  # a guest the host lost is off already
                        self._power_off_and_wait(iid)
                case "finish" | "rebuild" | "restore":
                    if self.driver.power_state(iid) == PowerState.NOSTATE:
                        # A new host's guest (or one this host lost). A server that was off is
                        # defined off: booted and stopped, its late STARTED event could reach
                        # the log after this step's report and show it running.
                        self.driver.spawn(spec, start=order.power_on)
                    else:
                        # This host has the guest already (a resize on the same host, a revert): redefine it.
                        if self._guest_sizes(iid) != (spec.vcpus, spec.memory_mb):
                            self.driver.power_off(iid, clean=False)
                            self.driver.resize(spec)
                        if order.power_on:
                            self.driver.power_on(iid)
                        else:
                            self.driver.power_off(iid, clean=False)
                case "live":
                    self.driver.live_migrate(iid, order.dest_host)
                case "adopt":  # the guest came here alive: nothing to do but know it is ours
                    pass
                case _:
                    raise DriverError(f"unknown move step {order.step!r} for instance {iid} on {self.host}")
        except DriverError as exc:
            failed = InstanceMoveFailed(
                envelope=order.envelope.caused(InstanceMoveFailed, self.producer),
                instance_id=iid,
                migration_id=order.migration_id,
                step=order.step,
                host=self.host,
                fault=Fault(code=500, message=f"{order.migration_type} of instance {iid} failed at {order.step} on {self.host}: {exc}", created=utcnow()),
            )
            return [Outbound.event(iid, failed)]
        power = PowerState.RUNNING if order.step == "live" else self.driver.power_state(iid)
        progressed = InstanceMoveProgressed(
            envelope=order.envelope.caused(InstanceMoveProgressed, self.producer),
            instance_id=iid,
            migration_id=order.migration_id,
            step=order.step,
            host=self.host,
            power_state=int(power),
        )
        return [Outbound.event(iid, progressed)]

    def _guest_sizes(self, instance_id: str) -> tuple[int, int] | None:
        for guest in self.driver.list_guests():
            if guest.instance_id == instance_id:
                return guest.vcpus, guest.memory_mb
        return None

    def _power_off_and_wait(self, instance_id: str) -> None:
        """Nova's clean shutdown before a move: ask the guest, then pull it off after `shutdown_timeout`."""
        self.driver.power_off(instance_id, clean=True)
        deadline = time.monotonic() + self.shutdown_timeout
        while self.driver.power_state(instance_id) in (PowerState.RUNNING, PowerState.PAUSED):
            if time.monotonic() > deadline:
                self.driver.power_off(instance_id, clean=False)
                return
            time.sleep(0.1)

    def _delete(self, order: InstanceDeleteOrdered) -> list[Outbound]:
        self.driver.destroy(order.instance_id)
        deleted = InstanceDeleted(
            envelope=order.envelope.caused(InstanceDeleted, self.producer),
            instance_id=order.instance_id,
            host=self.host,
        )
        outs = [Outbound.event(order.instance_id, deleted)]
        if order.claim_id:
            outs.append(self._release(order, order.claim_id))
        return outs

    def _release(self, cause: Any, claim_id: str) -> Outbound:
        return orders.claim_released(cause.instance_id, cause.envelope, self.producer, self.host, claim_id, occurred_at=None)

    # --- the service -----------------------------------------------------

    def _every(self, interval: float, make: Any) -> None:
        while not self._stop.wait(interval):
            try:
                self.log.send(Outbound.event(self.host, make()))
            except Exception:  # a failed report must not end the reporting loop
                log.exception("%s: report failed", self.host)

    def sync_power_states(self) -> list[Outbound]:
        """Nova's _sync_power_states: reconcile the log's instances with the hypervisor's guests."""
        outs = []
        for action in reconcile(self.desired, self.driver.list_guests(), self.orphan_policy):
            match action:
                case ReportPower():
                    outs.append(Outbound.event(action.instance_id, InstancePowerStateChanged(
                        envelope=Envelope.new(InstancePowerStateChanged, self.producer),
                        instance_id=action.instance_id, host=self.host, transition="SYNC", power_state=action.power_state,
                    )))
                case HandleOrphan():
                    log.warning("%s: guest of instance %s runs but the log does not know it; policy %s", self.host, action.instance_id, action.policy)
                    if action.policy == "reap":
                        self.driver.destroy(action.instance_id)
                    elif action.policy == "shutdown":
                        self.driver.power_off(action.instance_id, clean=False)
        return outs

    def _read_own_log(self, prefix: str) -> None:
        """The desired set: this host's command topic folded from its beginning (its own log only)."""
        consumer = Consumer(consumer_config(self.bootstrap, f"{prefix}-agent-{self.host}-replay"))
        try:
            for msg in read_all(consumer, [f"{prefix}.{topics.AGENT_COMMANDS}.{self.host}"]):
                try:
                    self.desired = fold_desired(self.desired, decode(msg.value()))
                except DecodeError:
                    continue  # dead-lettered by the command loop when it reaches it
        finally:
            consumer.close()

    def _sync_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._sync_now()

    def _sync_now(self) -> None:
        """Reconcile and report; also the driver's reconnect hook (events were lost while it was disconnected)."""
        try:
            with self._commanding:  # sent before a later step's report, taken after an earlier one's
                for out in self.sync_power_states():
                    self.log.send(out)
        except Exception:  # a failed sync must not end the syncing loop, nor the driver's reconnecting
            log.exception("%s: power state sync failed", self.host)

    def run(self, prefix: str) -> None:
        """Serve until stop(): reconcile, report, heartbeat, and obey commands."""
        ensure_topics(self.bootstrap, topics.agent_topic_specs(prefix, self.host))
        self.driver.set_event_sink(self.on_lifecycle)
        self._read_own_log(prefix)
        self.log.append([
            Outbound.event(self.host, self.capacity_report()), Outbound.event(self.host, self.heartbeat()), *self.sync_power_states(),
        ])
        # Only now: a reconcile before the desired set is read would reap every guest.
        self.driver.set_reconnect_hook(self._sync_now)
        for interval, make in ((self.heartbeat_interval, self.heartbeat), (self.capacity_interval, self.capacity_report)):
            threading.Thread(target=self._every, args=(interval, make), daemon=True).start()
        threading.Thread(target=self._sync_every, args=(self.capacity_interval,), daemon=True).start()
        consumer = Consumer(consumer_config(self.bootstrap, f"{prefix}-agent-{self.host}"))
        self._loop = ConsumeLoop(self.log, consumer, self.producer, self.handle)
        self._loop.subscribe([f"{prefix}.{topics.AGENT_COMMANDS}.{self.host}"])
        log.info("agent %s serving", self.host)
        try:
            while not self._stop.is_set():
                self._loop.run_once()
        finally:
            self._loop.close()

    def stop(self) -> None:
        self._stop.set()
