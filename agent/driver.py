"""The hypervisor driver contract of the node agent, and the values it speaks.

A driver is a thin shell over one hypervisor host. The agent decides what to
do (`reconcile`); the driver only does it and reports what happened, so every
method is idempotent and every state change is reported as a `LifecycleEvent`.
Two implementations honour it and pass one shared contract suite
(`tests/driver_contract.py`): `FakeDriver` in memory, `LibvirtDriver` over libvirt.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType

from novalog.events.records import ImageFiles, guest_name


class PowerState(IntEnum):
    """Nova's power states (nova.compute.power_state); the gaps are retired values."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


# Lifecycle transitions, named after libvirt's lifecycle events.
STARTED = "STARTED"
STOPPED = "STOPPED"
SUSPENDED = "SUSPENDED"
RESUMED = "RESUMED"
CRASHED = "CRASHED"
DEFINED = "DEFINED"
UNDEFINED = "UNDEFINED"


class Transition:
    """The lifecycle transitions as one namespace (`Transition.STARTED`) and set (`Transition.ALL`)."""

    STARTED = STARTED
    STOPPED = STOPPED
    SUSPENDED = SUSPENDED
    RESUMED = RESUMED
    CRASHED = CRASHED
    DEFINED = DEFINED
    UNDEFINED = UNDEFINED
    ALL: frozenset[str] = frozenset({STARTED, STOPPED, SUSPENDED, RESUMED, CRASHED, DEFINED, UNDEFINED})


class DriverError(Exception):
    """A hypervisor operation failed; the message names the operation, the instance and the host."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the hypervisor says about its host (Nova's hypervisor fields)."""

    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    cpu_model: str
    vcpus: int
    memory_mb: int


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """What to boot for one instance."""

    instance_id: str
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    image_ref: str
    # The image's bits (a QEMU host boots them); None: the host's own guest image. The test driver ignores them.
    image_files: ImageFiles | None = None
    # The rebuild that made the guest (kept by the hypervisor with it: a redelivered rebuild finds it done).
    rebuild_id: str | None = None
    # Booted from the rescue image (`rescue_files`; None: the host's own guest image), its own disk second.
    rescue: bool = False
    rescue_files: ImageFiles | None = None
    # The name the hypervisor gives the guest (Nova's instance name, `instance-%08x`); None: `novalog-<instance id>`.
    domain_name: str | None = None

    @property
    def guest_name(self) -> str:
        """The name the guest is defined under."""
        return self.domain_name or domain_name(self.instance_id)


