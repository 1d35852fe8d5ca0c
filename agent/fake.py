"""An in-memory hypervisor host that keeps the driver contract, for tests and the local stack.

Lifecycle events are delivered by a small worker thread, as libvirt delivers
them from its event loop: a consumer that only works when callbacks run on its
own thread, or before the call returns, fails against the fake too.

The power actions emit exactly the events libvirt's test driver emits for them
(see `Driver`); like it, the fake's soft reboot cannot be reported as such and
is a hard one (STOPPED, STARTED).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager
from dataclasses import replace

from novalog.agent.disks import write_once
from novalog.agent.driver import (
    DEFINED,
    RESUMED,
    STARTED,
    STOPPED,
    SUSPENDED,
    UNDEFINED,
    Driver,
    DriverError,
    EventSink,
    Guest,
    GuestSpec,
    LifecycleEvent,
    NodeInfo,
    PowerState,
)
from novalog.events.console import FAKE_CONSOLE

log = logging.getLogger(__name__)

_STOP = object()

# Running or paused: the guest exists in the hypervisor's memory (libvirt's "active").
_ACTIVE = frozenset({PowerState.RUNNING, PowerState.PAUSED})


# The fake hosts of this process by hostname: live migration moves guests between them.
_HOSTS: weakref.WeakValueDictionary[str, FakeDriver] = weakref.WeakValueDictionary()


class FakeDriver(Driver):
    """One simulated host in memory; spawns of the instance ids in `fail_spawn_for` (or images in `fail_spawn_images`) raise DriverError.

    Fake hosts of one process can live-migrate guests to each other.
    """

    def __init__(self, node: NodeInfo, fail_spawn_for: Set[str] = frozenset(), fail_spawn_images: Set[str] = frozenset()) -> None:
        _HOSTS[node.hypervisor_hostname] = self
        self._node = node
        self._fail_spawn_for = frozenset(fail_spawn_for)
        self._fail_spawn_images = frozenset(fail_spawn_images)
        self._guests: dict[str, Guest] = {}
        # What each guest boots (the spec it was made or rebuilt from), and the guests booted from a rescue image.
        self._specs: dict[str, GuestSpec] = {}
        self._rescued: set[str] = set()
        self._lock = threading.Lock()
        self._sink: EventSink | None = None
        self._closed = False
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._worker = threading.Thread(
            target=self._deliver, name=f"fake-driver-events-{node.hypervisor_hostname}", daemon=True
        )
        self._worker.start()

    def node_info(self) -> NodeInfo:
        self._require_open()
        return self._node

    def list_guests(self) -> list[Guest]:
        self._require_open()
        with self._lock:
            return list(self._guests.values())

    def spawn(self, spec: GuestSpec, *, start: bool = True) -> None:
        self._require_open()
        if spec.instance_id in self._fail_spawn_for or spec.image_ref in self._fail_spawn_images:
            raise DriverError(
                f"spawn of instance {spec.instance_id} on {self._node.hypervisor_hostname} failed: "
                "the fake driver was told to fail it"
            )
        with self._lock:
            if spec.instance_id in self._guests:
                return
            guest = Guest(
                instance_id=spec.instance_id,
                domain_name=spec.guest_name,
                power_state=PowerState.SHUTDOWN,
                vcpus=spec.vcpus,
                memory_mb=spec.memory_mb,
            )
            self._guests[spec.instance_id] = guest
            self._specs[spec.instance_id] = spec
            self._emit(spec.instance_id, DEFINED, PowerState.SHUTDOWN)
            if start:
                self._set(spec.instance_id, STARTED, PowerState.RUNNING)

    def destroy(self, instance_id: str) -> bool:
        self._require_open()
        with self._lock:
            guest = self._guests.pop(instance_id, None)
            self._specs.pop(instance_id, None)
            self._rescued.discard(instance_id)
            if guest is None:
                return False
            if guest.power_state in _ACTIVE:
                self._emit(instance_id, STOPPED, PowerState.SHUTDOWN)
            self._emit(instance_id, UNDEFINED, PowerState.NOSTATE)
            return True

    def console_output(self, instance_id: str) -> str:
        """Nova's fake driver's fixed console: nothing runs here to write one."""
        self._require_open()
        with self._lock:
            if instance_id not in self._guests:
                raise DriverError(f"console output of instance {instance_id} on {self._node.hypervisor_hostname} failed: no such instance")
        return FAKE_CONSOLE

    def power_off(self, instance_id: str, clean: bool = True) -> None:
        # Clean or hard, the fake's guest is off at once, as on the test driver.
        with self._acting("power_off", instance_id) as power:
            if power in _ACTIVE:
                self._set(instance_id, STOPPED, PowerState.SHUTDOWN)

    def power_on(self, instance_id: str) -> None:
        with self._acting("power_on", instance_id) as power:
            if power not in _ACTIVE:  # off, or suspended: starting restores the saved memory
                self._set(instance_id, STARTED, PowerState.RUNNING)

    def reboot(self, instance_id: str, hard: bool) -> None:
        # Soft or hard alike: stopped, then started, as LibvirtDriver's soft reboot (Nova's) reports it.
        with self._acting("reboot", instance_id) as power:
            if power in _ACTIVE:
                self._set(instance_id, STOPPED, PowerState.SHUTDOWN)
            # A suspended guest's saved memory is discarded: it boots afresh.
            self._set(instance_id, STARTED, PowerState.RUNNING)

    def pause(self, instance_id: str) -> None:
        with self._acting("pause", instance_id) as power:
            if power == PowerState.PAUSED:
                return
            if power != PowerState.RUNNING:
                raise self._refusal("pause", instance_id, "the guest is not running")
            self._set(instance_id, SUSPENDED, PowerState.PAUSED)

    def unpause(self, instance_id: str) -> None:
        with self._acting("unpause", instance_id) as power:
            if power == PowerState.RUNNING:
                return
            if power != PowerState.PAUSED:
                raise self._refusal("unpause", instance_id, "the guest is not paused")
            self._set(instance_id, RESUMED, PowerState.RUNNING)

    def suspend(self, instance_id: str) -> None:
        with self._acting("suspend", instance_id) as power:
            if power == PowerState.SUSPENDED:
                return
            if power not in _ACTIVE:
                raise self._refusal("suspend", instance_id, "the guest is not running")
            self._set(instance_id, SUSPENDED, PowerState.SUSPENDED)

    def resume(self, instance_id: str) -> None:
        with self._acting("resume", instance_id) as power:
            if power in _ACTIVE:
                return
            if power != PowerState.SUSPENDED:
                raise self._refusal("resume", instance_id, "the guest is not suspended: no saved memory to restore")
            self._set(instance_id, STARTED, PowerState.RUNNING)

    def resize(self, spec: GuestSpec) -> None:
        with self._acting("resize", spec.instance_id) as power:
            if power in _ACTIVE:
                raise self._refusal("resize", spec.instance_id, "the guest is running; power it off first")
            guest = self._guests[spec.instance_id]
            self._guests[spec.instance_id] = replace(guest, vcpus=spec.vcpus, memory_mb=spec.memory_mb)
            self._emit(spec.instance_id, DEFINED, PowerState.NOSTATE)

    def rebuild(self, spec: GuestSpec, *, start: bool = True) -> bool:
        if spec.instance_id not in self.guest_ids():
            self.spawn(spec, start=start)
            return True
        with self._acting("rebuild", spec.instance_id) as power:
            made = self._specs.get(spec.instance_id)
            if made is not None and made.rebuild_id == spec.rebuild_id:
                return False
            if power in _ACTIVE:
                self._set(spec.instance_id, STOPPED, PowerState.SHUTDOWN)
            self._specs[spec.instance_id] = spec
            self._emit(spec.instance_id, DEFINED, PowerState.SHUTDOWN)
            if start:
                self._set(spec.instance_id, STARTED, PowerState.RUNNING)
            return True

    def snapshot(self, instance_id: str, dest: str, disk_format: str) -> None:
        """The fake has no disk: the snapshot holds what it knows of the guest (its image, name and sizes), as JSON."""
        with self._acting("snapshot", instance_id):
            spec = self._specs.get(instance_id)
            guest = self._guests[instance_id]
            data = {"instance_id": instance_id, "image_ref": spec and spec.image_ref, "vcpus": guest.vcpus,
                    "memory_mb": guest.memory_mb, "disk_gb": spec and spec.disk_gb, "disk_format": disk_format}
        write_once(dest, json.dumps(data, sort_keys=True).encode())

    def rescue(self, spec: GuestSpec) -> None:
        with self._acting("rescue", spec.instance_id) as power:
            if spec.instance_id in self._rescued:
                return
            if power in _ACTIVE:
                self._set(spec.instance_id, STOPPED, PowerState.SHUTDOWN)
            self._rescued.add(spec.instance_id)
            self._set(spec.instance_id, STARTED, PowerState.RUNNING)

    def unrescue(self, spec: GuestSpec) -> None:
        with self._acting("unrescue", spec.instance_id) as power:
            if spec.instance_id not in self._rescued:
                return
            if power in _ACTIVE:
                self._set(spec.instance_id, STOPPED, PowerState.SHUTDOWN)
            self._rescued.discard(spec.instance_id)
            self._set(spec.instance_id, STARTED, PowerState.RUNNING)

    def guest_ids(self) -> set[str]:
        with self._lock:
            return set(self._guests)

    def booted_from(self, instance_id: str) -> tuple[str, bool] | None:
        """The image the guest boots and whether from a rescue image (None for no guest): what a test asks the fake."""
        with self._lock:
            spec = self._specs.get(instance_id)
            return None if spec is None else (spec.image_ref, instance_id in self._rescued)

    def live_migrate(self, instance_id: str, dest_host: str) -> None:
        dest = _HOSTS.get(dest_host)
        if dest is None or dest is self or dest._closed:
            raise self._refusal("live migration", instance_id, f"no other fake host named {dest_host} in this process")
        with self._acting("live migration", instance_id) as power:
            if power not in _ACTIVE:
                raise self._refusal("live migration", instance_id, "the guest is not running")
            guest = self._guests.pop(instance_id)
            spec = self._specs.pop(instance_id, None)
            self._emit(instance_id, STOPPED, PowerState.SHUTDOWN)
            self._emit(instance_id, UNDEFINED, PowerState.NOSTATE)
        dest._arrive(guest, spec)

    def _arrive(self, guest: Guest, spec: GuestSpec | None) -> None:
        """A live-migrated guest lands here, in the power state it left with."""
        with self._lock:
            if spec is not None:
                self._specs[guest.instance_id] = spec
            self._guests[guest.instance_id] = replace(guest, power_state=PowerState.RUNNING)
            self._emit(guest.instance_id, DEFINED, PowerState.SHUTDOWN)
            self._emit(guest.instance_id, STARTED, PowerState.RUNNING)
            if guest.power_state == PowerState.PAUSED:
                self._set(guest.instance_id, SUSPENDED, PowerState.PAUSED)

    def power_state(self, instance_id: str) -> int:
        self._require_open()
        with self._lock:
            guest = self._guests.get(instance_id)
            return PowerState.NOSTATE if guest is None else guest.power_state

    def set_event_sink(self, callback: EventSink) -> None:
        self._sink = callback

    def set_reconnect_hook(self, callback: Callable[[], None]) -> None:
        """Nothing to do: the fake never loses its hypervisor, so it never calls the hook."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._outbox.put(_STOP)
        if threading.current_thread() is not self._worker:
            self._worker.join(timeout=5)

    def _require_open(self) -> None:
        if self._closed:
            raise DriverError(f"the fake driver of {self._node.hypervisor_hostname} is closed")

    @contextmanager
    def _acting(self, action: str, instance_id: str) -> Iterator[int]:
        """Hold the lock for one action on a known guest, yielding its power state."""
        if self._closed:
            raise DriverError(f"{action} of instance {instance_id} on {self._node.hypervisor_hostname}: the fake driver is closed")
        with self._lock:
            guest = self._guests.get(instance_id)
            if guest is None:
                raise self._refusal(action, instance_id, "no such instance")
            yield guest.power_state

    def _refusal(self, action: str, instance_id: str, why: str) -> DriverError:
        return DriverError(f"{action} of instance {instance_id} on {self._node.hypervisor_hostname} failed: {why}")

    def _set(self, instance_id: str, transition: str, power_state: PowerState) -> None:
        # Called under the lock: change the guest's power state and report it.
        self._guests[instance_id] = replace(self._guests[instance_id], power_state=power_state)
        self._emit(instance_id, transition, power_state)

    def _emit(self, instance_id: str, transition: str, power_state: PowerState) -> None:
        # Called under the lock, so the queue holds each guest's events in the order of its changes.
        guest = self._guests.get(instance_id)
        self._outbox.put(LifecycleEvent(instance_id, transition, power_state, guest.domain_name if guest is not None else None))

    def _deliver(self) -> None:
        while (item := self._outbox.get()) is not _STOP:
            sink = self._sink
            if sink is None or self._closed:
                continue
            try:
                sink(item)  # type: ignore[arg-type]
            except Exception:
                # A failing consumer must not stop the delivery of later events, as with libvirt.
                log.exception("event sink failed on %s", item)
