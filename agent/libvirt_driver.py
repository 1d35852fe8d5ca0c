"""The driver over libvirt: the only module of novalog that imports libvirt.

One `LibvirtDriver` is one host (`test:///<node.xml>` is a fresh simulated
host per connection; on `qemu:///system` several hosts may share libvirtd,
each seeing only the guests tagged with its name). Lifecycle events come from
libvirt's default event loop, run once per process on a daemon thread; the
callbacks run on that thread and go straight to the event sink. When the
connection drops (libvirtd restarting: its guests keep running), the driver
reconnects with backoff, registers its callbacks again and calls the
reconnect hook so that its owner reconciles.

What libvirt's test driver does with the power actions (libvirt 9.0, measured;
every call takes effect before it returns, its events follow within a
millisecond or two; details in brackets):

* `shutdown()` -> STOPPED(shutdown); `destroy()` -> STOPPED(destroyed);
  `create()` -> STARTED(booted); `suspend()` -> SUSPENDED(paused);
  `resume()` -> RESUMED(unpaused). Repeating one where it has nothing to do
  (create a running domain, suspend a paused one...) is an error, never a no-op.
* `managedSave()` -> STOPPED(saved), state SHUTOFF(saved) with
  `hasManagedSaveImage()` 1; `create()` then restores it with STARTED(booted),
  not STARTED(restored), and always running (it ignores a save of a paused
  domain and the SAVE_PAUSED flag). `managedSaveRemove()` emits nothing.
* `reboot()` (any flag) and `reset()` succeed and do nothing observable: no
  lifecycle event, no VIR_DOMAIN_EVENT_ID_REBOOT event, the domain id and
  state unchanged. A soft reboot is therefore Nova's: `shutdown()`, then
  `create()` once the guest is off.

What QEMU (TCG, libvirt 9.0, measured) adds: calls return before the guest
gets there. `create()` -> RESUMED(unpaused) then STARTED(booted); a restore
-> STARTED(restored) then RESUMED; `managedSave()` -> SUSPENDED(paused) then
STOPPED(saved); `shutdown()` -> SHUTDOWN(guest), STOPPED(shutdown) 1-2 s later,
if the guest heard it: one still booting does not (see `_await_shutdown`).
The RESUMED and SUSPENDED that are only steps of a start or a save are not
reported (see `_reports_a_change`), so both hypervisors report one sequence.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import libvirt

from novalog.agent.disks import (
    DiskError,
    cache_image_files,
    convert_disk,
    make_overlay,
    make_rescue_overlay,
    read_console,
    remove_instance_files,
    write_once,
)
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
    domain_name,
)
from novalog.agent.node import (
    METADATA_NS,
    GuestImage,
    domain_type_for,
    domain_xml,
    instance_id_from_metadata,
    metadata_value,
    resized_domain_xml,
    with_uuid,
)
from novalog.events.console import FAKE_CONSOLE

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

# How often a guest asked to shut down is looked at, and how a lost connection is retried.
_SHUTDOWN_POLL = 0.2
_RECONNECT_BACKOFF = (0.5, 10.0)  # first delay, longest delay; doubling in between

# Running (or blocked): a guest that can shut itself down or reboot when asked.
_RUNNING_STATES = frozenset({libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED})

_event_loop_lock = threading.Lock()
_event_loop_started = False


def power_state_of(libvirt_state: int) -> PowerState:
    """Nova's power state for a libvirt domain state; NOSTATE for one libvirt adds later."""
    return _POWER_STATES.get(libvirt_state, PowerState.NOSTATE)


def lifecycle_transition(event: int, detail: int) -> tuple[str, PowerState] | None:
    """The transition and resulting power state a libvirt lifecycle event reports, or None to ignore it.

    SHUTDOWN (a guest shutting itself down) is ignored because STOPPED follows
    it once the guest is really off. STOPPED(saved) is Nova's suspend (a
    managed save: the guest is off, its memory saved), so it reports
    SUSPENDED; any STARTED, a restore included, reports RUNNING.
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
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            return SUSPENDED, PowerState.SUSPENDED
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


def _close_quietly(conn: libvirt.virConnect) -> None:
    try:
        conn.close()
    except libvirt.libvirtError:
        log.debug("could not close a libvirt connection", exc_info=True)


@dataclass(frozen=True, slots=True)
class ShutdownPolicy:
    """Nova's clean shutdown: ask again every `retry_interval` seconds, pull the guest off hard after `timeout`."""

    timeout: float = 60.0  # Nova's shutdown_timeout
    retry_interval: float = 10.0  # Nova's shutdown_retry_interval


