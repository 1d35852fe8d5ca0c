"""The driver over libvirt: the only module of novalog that imports libvirt.

One `LibvirtDriver` is one connection, hence one host (`test:///<node.xml>` is
a fresh simulated host per connection). Lifecycle events come from libvirt's
default event loop, run once per process on a daemon thread; the callbacks run
on that thread and go straight to the event sink.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import libvirt

from novalog.agent.driver import (
    CRASHED,
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
from novalog.agent.node import METADATA_NS, domain_type_for, domain_xml, instance_id_from_metadata

__all__ = ["LibvirtDriver", "domain_xml", "lifecycle_transition", "power_state_of"]

log = logging.getLogger(__name__)

# libvirt's domain states (virDomainState) as Nova reads them (nova/virt/libvirt/guest.py).
_POWER_STATES: dict[int, PowerState] = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}

# Managed-save images and snapshot metadata would otherwise make undefine fail.
_UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA

_event_loop_lock = threading.Lock()
_event_loop_started = False


def power_state_of(libvirt_state: int) -> PowerState:
    """Nova's power state for a libvirt domain state; NOSTATE for one libvirt adds later."""
    return _POWER_STATES.get(libvirt_state, PowerState.NOSTATE)


def lifecycle_transition(event: int, detail: int) -> tuple[str, PowerState] | None:
    """The transition and resulting power state a libvirt lifecycle event reports, or None to ignore it.

    SHUTDOWN (a guest shutting itself down) is ignored because STOPPED follows
    it once the guest is really off.
    """
    if event == libvirt.VIR_DOMAIN_EVENT_DEFINED:
        # A newly added domain is off; an updated one keeps whatever state it had.
        added = detail == libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED
        return DEFINED, PowerState.SHUTDOWN if added else PowerState.NOSTATE
    if event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
        return UNDEFINED, PowerState.NOSTATE
    if event == libvirt.VIR_DOMAIN_EVENT_STARTED:
        return STARTED, PowerState.RUNNING
    if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
        return SUSPENDED, PowerState.PAUSED
    if event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
        return RESUMED, PowerState.RUNNING
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED:
            return CRASHED, PowerState.CRASHED
        return STOPPED, PowerState.SHUTDOWN
    if event == libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return SUSPENDED, PowerState.SUSPENDED
    if event == libvirt.VIR_DOMAIN_EVENT_CRASHED:
        return CRASHED, PowerState.CRASHED
    return None


def _ignore_error(_ctx: object, _error: object) -> None:
    """libvirt's default handler prints every error to stderr; ours become DriverErrors instead."""


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError:
            log.exception("libvirt event loop iteration failed")
            time.sleep(0.1)  # don't spin if the failure persists


def _ensure_event_loop() -> None:
    """Register libvirt's default event loop and start its thread, once per process.

    It must be registered before a connection registers event callbacks, or
    libvirt refuses them ("could not initialize domain event timer").
    """
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=_run_event_loop, name="libvirt-event-loop", daemon=True).start()
        _event_loop_started = True


def _error_message(error: libvirt.libvirtError) -> str:
    return error.get_error_message() or str(error)


def _is_gone(error: libvirt.libvirtError) -> bool:
    return error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