@dataclass(frozen=True, slots=True)
class Guest:
    """A guest this project created, as the hypervisor sees it now."""

    instance_id: str
    domain_name: str
    power_state: int
    vcpus: int
    memory_mb: int


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A guest changed state on the hypervisor.

    `power_state` is the state the transition leaves the guest in (RUNNING
    after STARTED, SHUTDOWN after STOPPED, NOSTATE after UNDEFINED). SUSPENDED
    covers both meanings of "suspend": PAUSED after a pause (CPUs frozen in
    memory), SUSPENDED after Nova's suspend (memory saved, guest stopped).
    """

    instance_id: str
    transition: str
    power_state: int
    # The guest's name on the hypervisor, where the driver knows it (the agent reports it with STARTED); not part
    # of what the event says happened, so two events of the same change are equal whichever driver named them.
    domain_name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.transition not in Transition.ALL:
            raise ValueError(f"unknown lifecycle transition {self.transition!r}")


EventSink = Callable[[LifecycleEvent], None]


def domain_name(instance_id: str) -> str:
    """The name of a guest whose order carried no instance name (and of every guest defined before they did): `novalog-<instance_id>`."""
    return guest_name(instance_id)


class Driver(abc.ABC):
    """One hypervisor host, seen by the node agent.

    The contract every implementation keeps (checked by tests/driver_contract.py):

    * Guests are identified by the instance id recorded in their metadata, never
      by their name. Guests without it (created by someone else) are invisible:
      absent from `list_guests`, silent in the events. A guest is defined under
      `GuestSpec.guest_name` (Nova's instance name when the agent knows it) and
      keeps that name through every later call, redefinitions included; a guest
      defined under another name (`novalog-<instance id>`, before guests took
      the instance name) is found and managed all the same.
    * `spawn` is idempotent: a guest already defined or running with that
      instance id is left as is. It returns once the hypervisor accepted the
      guest and does not wait for it to run: that it runs is reported by a
      STARTED lifecycle event, which is what makes an instance ACTIVE.
      `spawn(spec, start=False)` only defines the guest: it stays off
      (DEFINED/SHUTDOWN, no STARTED), as a move's destination needs for a
      server that was off; `power_on` boots it later.
    * `destroy` stops and undefines; it is idempotent and returns whether a
      guest was removed (False for an unknown instance id).
    * The power actions (Nova's compute driver: `power_off`, `power_on`,
      `reboot`, `pause`, `unpause`, `suspend`, `resume`) return nothing: their
      effect is reported only by lifecycle events, as for `spawn`. Each is a
      no-op, with no event, when the guest is already where the action leads
      (off, running, paused, suspended). An unknown instance id, or a guest in
      a state the action cannot start from, raises `DriverError`. A guest keeps
      its identity (instance id, domain, resources) through all of them.
      The event sequences, identical in both drivers (measured on libvirt's
      test driver; `list_guests` gives the power state in brackets):

      =========================  ===========================================  ===========
      action, from               events (transition/power state)              after
      =========================  ===========================================  ===========
      spawn                      DEFINED/SHUTDOWN, STARTED/RUNNING            [RUNNING]
      spawn, start=False         DEFINED/SHUTDOWN                             [SHUTDOWN]
      power_off, running/paused  STOPPED/SHUTDOWN                             [SHUTDOWN]
      power_on, off              STARTED/RUNNING                              [RUNNING]
      power_on, suspended        STARTED/RUNNING (the saved memory restored)  [RUNNING]
      reboot, running/paused     STOPPED/SHUTDOWN, STARTED/RUNNING            [RUNNING]
      reboot, off/suspended      STARTED/RUNNING (a suspended guest's saved   [RUNNING]
                                 memory is discarded: it boots afresh)
      pause, running             SUSPENDED/PAUSED                             [PAUSED]
      unpause, paused            RESUMED/RUNNING                              [RUNNING]
      suspend, running/paused    SUSPENDED/SUSPENDED                          [SUSPENDED]
      resume, suspended          STARTED/RUNNING                              [RUNNING]
      destroy, running/paused    STOPPED/SHUTDOWN, UNDEFINED/NOSTATE          (gone)
      destroy, off/suspended     UNDEFINED/NOSTATE                            (gone)
      resize, off                DEFINED/NOSTATE (the definition changed)     [SHUTDOWN]
      =========================  ===========================================  ===========

      "off" is SHUTDOWN without saved memory. A suspended guest counts as off
      for `power_off` (a no-op: it stays suspended) and `power_on` (which then
      resumes it); an active (running or paused) guest counts as running for
      `power_on` and `resume` (no-ops). The refusals: `pause` and `suspend` of
      an off guest, `unpause` of a guest that is not paused and not running,
      `resume` of an off guest (nothing saved to restore).
    * A clean `power_off` and a soft `reboot` ask the guest (ACPI) and return
      without waiting. On a real hypervisor the guest takes seconds, and one
      still booting does not hear the request: the driver asks again every
      `shutdown_retry_interval` seconds and pulls the guest off hard after
      `shutdown_timeout` (Nova's options and power_off). A soft reboot is
      Nova's: the guest shuts itself down and is started again once off, so
      it reports what a hard reboot does. Where the hypervisor refuses the
      request, the driver reboots hard, as Nova does; the caller may also
      escalate (`power_off(clean=False)`, `reboot(hard=True)`) at any time.
    * Every state change of a guest is delivered to the event sink as a
      `LifecycleEvent`, in order per guest, possibly from another thread and
      possibly before the call that caused it returns. Events that happen
      while no sink is set may be lost; `list_guests` and `power_state` are
      the truth to reconcile against. A no-op reports nothing: the caller
      reads `power_state` when it needs to know where the guest is.
    * `resize` gives an off guest new vCPUs and memory (Nova's resize on the
      same host, and its revert); a running one is refused. It keeps the
      guest's identity and disk.
    * `console_output` is the guest's serial console, or the fixed FAKE_CONSOLE
      where no guest really runs; it changes nothing.
    * `live_migrate` moves a running or paused guest to another host of the
      same kind without stopping it. A driver that cannot raises
      `DriverError` (the default; libvirt's test driver has no migration).
    * Failures raise `DriverError`, whose message names the action, the
      instance and the host. After `close` no more events are delivered.
    * A driver whose hypervisor connection can drop (libvirtd restarting)
      reconnects by itself, with backoff, and then calls the reconnect hook:
      events were lost meanwhile, so its owner reconciles. Calls made while
      it is disconnected raise `DriverError`.
    * Hosts are independent: two drivers never see each other's guests or
      events, even when they share one hypervisor.
    """

    @abc.abstractmethod
    def node_info(self) -> NodeInfo:
        """Describe the host: hypervisor type and version, hostname, CPU model, vCPUs, memory."""

    @abc.abstractmethod
    def list_guests(self) -> list[Guest]:
        """The guests this project created on the host, with their current power state."""

    @abc.abstractmethod
    def spawn(self, spec: GuestSpec, *, start: bool = True) -> None:
        """Define the guest of `spec.instance_id` unless it already exists, and start it unless `start` is False."""

    @abc.abstractmethod
    def destroy(self, instance_id: str) -> bool:
        """Stop and undefine the instance's guest; True when there was one to remove."""

    @abc.abstractmethod
    def power_off(self, instance_id: str, clean: bool = True) -> None:
        """Stop the guest, keeping it defined: ACPI shutdown when `clean` (and running), else pulled off hard."""

    @abc.abstractmethod
    def power_on(self, instance_id: str) -> None:
        """Start a stopped guest (restoring its saved memory if it was suspended)."""

    @abc.abstractmethod
    def reboot(self, instance_id: str, hard: bool) -> None:
        """Reboot the guest: soft asks the guest, hard is stop and start; either way it ends RUNNING."""

    @abc.abstractmethod
    def pause(self, instance_id: str) -> None:
        """Freeze a running guest's CPUs in memory (power state PAUSED)."""

    @abc.abstractmethod
    def unpause(self, instance_id: str) -> None:
        """Let a paused guest run again."""

    @abc.abstractmethod
    def suspend(self, instance_id: str) -> None:
        """Save a running or paused guest's memory and stop it (Nova's suspend; power state SUSPENDED)."""

    @abc.abstractmethod
    def resume(self, instance_id: str) -> None:
        """Start a suspended guest from its saved memory."""

    @abc.abstractmethod
    def resize(self, spec: GuestSpec) -> None:
        """Give the off guest of `spec.instance_id` spec's vCPUs and memory, keeping its identity and disk."""

    def live_migrate(self, instance_id: str, dest_host: str) -> None:
        """Move the running guest to the host named `dest_host` without stopping it; here: refused."""
        raise DriverError(
            f"live migration of instance {instance_id} to {dest_host} failed: "
            f"the {self.node_info().hypervisor_type} hypervisor driver cannot live-migrate"
        )

    @abc.abstractmethod
    def rebuild(self, spec: GuestSpec, *, start: bool = True) -> bool:
        """Recreate the guest of `spec.instance_id` from spec's image, its disk made afresh, tagged `spec.rebuild_id`.

        Off first (hard), then defined again with the same identity and
        started unless `start` is False. False, with nothing done, when the
        guest carries `spec.rebuild_id` already (the rebuild was done); a
        missing guest is spawned.
        """

    @abc.abstractmethod
    def snapshot(self, instance_id: str, dest: str, disk_format: str) -> None:
        """Write the guest's disk, whole (no backing file), to the file `dest` in `disk_format`; nothing when `dest` exists."""

    @abc.abstractmethod
    def rescue(self, spec: GuestSpec) -> None:
        """Boot the guest from `spec.rescue_files` (the host's image when None), its own disk second; a no-op when rescued already."""

    @abc.abstractmethod
    def unrescue(self, spec: GuestSpec) -> None:
        """Boot the rescued guest from its own disk again (the rescue disk removed); a no-op when it is not rescued."""

    @abc.abstractmethod
    def console_output(self, instance_id: str) -> str:
        """What the guest wrote on its serial console so far (all of it; the agent cuts the tail).

        A host without a real guest console (the fake driver, libvirt's test
        driver) answers a fixed text, events.console.FAKE_CONSOLE, as Nova's
        fake driver does. An unknown instance raises `DriverError`.
        """

    @abc.abstractmethod
    def power_state(self, instance_id: str) -> int:
        """The guest's power state now (a `PowerState`); NOSTATE when the host has no guest of that instance."""

    @abc.abstractmethod
    def set_event_sink(self, callback: EventSink) -> None:
        """Deliver lifecycle events to `callback` from now on (replacing any previous sink)."""

    @abc.abstractmethod
    def set_reconnect_hook(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from another thread) each time the driver reconnected to its hypervisor."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop delivering events and release the hypervisor connection; idempotent."""

    def __enter__(self) -> Driver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