class LibvirtDriver(Driver):
    """The host behind libvirt URI `uri`, reported under the hostname `node_name`.

    `vcpus` and `memory_mb`, when given, are the host's configured inventory
    and are reported instead of what libvirt says of the machine. A QEMU host
    boots every guest from `image`.
    """

    def __init__(
        self,
        uri: str,
        node_name: str,
        *,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        image: GuestImage | None = None,
        shutdown: ShutdownPolicy = ShutdownPolicy(),
    ) -> None:
        _ensure_event_loop()
        self._uri = uri
        self._node_name = node_name
        self._domain_type = domain_type_for(uri)
        self._inventory = (vcpus, memory_mb)
        self._image = image
        self._shutdown = shutdown
        self._sink: EventSink | None = None
        self._reconnect_hook: Callable[[], None] | None = None
        self._closed = False
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._reconnecting = False
        # Domain UUID -> instance id (None: not ours). Events often arrive after the
        # domain is gone, when its metadata can no longer be read.
        self._instance_ids: dict[str, str | None] = {}
        # Instance id -> the UUID of its guest on this host: guests are named after the instance name
        # template (or `novalog-<instance id>` before), so the instance id alone does not give the name.
        self._domains: dict[str, str] = {}
        # Domain UUID -> the power state its last event left it in (see _reports_a_change).
        self._powers: dict[str, PowerState] = {}
        # Domain UUID -> whether to start it again once off, for guests asked to shut down.
        self._shutdowns: dict[str, bool] = {}
        self._callback_ids: list[int] = []
        self._connect()

    def _connect(self) -> None:
        """Open the connection, watch its events and its closing, and learn the host's guests."""
        try:
            conn = libvirt.open(self._uri)
        except libvirt.libvirtError as error:
            raise DriverError(f"cannot connect to hypervisor {self._uri} for {self._node_name}: {_error_message(error)}") from error
        try:
            self._hypervisor_type = conn.getType()
            callback_ids = [
                conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None),
                conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._on_reboot, None),
            ]
            if self._domain_type != "test":  # keepalive is the remote protocol's; the test driver is in-process
                # A daemon that hangs rather than dies is noticed within 5 s x 3 unanswered probes.
                conn.setKeepAlive(5, 3)
                conn.registerCloseCallback(self._on_close, None)
            self._conn, self._callback_ids = conn, callback_ids
            # Learn the existing guests now, while their metadata is readable.
            for domain, _instance_id in self._our_domains():
                with self._lock:
                    self._powers[domain.UUIDString()] = self._power_state(domain, domain.state()[0])
        except libvirt.libvirtError as error:
            _close_quietly(conn)
            raise DriverError(f"cannot watch hypervisor {self._uri} for {self._node_name}: {_error_message(error)}") from error

    def node_info(self) -> NodeInfo:
        with self._failing("node_info"):
            model, memory_mb, cpus, *_ = self._conn.getInfo()
            vcpus, memory = self._inventory
            return NodeInfo(
                hypervisor_type=self._conn.getType(),
                hypervisor_version=self._conn.getVersion(),
                hypervisor_hostname=self._node_name,
                cpu_model=model,
                vcpus=vcpus if vcpus is not None else cpus,
                memory_mb=memory if memory is not None else memory_mb,
            )

    def list_guests(self) -> list[Guest]:
        guests = []
        with self._failing("list_guests"):
            for domain, instance_id in self._our_domains():
                try:
                    state, max_memory_kib, _memory, vcpus, _cpu_time = domain.info()
                    power_state = self._power_state(domain, state)
                except libvirt.libvirtError as error:
                    if _is_gone(error):  # undefined between listing and asking
                        continue
                    raise
                guests.append(Guest(instance_id, domain.name(), power_state, vcpus, max_memory_kib // 1024))
        return guests

    def spawn(self, spec: GuestSpec, *, start: bool = True) -> None:
        action = f"spawn of instance {spec.instance_id}"
        with self._failing(action):
            if self._find(spec.instance_id, spec.guest_name) is not None:
                return
            xml = self._domain_xml(action, spec)
            try:
                domain = self._conn.defineXML(xml)
            except libvirt.libvirtError:
                if self._find(spec.instance_id, spec.guest_name) is not None:  # a concurrent spawn of the same instance won
                    return
                self._remove_files(spec.instance_id)
                raise
            self._remember(domain.UUIDString(), spec.instance_id)
            if not start:  # left off, so no STARTED event: power_on boots it later
                return
            try:
                domain.create()
            except libvirt.libvirtError:
                # Leave nothing half-built behind: a defined guest would make a retry a no-op.
                self._undefine_quietly(domain)
                self._remove_files(spec.instance_id)
                raise

    def destroy(self, instance_id: str) -> bool:
        with self._failing(f"destroy of instance {instance_id}"):
            domain = self._find(instance_id)
            if domain is not None:
                self._cancel_restart(domain)
                try:
                    if domain.isActive():
                        domain.destroy()
                    if domain.isPersistent():
                        domain.undefineFlags(_UNDEFINE_FLAGS)
                except libvirt.libvirtError as error:
                    if not _is_gone(error):  # someone else removed it meanwhile
                        raise
            # Also what a destroy interrupted between undefine and here left behind.
            self._remove_files(instance_id)
            return domain is not None

    def console_output(self, instance_id: str) -> str:
        """What the instance's guest wrote on its serial console, across its boots (virtlogd's file).

        The test driver runs no guest and has no console: its guests answer
        the fixed FAKE_CONSOLE, as Nova's fake driver does, so the whole ask
        (API, log, agent, back) runs on it too.
        """
        action = f"console output of instance {instance_id}"
        with self._failing(action):
            self._require(action, instance_id)
        if self._domain_type == "test" or self._image is None:
            return FAKE_CONSOLE
        return read_console(self._image, self._node_name, instance_id)

    def power_off(self, instance_id: str, clean: bool = True) -> None:
        action = f"power_off of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if not domain.isActive():  # off already, or suspended (its saved memory is kept)
                return
            state, _reason = domain.state()
            # Only a running guest can answer ACPI; a paused or crashed one is pulled off.
            if clean and (state in _RUNNING_STATES or state == libvirt.VIR_DOMAIN_SHUTDOWN):
                self._shut_down(domain, then_start=False)
            else:
                self._cancel_restart(domain)
                self._unless_done(domain.destroy, lambda: not domain.isActive())

    def power_on(self, instance_id: str) -> None:
        action = f"power_on of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if domain.isActive():  # running, or paused
                return
            # Restores the managed-save image of a suspended guest, else boots it.
            self._unless_done(domain.create, domain.isActive)

    def reboot(self, instance_id: str, hard: bool) -> None:
        action = f"reboot of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if not hard and self._soft_reboot(domain):
                return
            self._cancel_restart(domain)
            # Nova's hard reboot: off if need be, any saved memory discarded, booted afresh.
            if domain.isActive():
                self._unless_done(domain.destroy, lambda: not domain.isActive())
            elif domain.hasManagedSaveImage(0):
                domain.managedSaveRemove(0)
            domain.create()

    def pause(self, instance_id: str) -> None:
        action = f"pause of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                return
            # The hypervisor refuses a guest that is not running.
            self._unless_done(domain.suspend, lambda: domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED)

    def unpause(self, instance_id: str) -> None:
        action = f"unpause of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if domain.state()[0] in _RUNNING_STATES:
                return
            # The hypervisor refuses a guest that is not paused.
            self._unless_done(domain.resume, lambda: domain.state()[0] in _RUNNING_STATES)

    def suspend(self, instance_id: str) -> None:
        action = f"suspend of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if not domain.isActive() and domain.hasManagedSaveImage(0):
                return
            # Nova's suspend is a managed save; SAVE_RUNNING makes the restore run even
            # if the guest was paused. The hypervisor refuses a guest that is off.
            self._unless_done(
                lambda: domain.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING),
                lambda: not domain.isActive() and domain.hasManagedSaveImage(0),
            )

    def resume(self, instance_id: str) -> None:
        action = f"resume of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            if domain.isActive():
                return
            if not domain.hasManagedSaveImage(0):
                raise DriverError(
                    f"{action} on {self._node_name} failed: the guest is not suspended: no saved memory to restore"
                )
            self._unless_done(domain.create, domain.isActive)

    def resize(self, spec: GuestSpec) -> None:
        action = f"resize of instance {spec.instance_id}"
        with self._failing(action):
            domain = self._require(action, spec.instance_id)
            if domain.isActive():
                raise DriverError(f"{action} on {self._node_name} failed: the guest is running; power it off first")
            # Redefining the same name and UUID updates the persistent definition in place.
            self._conn.defineXML(resized_domain_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), spec))

    def rebuild(self, spec: GuestSpec, *, start: bool = True) -> bool:
        action = f"rebuild of instance {spec.instance_id}"
        if self.power_state(spec.instance_id) == PowerState.NOSTATE:
            self.spawn(spec, start=start)  # the host lost the guest: made afresh all the same
            return True
        with self._failing(action):
            domain = self._require(action, spec.instance_id)
            if self._metadata(domain, "rebuild") == spec.rebuild_id:
                return False
            self._stop_for_redefinition(domain)
            self._remove_disk(spec.instance_id, rescue=False)  # made again from the new image below
            spec = replace(spec, domain_name=domain.name())  # the guest keeps its name, as its UUID
            self._conn.defineXML(with_uuid(self._domain_xml(action, spec), domain.UUIDString()))
            if start:
                self._unless_done(domain.create, domain.isActive)
            return True

    def snapshot(self, instance_id: str, dest: str, disk_format: str) -> None:
        action = f"snapshot of instance {instance_id}"
        with self._failing(action):
            domain = self._require(action, instance_id)
            try:
                if self._image is None or self._domain_type == "test":
                    # The test driver's guests have no disk: the snapshot holds what the hypervisor has, the definition.
                    write_once(dest, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
                else:
                    convert_disk(self._image.disk_path(self._node_name, instance_id), dest, disk_format)
            except (DiskError, OSError) as error:
                raise DriverError(f"{action} on {self._node_name} failed: {error}") from error

    def rescue(self, spec: GuestSpec) -> None:
        self._boot_in_place(f"rescue of instance {spec.instance_id}", spec, rescue=True)

    def unrescue(self, spec: GuestSpec) -> None:
        self._boot_in_place(f"unrescue of instance {spec.instance_id}", spec, rescue=False)

    def _boot_in_place(self, action: str, spec: GuestSpec, *, rescue: bool) -> None:
        """Define the guest again booting the rescue disk (its own second), or its own disk alone, and start it."""
        with self._failing(action):
            domain = self._require(action, spec.instance_id)
            if (self._metadata(domain, "rescue") == "1") == rescue:
                return  # there already (a redelivered order)
            self._stop_for_redefinition(domain)
            spec = replace(spec, rescue=rescue, rebuild_id=self._metadata(domain, "rebuild"), domain_name=domain.name())
            self._conn.defineXML(with_uuid(self._domain_xml(action, spec), domain.UUIDString()))
            if not rescue:
                self._remove_disk(spec.instance_id, rescue=True)
            self._unless_done(domain.create, domain.isActive)

    def _stop_for_redefinition(self, domain: libvirt.virDomain) -> None:
        """Off hard, with no saved memory: the guest is defined again and boots afresh."""
        self._cancel_restart(domain)
        if domain.isActive():
            self._unless_done(domain.destroy, lambda: not domain.isActive())
        if domain.hasManagedSaveImage(0):
            domain.managedSaveRemove(0)

    def _metadata(self, domain: libvirt.virDomain, tag: str) -> str | None:
        try:
            element = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return None
            raise
        return metadata_value(element, tag)

    def _remove_disk(self, instance_id: str, *, rescue: bool) -> None:
        if self._image is None or self._domain_type == "test":
            return
        path = self._image.rescue_disk_path(self._node_name, instance_id) if rescue else self._image.disk_path(self._node_name, instance_id)
        Path(path).unlink(missing_ok=True)

    def power_state(self, instance_id: str) -> int:
        with self._failing(f"power_state of instance {instance_id}"):
            domain = self._find(instance_id)
            if domain is None:
                return PowerState.NOSTATE
            try:
                return self._power_state(domain, domain.state()[0])
            except libvirt.libvirtError as error:
                if _is_gone(error):
                    return PowerState.NOSTATE
                raise

    def set_event_sink(self, callback: EventSink) -> None:
        self._sink = callback

    def set_reconnect_hook(self, callback: Callable[[], None]) -> None:
        self._reconnect_hook = callback

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._release(self._conn, self._callback_ids)

    def _release(self, conn: libvirt.virConnect, callback_ids: list[int]) -> None:
        """Stop watching a connection and close it; a connection already dead cannot say no."""
        for callback_id in callback_ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                log.debug("could not deregister domain events of %s", self._uri, exc_info=True)
        if self._domain_type != "test":
            try:
                conn.unregisterCloseCallback()
            except libvirt.libvirtError:
                log.debug("could not unregister the close callback of %s", self._uri, exc_info=True)
        _close_quietly(conn)

    # --- the connection dropping -------------------------------------------

    def _on_close(self, conn: libvirt.virConnect, reason: int, _opaque: object) -> None:
        """libvirt closed the connection (libvirtd stopped: EOF; or hung: keepalive): reconnect on another thread."""
        if self._closing.is_set() or conn is not self._conn:
            return
        with self._lock:
            if self._reconnecting:
                return
            self._reconnecting = True
        log.warning("%s: connection to %s closed (reason %d): reconnecting", self._node_name, self._uri, reason)
        threading.Thread(target=self._reconnect, name=f"libvirt-reconnect-{self._node_name}", daemon=True).start()

    def _reconnect(self) -> None:
        """Open a new connection, retrying with backoff until it works or the driver closes; then call the hook."""
        old, old_ids = self._conn, self._callback_ids
        delay, longest = _RECONNECT_BACKOFF
        try:
            while not self._closing.is_set():
                try:
                    self._connect()
                    break
                except DriverError as error:
                    log.info("%s: still no %s (%s); again in %.1f s", self._node_name, self._uri, error, delay)
                    self._closing.wait(delay)
                    delay = min(delay * 2, longest)
        finally:
            with self._lock:
                self._reconnecting = False
        self._release(old, old_ids)
        if self._closing.is_set():
            if self._conn is not old:  # closed while reconnecting: close() saw the old connection
                self._release(self._conn, self._callback_ids)
            return
        log.info("%s: reconnected to %s", self._node_name, self._uri)
        hook = self._reconnect_hook
        if hook is not None:
            try:
                hook()
            except Exception:
                log.exception("%s: reconnect hook failed", self._node_name)

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

    def _require(self, action: str, instance_id: str) -> libvirt.virDomain:
        domain = self._find(instance_id)
        if domain is None:
            raise DriverError(f"{action} on {self._node_name} failed: no such instance")
        return domain

    @staticmethod
    def _power_state(domain: libvirt.virDomain, state: int) -> PowerState:
        """Nova's power state of a domain in libvirt state `state`; off with a managed save is SUSPENDED."""
        if state == libvirt.VIR_DOMAIN_SHUTOFF and domain.hasManagedSaveImage(0):
            return PowerState.SUSPENDED
        return power_state_of(state)

    @staticmethod
    def _unless_done(call: Callable[[], object], done: Callable[[], object]) -> None:
        """Make the call; a refusal because someone else got the guest there meanwhile is success."""
        try:
            call()
        except libvirt.libvirtError:
            if not done():
                raise

    def _soft_reboot(self, domain: libvirt.virDomain) -> bool:
        """Nova's soft reboot of a running guest: shut down cleanly, started again once off; False when refused."""
        if domain.state()[0] not in _RUNNING_STATES:  # as Nova: only a running guest reboots softly
            return False
        try:
            self._shut_down(domain, then_start=True)
        except libvirt.libvirtError as error:
            if _is_gone(error):
                raise
            log.warning("soft reboot of %s refused (%s): rebooting hard", domain.name(), _error_message(error))
            return False
        return True

    # --- clean shutdown ------------------------------------------------------

    def _shut_down(self, domain: libvirt.virDomain, *, then_start: bool) -> None:
        """Ask the guest to shut down (ACPI) and return; `then_start`: start it again once off.

        The test driver stops it at once. A QEMU guest takes seconds, or does
        not hear the request while still booting: `_await_shutdown` asks
        again until it is off.
        """
        self._unless_done(domain.shutdown, lambda: not domain.isActive())
        if not domain.isActive():
            if then_start:
                domain.create()
            return
        uuid = domain.UUIDString()
        with self._lock:
            watched = uuid in self._shutdowns
            self._shutdowns[uuid] = then_start  # the latest request decides
        if not watched:
            threading.Thread(
                target=self._await_shutdown, args=(uuid, domain.ID()), name=f"shutdown-{domain.name()}", daemon=True
            ).start()

    def _cancel_restart(self, domain: libvirt.virDomain) -> None:
        """A later hard stop or removal wins over a pending soft reboot's start."""
        with self._lock:
            if domain.UUIDString() in self._shutdowns:
                self._shutdowns[domain.UUIDString()] = False

    def _await_shutdown(self, uuid: str, run_id: int) -> None:
        """Until the guest's run `run_id` ends, ask it again every retry interval; pull it off hard at the timeout.

        Then start it again if the last request said so (soft reboot), unless
        someone else started it meanwhile.
        """
        policy = self._shutdown
        deadline = time.monotonic() + policy.timeout
        asked = time.monotonic()
        then_start = False
        while not self._closing.wait(_SHUTDOWN_POLL):
            try:
                domain = self._conn.lookupByUUIDString(uuid)
                if not domain.isActive() or domain.ID() != run_id:
                    break
                now = time.monotonic()
                if now >= deadline:
                    log.warning("%s: %s ignored the shutdown for %.0f s: pulled off", self._node_name, domain.name(), policy.timeout)
                    self._unless_done(domain.destroy, lambda: not domain.isActive())
                    break
                if now - asked >= policy.retry_interval:
                    asked = now
                    self._unless_done(domain.shutdown, lambda: not domain.isActive())
            except libvirt.libvirtError as error:
                if _is_gone(error) or time.monotonic() >= deadline:
                    break
                log.debug("%s: waiting for the shutdown of %s: %s", self._node_name, uuid, _error_message(error))
        with self._lock:
            then_start = self._shutdowns.pop(uuid, False) and not self._closing.is_set()
        if then_start:
            try:
                domain = self._conn.lookupByUUIDString(uuid)
                self._unless_done(domain.create, domain.isActive)
            except libvirt.libvirtError:
                log.warning("%s: could not start %s again after its shutdown", self._node_name, uuid, exc_info=True)

    def _find(self, instance_id: str, name: str | None = None) -> libvirt.virDomain | None:
        """The instance's guest: the domain remembered for it, else the one named `name` (what a spawn names it)
        or `novalog-<instance id>` (what guests were named before they took the instance name), each checked
        against its metadata.

        Lookups, not a walk of every domain: reading each domain's metadata made
        a spawn cost time in proportion to the guests already on the host (about
        0.1 ms each on the test driver). What is remembered is complete: every
        guest of the host is learnt when the driver connects, and every one
        defined since by its DEFINED event or by the call that defined it.
        """
        with self._lock:
            uuid = self._domains.get(instance_id)
        lookups = [partial(self._conn.lookupByUUIDString, uuid)] if uuid is not None else []
        lookups += [partial(self._conn.lookupByName, n) for n in dict.fromkeys((name or domain_name(instance_id), domain_name(instance_id)))]
        for lookup in lookups:
            try:
                domain = lookup()
                found = self._read_instance_id(domain)
            except libvirt.libvirtError as error:
                if _is_gone(error):
                    continue
                raise
            self._remember(domain.UUIDString(), found)
            if found == instance_id:
                return domain
        return None

    def _domain_xml(self, action: str, spec: GuestSpec) -> str:
        """The guest's definition; on QEMU its overlay disk is made first."""
        if self._domain_type == "test":
            return domain_xml(spec, "test", host=self._node_name)
        if self._image is None:
            raise DriverError(f"{action} on {self._node_name} failed: no guest image configured for {self._uri}")
        try:
            if spec.image_files is not None:
                spec = replace(spec, image_files=cache_image_files(self._image, spec.image_files))
            make_overlay(self._image, self._node_name, spec.instance_id, spec.disk_gb, spec.image_files)
            if spec.rescue:
                if spec.rescue_files is not None:
                    spec = replace(spec, rescue_files=cache_image_files(self._image, spec.rescue_files))
                make_rescue_overlay(self._image, self._node_name, spec.instance_id, spec.rescue_files)
        except (DiskError, OSError) as error:
            raise DriverError(f"{action} on {self._node_name} failed: {error}") from error
        return domain_xml(spec, self._domain_type, host=self._node_name, image=self._image)

    def _remove_files(self, instance_id: str) -> None:
        if self._image is None:
            return
        try:
            remove_instance_files(self._image, self._node_name, instance_id)
        except OSError:
            log.warning("%s: could not remove the files of instance %s", self._node_name, instance_id, exc_info=True)

    def _read_instance_id(self, domain: libvirt.virDomain) -> str | None:
        try:
            element = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return None
            raise
        return instance_id_from_metadata(element, self._node_name)

    def _remember(self, uuid: str, instance_id: str | None) -> None:
        with self._lock:
            before = self._instance_ids.get(uuid)
            self._instance_ids[uuid] = instance_id
            if before is not None and before != instance_id and self._domains.get(before) == uuid:
                del self._domains[before]
            if instance_id is not None:
                self._domains[instance_id] = uuid

    def _forget(self, uuid: str) -> None:
        with self._lock:
            instance_id = self._instance_ids.pop(uuid, None)
            if instance_id is not None and self._domains.get(instance_id) == uuid:
                del self._domains[instance_id]

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
            self._forget(uuid)
        return instance_id

    def _on_lifecycle(
        self, _conn: libvirt.virConnect, domain: libvirt.virDomain, event: int, detail: int, _opaque: object
    ) -> None:
        if self._closed:
            return
        mapped = lifecycle_transition(event, detail)
        if mapped is None:
            return
        self._deliver(domain, *mapped)

    def _on_reboot(self, _conn: libvirt.virConnect, domain: libvirt.virDomain, _opaque: object) -> None:
        """The guest rebooted in place (QEMU: a soft reboot, or one of its own): it started again, running."""
        if self._closed:
            return
        self._deliver(domain, STARTED, PowerState.RUNNING)

    def _reports_a_change(self, domain: libvirt.virDomain, transition: str, power_state: PowerState) -> bool:
        """Whether an event reports a change of its own, not a step of one another event reports (QEMU's)."""
        uuid = domain.UUIDString()
        if transition == RESUMED:
            # QEMU starts and restores guests paused, then resumes them: that RESUMED
            # is part of the STARTED; only a paused guest (or one never seen) resumes.
            with self._lock:
                last = self._powers.get(uuid)
            return last is None or last == PowerState.PAUSED
        if transition == SUSPENDED and power_state == PowerState.PAUSED:
            # A managed save pauses the guest first; STOPPED(saved) reports the suspend.
            try:
                state, reason = domain.state()
            except libvirt.libvirtError:
                return False  # gone already: no pause to report
            return state == libvirt.VIR_DOMAIN_PAUSED and reason != libvirt.VIR_DOMAIN_PAUSED_SAVE
        return True

    def _deliver(self, domain: libvirt.virDomain, transition: str, power_state: PowerState) -> None:
        if not self._reports_a_change(domain, transition, power_state):
            return
        with self._lock:
            if transition == UNDEFINED:
                self._powers.pop(domain.UUIDString(), None)
            elif power_state != PowerState.NOSTATE:
                self._powers[domain.UUIDString()] = power_state
        instance_id = self._instance_id_for_event(domain, transition)
        sink = self._sink
        if instance_id is None or sink is None:
            return
        try:
            sink(LifecycleEvent(instance_id, transition, power_state, domain.name()))
        except Exception:
            # An exception escaping into libvirt's event loop would only be printed; log it instead.
            log.exception("event sink failed on %s %s", transition, instance_id)

    def _undefine_quietly(self, domain: libvirt.virDomain) -> None:
        try:
            domain.undefineFlags(_UNDEFINE_FLAGS)
        except libvirt.libvirtError:
            log.warning("could not undefine %s after a failed start", domain.name(), exc_info=True)
