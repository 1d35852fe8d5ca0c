"""An in-memory hypervisor host that keeps the driver contract, for tests and the local stack.

Lifecycle events are delivered by a small worker thread, as libvirt delivers
them from its event loop: a consumer that only works when callbacks run on its
own thread, or before the call returns, fails against the fake too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Set
from dataclasses import replace

from novalog.agent.driver import (
    DEFINED,
    STARTED,
    STOPPED,
    UNDEFINED,
    Driver,
    DriverError,
    EventSink,
    Guest,
    GuestSpec,
    LifecycleEvent,
    NodeInfo,
    PowerState,
    domain_name,
)

log = logging.getLogger(__name__)

_STOP = object()


class FakeDriver(Driver):
    """One simulated host in memory; spawns of the instance ids in `fail_spawn_for` raise DriverError."""

    def __init__(self, node: NodeInfo, fail_spawn_for: Set[str] = frozenset()) -> None:
        self._node = node
        self._fail_spawn_for = frozenset(fail_spawn_for)
        self._guests: dict[str, Guest] = {}
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

    def spawn(self, spec: GuestSpec) -> None:
        self._require_open()
        if spec.instance_id in self._fail_spawn_for:
            raise DriverError(
                f"spawn of instance {spec.instance_id} on {self._node.hypervisor_hostname} failed: "
                "the fake driver was told to fail it"
            )
        with self._lock:
            if spec.instance_id in self._guests:
                return
            guest = Guest(
                instance_id=spec.instance_id,
                domain_name=domain_name(spec.instance_id),
                power_state=PowerState.SHUTDOWN,
                vcpus=spec.vcpus,
                memory_mb=spec.memory_mb,
            )
            self._guests[spec.instance_id] = guest
            self._emit(spec.instance_id, DEFINED, PowerState.SHUTDOWN)
            self._guests[spec.instance_id] = replace(guest, power_state=PowerState.RUNNING)
            self._emit(spec.instance_id, STARTED, PowerState.RUNNING)

    def destroy(self, instance_id: str) -> bool:
        self._require_open()
        with self._lock:
            guest = self._guests.pop(instance_id, None)
            if guest is None:
                return False
            if guest.power_state != PowerState.SHUTDOWN:
                self._emit(instance_id, STOPPED, PowerState.SHUTDOWN)
            self._emit(instance_id, UNDEFINED, PowerState.NOSTATE)
            return True

    def set_event_sink(self, callback: EventSink) -> None:
        self._sink = callback

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

    def _emit(self, instance_id: str, transition: str, power_state: PowerState) -> None:
        # Called under the lock, so the queue holds each guest's events in the order of its changes.
        self._outbox.put(LifecycleEvent(instance_id, transition, power_state))

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