class LibvirtDriver(Driver):
    """The host behind libvirt URI `uri`, reported under the hostname `node_name`."""

    def __init__(self, uri: str, node_name: str) -> None:
        _ensure_event_loop()
        self._uri = uri
        self._node_name = node_name
        self._domain_type = domain_type_for(uri)
        self._sink: EventSink | None = None
        self._closed = False
        self._lock = threading.Lock()
        # Domain UUID -> instance id (None: not ours). Events often arrive after the
        # domain is gone, when its metadata can no longer be read.
        self._instance_ids: dict[str, str | None] = {}
        try:
            self._conn = libvirt.open(uri)
        except libvirt.libvirtError as error:
            raise DriverError(f"cannot connect to hypervisor {uri} for {node_name}: {_error_message(error)}") from error
        try:
            self._callback_id = self._conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None
            )
            # Learn the existing guests now, while their metadata is readable.
            for _ in self._our_domains():
                pass
        except libvirt.libvirtError as error:
            self._conn.close()
            raise DriverError(f"cannot watch hypervisor {uri} for {node_name}: {_error_message(error)}") from error

    def node_info(self) -> NodeInfo:
        with self._failing("node_info"):
            model, memory_mb, cpus, *_ = self._conn.getInfo()
            return NodeInfo(
                hypervisor_type=self._conn.getType(),
                hypervisor_version=self._conn.getVersion(),
                hypervisor_hostname=self._node_name,
                cpu_model=model,
                vcpus=cpus,
                memory_mb=memory_mb,
            )

    def list_guests(self) -> list[Guest]:
        guests = []
        with self._failing("list_guests"):
            for domain, instance_id in self._our_domains():
                try:
                    state, max_memory_kib, _memory, vcpus, _cpu_time = domain.info()
                except libvirt.libvirtError as error:
                    if _is_gone(error):  # undefined between listing and asking
                        continue
                    raise
                guests.append(Guest(instance_id, domain.name(), power_state_of(state), vcpus, max_memory_kib // 1024))
        return guests

    def spawn(self, spec: GuestSpec) -> None:
        with self._failing(f"spawn of instance {spec.instance_id}"):
            if self._find(spec.instance_id) is not None:
                return
            try:
                domain = self._conn.defineXML(domain_xml(spec, self._domain_type))
            except libvirt.libvirtError:
                if self._find(spec.instance_id) is not None:  # a concurrent spawn of the same instance won
                    return
                raise
            self._remember(domain.UUIDString(), spec.instance_id)
            try:
                domain.create()
            except libvirt.libvirtError:
                # Leave nothing half-built behind: a defined guest would make a retry a no-op.
                self._undefine_quietly(domain)
                raise

    def destroy(self, instance_id: str) -> bool:
        with self._failing(f"destroy of instance {instance_id}"):
            domain = self._find(instance_id)
            if domain is None:
                return False
            try:
                if domain.isActive():
                    domain.destroy()
                if domain.isPersistent():
                    domain.undefineFlags(_UNDEFINE_FLAGS)
            except libvirt.libvirtError as error:
                if not _is_gone(error):  # someone else removed it meanwhile
                    raise
            return True

    def set_event_sink(self, callback: EventSink) -> None:
        self._sink = callback

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._conn.domainEventDeregisterAny(self._callback_id)
        except libvirt.libvirtError:
            log.warning("could not deregister lifecycle events of %s", self._uri, exc_info=True)
        try:
            self._conn.close()
        except libvirt.libvirtError:
            log.warning("could not close connection to %s", self._uri, exc_info=True)

    @contextmanager
    def _failing(self, action: str) -> Iterator[None]:
        """Turn libvirt's errors (and use after close) into DriverErrors naming the action and host."""
        if self._closed:
            raise DriverError(f"{action} on {self._node_name}: the driver is closed")
        try:
            yield
        except libvirt.libvirtError as error:
            raise DriverError(f"{action} on {self._node_name} failed: {_error_message(error)}") from error

    def _our_domains(self) -> Iterator[tuple[libvirt.virDomain, str]]:
        """Every domain of the host that carries our metadata, with its instance id."""
        for domain in self._conn.listAllDomains(0):
            try:
                instance_id = self._read_instance_id(domain)
            except libvirt.libvirtError as error:
                if _is_gone(error):
                    continue
                raise
            self._remember(domain.UUIDString(), instance_id)
            if instance_id is not None:
                yield domain, instance_id

    def _find(self, instance_id: str) -> libvirt.virDomain | None:
        for domain, found in self._our_domains():
            if found == instance_id:
                return domain
        return None

    @staticmethod
    def _read_instance_id(domain: libvirt.virDomain) -> str | None:
        try:
            element = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return None
            raise
        return instance_id_from_metadata(element)

    def _remember(self, uuid: str, instance_id: str | None) -> None:
        with self._lock:
            self._instance_ids[uuid] = instance_id

    def _instance_id_for_event(self, domain: libvirt.virDomain, transition: str) -> str | None:
        """Whose guest an event is about: the metadata if still readable, else what we learnt before."""
        uuid = domain.UUIDString()
        with self._lock:
            known = uuid in self._instance_ids
            instance_id = self._instance_ids.get(uuid)
        # A definition may have changed the metadata; otherwise what we learnt still holds.
        if not known or transition == DEFINED:
            try:
                instance_id = self._read_instance_id(domain)
                self._remember(uuid, instance_id)
            except libvirt.libvirtError:
                pass  # gone already: keep what we knew
        if transition == UNDEFINED:
            with self._lock:
                self._instance_ids.pop(uuid, None)
        return instance_id

    def _on_lifecycle(
        self, _conn: libvirt.virConnect, domain: libvirt.virDomain, event: int, detail: int, _opaque: object
    ) -> None:
        if self._closed:
            return
        mapped = lifecycle_transition(event, detail)
        if mapped is None:
            return
        transition, power_state = mapped
        instance_id = self._instance_id_for_event(domain, transition)
        sink = self._sink
        if instance_id is None or sink is None:
            return
        try:
            sink(LifecycleEvent(instance_id, transition, power_state))
        except Exception:
            # An exception escaping into libvirt's event loop would only be printed; log it instead.
            log.exception("event sink failed on %s %s", transition, instance_id)

    def _undefine_quietly(self, domain: libvirt.virDomain) -> None:
        try:
            domain.undefineFlags(_UNDEFINE_FLAGS)
        except libvirt.libvirtError:
            log.warning("could not undefine %s after a failed start", domain.name(), exc_info=True)
