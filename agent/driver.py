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
from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType


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
    after STARTED, SHUTDOWN after STOPPED, NOSTATE after UNDEFINED).
    """

    instance_id: str
    transition: str
    power_state: int

    def __post_init__(self) -> None:
        if self.transition not in Transition.ALL:
            raise ValueError(f"unknown lifecycle transition {self.transition!r}")


EventSink = Callable[[LifecycleEvent], None]


def domain_name(instance_id: str) -> str:
    """The hypervisor-side name of an instance's guest: `novalog-<instance_id>`."""
    return f"novalog-{instance_id}"


class Driver(abc.ABC):
    """One hypervisor host, seen by the node agent.

    The contract every implementation keeps (checked by tests/driver_contract.py):

    * Guests are identified by the instance id recorded in their metadata, never
      by their name. Guests without it (created by someone else) are invisible:
      absent from `list_guests`, silent in the events.
    * `spawn` is idempotent: a guest already defined or running with that
      instance id is left as is. It returns once the hypervisor accepted the
      guest and does not wait for it to run: that it runs is reported by a
      STARTED lifecycle event, which is what makes an instance ACTIVE.
    * `destroy` stops and undefines; it is idempotent and returns whether a
      guest was removed (False for an unknown instance id).
    * Every state change of a guest is delivered to the event sink as a
      `LifecycleEvent`, in order per guest, possibly from another thread and
      possibly before the call that caused it returns. Events that happen
      while no sink is set may be lost; `list_guests` is the truth to
      reconcile against.
    * Failures raise `DriverError`. After `close` no more events are delivered.
    * Hosts are independent: two drivers never see each other's guests or events.
    """

    @abc.abstractmethod
    def node_info(self) -> NodeInfo:
        """Describe the host: hypervisor type and version, hostname, CPU model, vCPUs, memory."""

    @abc.abstractmethod
    def list_guests(self) -> list[Guest]:
        """The guests this project created on the host, with their current power state."""

    @abc.abstractmethod
    def spawn(self, spec: GuestSpec) -> None:
        """Define and start the guest of `spec.instance_id` unless it already exists."""

    @abc.abstractmethod
    def destroy(self, instance_id: str) -> bool:
        """Stop and undefine the instance's guest; True when there was one to remove."""

    @abc.abstractmethod
    def set_event_sink(self, callback: EventSink) -> None:
        """Deliver lifecycle events to `callback` from now on (replacing any previous sink)."""

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
