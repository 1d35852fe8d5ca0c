"""The driver contract suite: every Driver backend must pass these tests.

A backend's test module subclasses `DriverContract` (its name starts with
`Test`) and overrides the `open_driver` fixture: a function that opens a
driver on a fresh, empty host described by a `HostSpec`. A backend whose
guests take seconds (QEMU) also overrides `event_timeout`.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from novalog.agent.driver import (
    DEFINED,
    RESUMED,
    STARTED,
    STOPPED,
    SUSPENDED,
    UNDEFINED,
    Driver,
    DriverError,
    Guest,
    GuestSpec,
    LifecycleEvent,
    NodeInfo,
    PowerState,
)
from novalog.events.console import FAKE_CONSOLE

EVENT_TIMEOUT = 5.0  # seconds, by default; the test driver delivers a whole lifecycle in milliseconds

# The events of one action, as (transition, power state) pairs; see the table in `Driver`.
SPAWNED = [(DEFINED, PowerState.SHUTDOWN), (STARTED, PowerState.RUNNING)]
STOP = [(STOPPED, PowerState.SHUTDOWN)]
START = [(STARTED, PowerState.RUNNING)]
REBOOT_ACTIVE = STOP + START
PAUSE = [(SUSPENDED, PowerState.PAUSED)]
UNPAUSE = [(RESUMED, PowerState.RUNNING)]
SUSPEND = [(SUSPENDED, PowerState.SUSPENDED)]
RESUME = START
REMOVED = [(UNDEFINED, PowerState.NOSTATE)]

# Every power action, called on `instance_id` (reboot both ways).
POWER_ACTIONS: dict[str, Callable[[Driver, str], None]] = {
    "power_off": lambda driver, iid: driver.power_off(iid),
    "hard power_off": lambda driver, iid: driver.power_off(iid, clean=False),
    "power_on": lambda driver, iid: driver.power_on(iid),
    "soft reboot": lambda driver, iid: driver.reboot(iid, hard=False),
    "hard reboot": lambda driver, iid: driver.reboot(iid, hard=True),
    "pause": lambda driver, iid: driver.pause(iid),
    "unpause": lambda driver, iid: driver.unpause(iid),
    "suspend": lambda driver, iid: driver.suspend(iid),
    "resume": lambda driver, iid: driver.resume(iid),
}


def action_name(key: str) -> str:
    """The action as a DriverError names it: the method's name."""
    return key.rpartition(" ")[2]


@dataclass(frozen=True, slots=True)
class HostSpec:
    """The simulated host a backend must open."""

    hostname: str
    vcpus: int = 4
    memory_mb: int = 8192
    cpu_model: str = "novalog-test"


OpenDriver = Callable[[HostSpec], Driver]


def guest_spec(instance_id: str, vcpus: int = 2, memory_mb: int = 512) -> GuestSpec:
    return GuestSpec(
        instance_id=instance_id,
        name=f"vm-{instance_id}",
        vcpus=vcpus,
        memory_mb=memory_mb,
        disk_gb=1,
        image_ref="cirros",
    )


class EventRecorder:
    """An event sink that queues what it gets, so tests can wait for an event with a bounded timeout."""

    def __init__(self, timeout: float = EVENT_TIMEOUT) -> None:
        self._queue: queue.Queue[LifecycleEvent] = queue.Queue()
        self.seen: list[LifecycleEvent] = []
        self.timeout = timeout

    def __call__(self, event: LifecycleEvent) -> None:
        self._queue.put(event)

    def wait_for(self, instance_id: str, transitions: Collection[str], timeout: float | None = None) -> LifecycleEvent:
        """The first new event of `instance_id` with one of `transitions`; fails after `timeout` seconds (the recorder's)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(event)
            if event.instance_id == instance_id and event.transition in transitions:
                return event
        raise AssertionError(f"no {sorted(transitions)} event for {instance_id} within {timeout}s; saw {self.seen}")

    def transitions_of(self, instance_id: str) -> list[str]:
        """Every transition of `instance_id` received so far, in order."""
        while True:
            try:
                self.seen.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return [event.transition for event in self.seen if event.instance_id == instance_id]

    def events_of(self, instance_id: str) -> list[tuple[str, int]]:
        """Every (transition, power state) of `instance_id` received so far, in order."""
        self.transitions_of(instance_id)
        return [(event.transition, event.power_state) for event in self.seen if event.instance_id == instance_id]


@dataclass(slots=True)
class Host:
    driver: Driver
    events: EventRecorder = field(default_factory=EventRecorder)

    def running(self, instance_id: str = "i-1") -> None:
        """Spawn the instance's guest and wait until it runs."""
        self.driver.spawn(guest_spec(instance_id))
        self.events.wait_for(instance_id, {STARTED})

    def act(self, instance_id: str, call: Callable[[Driver, str], None], *, until: Collection[str]) -> LifecycleEvent:
        """Call the action and wait for its event in `until`."""
        call(self.driver, instance_id)
        return self.events.wait_for(instance_id, until)

    def history(self, instance_id: str = "i-1") -> list[tuple[str, int]]:
        """Destroy the guest and return all its events: once UNDEFINED is in, no earlier event is still due."""
        assert self.driver.destroy(instance_id) is True
        self.events.wait_for(instance_id, {UNDEFINED})
        return self.events.events_of(instance_id)

    def guest(self, instance_id: str = "i-1") -> Guest:
        """The guest as `list_guests` has it (spawned by `running`: 2 vCPUs, 512 MiB)."""
        (guest,) = [g for g in self.driver.list_guests() if g.instance_id == instance_id]
        return guest


def at(power_state: PowerState, instance_id: str = "i-1") -> Guest:
    """The guest `Host.running` spawns, in `power_state`: the same identity whatever its state."""
    return Guest(instance_id, f"novalog-{instance_id}", power_state, 2, 512)


class DriverContract:
    """The tests every driver passes; subclasses provide `open_driver`."""

    # A simulated host takes its CPU model from the HostSpec; a real one reports its machine's.
    CPU_MODEL_FROM_HOST_SPEC = True
    # A simulated host has no guest console and answers Nova's fake one; a real guest writes its own.
    FAKE_CONSOLE = True

    @pytest.fixture
    def event_timeout(self) -> float:
        """How long a test waits for one event, in seconds."""
        return EVENT_TIMEOUT

    @pytest.fixture
    def open_driver(self) -> OpenDriver:
        raise NotImplementedError("a backend's test class overrides the open_driver fixture")

    @pytest.fixture
    def make_host(self, open_driver: OpenDriver, event_timeout: float) -> Iterator[Callable[..., Host]]:
        opened: list[Driver] = []

        def make(hostname: str = "host-a", **node: object) -> Host:
            driver = open_driver(HostSpec(hostname, **node))  # type: ignore[arg-type]
            opened.append(driver)
            host = Host(driver, EventRecorder(event_timeout))
            driver.set_event_sink(host.events)
            return host

        yield make
        for driver in opened:
            driver.close()

    def test_node_info_reflects_the_node(self, make_host: Callable[..., Host]) -> None:
        host = make_host("host-a", vcpus=6, memory_mb=12288, cpu_model="novalog-6c")

        info = host.driver.node_info()

        model = "novalog-6c" if self.CPU_MODEL_FROM_HOST_SPEC else info.cpu_model
        assert info == NodeInfo(info.hypervisor_type, info.hypervisor_version, "host-a", model, 6, 12288)
        assert info.cpu_model
        assert info.hypervisor_type and isinstance(info.hypervisor_version, int)

    def test_spawn_reports_started_and_lists_the_running_guest(self, make_host: Callable[..., Host]) -> None:
        host = make_host()

        host.driver.spawn(guest_spec("i-1", vcpus=2, memory_mb=512))

        assert host.events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)
        assert host.driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.RUNNING, 2, 512)]

    def test_spawn_twice_leaves_one_guest_started_once(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.driver.spawn(guest_spec("i-1"))
        host.events.wait_for("i-1", {STARTED})

        host.driver.spawn(guest_spec("i-1"))

        assert host.driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.RUNNING, 2, 512)]
        # Events of one guest arrive in order, so once UNDEFINED is in, a second start would be too.
        host.driver.destroy("i-1")
        host.events.wait_for("i-1", {UNDEFINED})
        assert host.events.transitions_of("i-1").count(STARTED) == 1

    def test_spawn_without_start_defines_the_guest_off_and_never_starts_it(self, make_host: Callable[..., Host]) -> None:
        host = make_host()

        host.driver.spawn(guest_spec("i-1"), start=False)

        assert host.events.wait_for("i-1", {DEFINED}) == LifecycleEvent("i-1", DEFINED, PowerState.SHUTDOWN)
        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        host.driver.spawn(guest_spec("i-1"))  # there already: left as is, off
        assert host.driver.power_state("i-1") == PowerState.SHUTDOWN
        host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        # The one STARTED is power_on's: the spawn reported none.
        assert host.history() == [(DEFINED, PowerState.SHUTDOWN)] + START + STOP + REMOVED

    def test_destroy_stops_and_removes_the_guest(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.driver.spawn(guest_spec("i-1"))
        host.events.wait_for("i-1", {STARTED})

        assert host.driver.destroy("i-1") is True

        assert host.events.wait_for("i-1", {UNDEFINED}) == LifecycleEvent("i-1", UNDEFINED, PowerState.NOSTATE)
        ends = [t for t in host.events.transitions_of("i-1") if t in {STARTED, STOPPED, UNDEFINED}]
        assert ends == [STARTED, STOPPED, UNDEFINED]
        assert host.driver.list_guests() == []
        assert host.driver.destroy("i-1") is False

    def test_destroy_of_an_unknown_instance_removes_nothing(self, make_host: Callable[..., Host]) -> None:
        host = make_host()

        assert host.driver.destroy("never-spawned") is False
        assert host.driver.list_guests() == []

    def test_console_output_is_the_guests_and_an_unknown_instance_has_none(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.driver.spawn(guest_spec("i-1"))
        host.events.wait_for("i-1", {STARTED})

        console = host.driver.console_output("i-1")

        assert isinstance(console, str)
        if self.FAKE_CONSOLE:
            assert console == FAKE_CONSOLE
        with pytest.raises(DriverError, match="no such instance"):
            host.driver.console_output("never-spawned")

    def test_two_hosts_are_independent(self, make_host: Callable[..., Host]) -> None:
        a, b = make_host("host-a"), make_host("host-b")

        a.driver.spawn(guest_spec("i-a", vcpus=1, memory_mb=256))
        b.driver.spawn(guest_spec("i-b", vcpus=4, memory_mb=1024))
        a.events.wait_for("i-a", {STARTED})
        b.events.wait_for("i-b", {STARTED})

        assert a.driver.list_guests() == [Guest("i-a", "novalog-i-a", PowerState.RUNNING, 1, 256)]
        assert b.driver.list_guests() == [Guest("i-b", "novalog-i-b", PowerState.RUNNING, 4, 1024)]
        assert b.driver.destroy("i-a") is False
        with pytest.raises(DriverError, match="power_off of instance i-a on host-b failed"):
            b.driver.power_off("i-a")
        assert b.driver.power_state("i-a") == PowerState.NOSTATE
        assert [g.instance_id for g in a.driver.list_guests()] == ["i-a"]
        assert a.events.transitions_of("i-b") == [] and b.events.transitions_of("i-a") == []
        assert a.driver.node_info().hypervisor_hostname == "host-a"
        assert b.driver.node_info().hypervisor_hostname == "host-b"

    def test_a_closed_driver_refuses_work(self, make_host: Callable[..., Host]) -> None:
        host = make_host()

        host.driver.close()
        host.driver.close()

        with pytest.raises(DriverError, match="closed"):
            host.driver.list_guests()
        with pytest.raises(DriverError, match="closed"):
            host.driver.spawn(guest_spec("i-1"))
        for call in POWER_ACTIONS.values():
            with pytest.raises(DriverError, match="closed"):
                call(host.driver, "i-1")
        with pytest.raises(DriverError, match="closed"):
            host.driver.power_state("i-1")

    # --- power actions ---------------------------------------------------

    @pytest.mark.parametrize("clean", [True, False], ids=["clean", "hard"])
    def test_power_off_stops_the_guest_and_keeps_it(self, make_host: Callable[..., Host], clean: bool) -> None:
        host = make_host()
        host.running()

        host.driver.power_off("i-1", clean=clean)

        assert host.events.wait_for("i-1", {STOPPED}) == LifecycleEvent("i-1", STOPPED, PowerState.SHUTDOWN)
        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        assert host.driver.power_state("i-1") == PowerState.SHUTDOWN
        host.driver.power_off("i-1", clean=clean)  # already off: nothing happens
        host.driver.power_off("i-1", clean=not clean)
        assert host.history() == SPAWNED + STOP + REMOVED

    def test_power_on_starts_the_stopped_guest_with_the_same_identity(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["power_off"], until={STOPPED})

        host.driver.power_on("i-1")

        assert host.events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.driver.power_state("i-1") == PowerState.RUNNING
        host.driver.power_on("i-1")  # already running: nothing happens
        # Neither undefined nor defined again in between: the same guest, stopped and started.
        assert host.history() == SPAWNED + STOP + START + STOP + REMOVED

    def test_a_guest_survives_many_stops_and_starts(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()

        for clean in (True, False, True):
            host.act("i-1", lambda d, iid: d.power_off(iid, clean=clean), until={STOPPED})
            host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})

        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.history() == SPAWNED + (STOP + START) * 3 + STOP + REMOVED

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    def test_reboot_of_a_running_guest_stops_and_starts_it(self, make_host: Callable[..., Host], hard: bool) -> None:
        # Soft too: the test driver's own reboot is silent, so the driver (and the fake, like it) reboots hard.
        host = make_host()
        host.running()

        host.driver.reboot("i-1", hard=hard)

        assert host.events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        host.driver.reboot("i-1", hard=hard)  # not idempotent (nor is Nova's): a second reboot
        host.events.wait_for("i-1", {STARTED})
        assert host.history() == SPAWNED + REBOOT_ACTIVE + REBOOT_ACTIVE + STOP + REMOVED

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    def test_reboot_of_a_stopped_guest_starts_it(self, make_host: Callable[..., Host], hard: bool) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["power_off"], until={STOPPED})

        host.driver.reboot("i-1", hard=hard)

        host.events.wait_for("i-1", {STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.history() == SPAWNED + STOP + START + STOP + REMOVED

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    def test_reboot_of_a_paused_guest_ends_running(self, make_host: Callable[..., Host], hard: bool) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["pause"], until={SUSPENDED})

        host.driver.reboot("i-1", hard=hard)

        host.events.wait_for("i-1", {STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.history() == SPAWNED + PAUSE + REBOOT_ACTIVE + STOP + REMOVED

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    def test_reboot_of_a_suspended_guest_boots_it_afresh(self, make_host: Callable[..., Host], hard: bool) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["suspend"], until={SUSPENDED})

        host.driver.reboot("i-1", hard=hard)

        host.events.wait_for("i-1", {STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        host.driver.resume("i-1")  # running: nothing left to restore, nothing happens
        assert host.history() == SPAWNED + SUSPEND + START + STOP + REMOVED

    def test_pause_and_unpause(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()

        host.driver.pause("i-1")

        assert host.events.wait_for("i-1", {SUSPENDED}) == LifecycleEvent("i-1", SUSPENDED, PowerState.PAUSED)
        assert host.driver.list_guests() == [at(PowerState.PAUSED)]
        assert host.driver.power_state("i-1") == PowerState.PAUSED
        host.driver.pause("i-1")  # already paused: nothing happens
        host.driver.power_on("i-1")  # active already: nothing happens (unpause is what resumes it)
        host.driver.resume("i-1")  # likewise

        host.driver.unpause("i-1")

        assert host.events.wait_for("i-1", {RESUMED}) == LifecycleEvent("i-1", RESUMED, PowerState.RUNNING)
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        host.driver.unpause("i-1")  # already running: nothing happens
        assert host.history() == SPAWNED + PAUSE + UNPAUSE + STOP + REMOVED

    @pytest.mark.parametrize("clean", [True, False], ids=["clean", "hard"])
    def test_power_off_of_a_paused_guest_stops_it(self, make_host: Callable[..., Host], clean: bool) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["pause"], until={SUSPENDED})

        host.driver.power_off("i-1", clean=clean)

        host.events.wait_for("i-1", {STOPPED})
        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})
        assert host.driver.power_state("i-1") == PowerState.RUNNING
        assert host.history() == SPAWNED + PAUSE + STOP + START + STOP + REMOVED

    def test_suspend_and_resume(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()

        host.driver.suspend("i-1")

        assert host.events.wait_for("i-1", {SUSPENDED}) == LifecycleEvent("i-1", SUSPENDED, PowerState.SUSPENDED)
        assert host.driver.list_guests() == [at(PowerState.SUSPENDED)]
        assert host.driver.power_state("i-1") == PowerState.SUSPENDED
        host.driver.suspend("i-1")  # already suspended: nothing happens
        host.driver.power_off("i-1")  # off already: nothing happens, the saved memory is kept
        host.driver.power_off("i-1", clean=False)
        assert host.driver.power_state("i-1") == PowerState.SUSPENDED

        host.driver.resume("i-1")

        assert host.events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        host.driver.resume("i-1")  # already running: nothing happens
        assert host.history() == SPAWNED + SUSPEND + RESUME + STOP + REMOVED

    def test_suspend_of_a_paused_guest_and_resume_it_running(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["pause"], until={SUSPENDED})

        host.driver.suspend("i-1")

        host.events.wait_for("i-1", {SUSPENDED})
        assert host.driver.power_state("i-1") == PowerState.SUSPENDED
        host.act("i-1", POWER_ACTIONS["resume"], until={STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.history() == SPAWNED + PAUSE + SUSPEND + RESUME + STOP + REMOVED

    def test_power_on_of_a_suspended_guest_resumes_it(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["suspend"], until={SUSPENDED})

        host.driver.power_on("i-1")

        host.events.wait_for("i-1", {STARTED})
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.history() == SPAWNED + SUSPEND + START + STOP + REMOVED

    def test_destroy_of_a_suspended_guest_only_undefines_it(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["suspend"], until={SUSPENDED})

        assert host.history() == SPAWNED + SUSPEND + REMOVED
        assert host.driver.list_guests() == []
        assert host.driver.power_state("i-1") == PowerState.NOSTATE

    def test_destroy_of_a_stopped_guest_only_undefines_it(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["power_off"], until={STOPPED})

        assert host.history() == SPAWNED + STOP + REMOVED

    @pytest.mark.parametrize("key", ["pause", "unpause", "suspend", "resume"])
    def test_an_action_a_stopped_guest_cannot_take_is_refused(self, make_host: Callable[..., Host], key: str) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["power_off"], until={STOPPED})

        with pytest.raises(DriverError, match=f"^{key} of instance i-1 on host-a failed: "):
            POWER_ACTIONS[key](host.driver, "i-1")

        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        assert host.history() == SPAWNED + STOP + REMOVED

    @pytest.mark.parametrize("key", ["pause", "unpause"])
    def test_pausing_a_suspended_guest_is_refused(self, make_host: Callable[..., Host], key: str) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["suspend"], until={SUSPENDED})

        with pytest.raises(DriverError, match=f"^{key} of instance i-1 on host-a failed: "):
            POWER_ACTIONS[key](host.driver, "i-1")

        assert host.driver.power_state("i-1") == PowerState.SUSPENDED
        assert host.history() == SPAWNED + SUSPEND + REMOVED

    @pytest.mark.parametrize("key", list(POWER_ACTIONS))
    def test_a_power_action_on_an_unknown_instance_is_a_driver_error(
        self, make_host: Callable[..., Host], key: str
    ) -> None:
        host = make_host()
        host.running("i-1")

        with pytest.raises(DriverError, match=f"^{action_name(key)} of instance ghost on host-a failed: no such instance"):
            POWER_ACTIONS[key](host.driver, "ghost")

        assert host.driver.power_state("ghost") == PowerState.NOSTATE
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.events.transitions_of("ghost") == []

    def test_power_actions_touch_only_their_guest(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running("i-1")
        host.running("i-2")

        host.act("i-1", POWER_ACTIONS["pause"], until={SUSPENDED})
        host.act("i-2", POWER_ACTIONS["suspend"], until={SUSPENDED})

        assert sorted(host.driver.list_guests(), key=lambda g: g.instance_id) == [
            at(PowerState.PAUSED, "i-1"),
            at(PowerState.SUSPENDED, "i-2"),
        ]
        assert host.history("i-1") == SPAWNED + PAUSE + STOP + REMOVED
        assert host.history("i-2") == SPAWNED + SUSPEND + REMOVED

    # --- moves -----------------------------------------------------------

    def test_resize_gives_an_off_guest_new_sizes_and_keeps_it(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        host.act("i-1", POWER_ACTIONS["power_off"], until={STOPPED})

        host.driver.resize(guest_spec("i-1", vcpus=3, memory_mb=768))

        assert host.events.wait_for("i-1", {DEFINED}) == LifecycleEvent("i-1", DEFINED, PowerState.NOSTATE)
        assert host.driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.SHUTDOWN, 3, 768)]
        host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})
        assert host.driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.RUNNING, 3, 768)]
        # and back (a revert), the same guest all along
        host.act("i-1", POWER_ACTIONS["hard power_off"], until={STOPPED})
        host.driver.resize(guest_spec("i-1"))
        host.events.wait_for("i-1", {DEFINED})
        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        assert host.history() == SPAWNED + STOP + [(DEFINED, PowerState.NOSTATE)] + START + STOP + [(DEFINED, PowerState.NOSTATE)] + REMOVED

    def test_resize_of_a_running_or_unknown_guest_is_refused(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()

        with pytest.raises(DriverError, match="^resize of instance i-1 on host-a failed: the guest is running"):
            host.driver.resize(guest_spec("i-1", vcpus=1))
        with pytest.raises(DriverError, match="^resize of instance ghost on host-a failed: no such instance"):
            host.driver.resize(guest_spec("ghost"))
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]

    def test_live_migration_moves_the_running_guest_or_is_refused_leaving_it_running(self, make_host: Callable[..., Host]) -> None:
        a, b = make_host("host-a"), make_host("host-b")
        a.running()

        try:
            a.driver.live_migrate("i-1", "host-b")
        except DriverError as refused:
            assert "live migration of instance i-1" in str(refused)
            assert a.driver.list_guests() == [at(PowerState.RUNNING)] and b.driver.list_guests() == []
            return
        assert b.events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)
        a.events.wait_for("i-1", {UNDEFINED})
        assert a.driver.list_guests() == [] and b.driver.list_guests() == [at(PowerState.RUNNING)]

    # --- rebuild, snapshot, rescue ------------------------------------------

    def test_a_rebuild_recreates_the_guest_once_per_rebuild_id(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        rebuilt = replace(guest_spec("i-1"), image_ref="image-2", rebuild_id="order-1")

        assert host.driver.rebuild(rebuilt) is True
        host.events.wait_for("i-1", {STARTED})
        assert host.driver.rebuild(rebuilt) is False  # redelivered: done already, nothing happens
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        assert host.driver.rebuild(replace(rebuilt, rebuild_id="order-2"), start=False) is True  # another rebuild, left off
        host.events.wait_for("i-1", {STOPPED})
        assert host.driver.list_guests() == [at(PowerState.SHUTDOWN)]
        started_or_stopped = [t for t, _ in host.history() if t in (STARTED, STOPPED)]
        assert started_or_stopped == [STARTED, STOPPED, STARTED, STOPPED]

    def test_a_snapshot_is_written_once_to_its_file(self, make_host: Callable[..., Host], tmp_path: Path) -> None:
        host = make_host()
        host.running()
        store = tmp_path / "store"
        dest = store / "snap-1"

        host.driver.snapshot("i-1", str(dest), "qcow2")
        written = dest.read_bytes()
        assert written
        host.driver.snapshot("i-1", str(dest), "qcow2")
        assert dest.read_bytes() == written and [p.name for p in store.iterdir()] == ["snap-1"]
        with pytest.raises(DriverError, match="^snapshot of instance ghost"):
            host.driver.snapshot("ghost", str(store / "snap-2"), "qcow2")
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]

    def test_rescue_and_unrescue_boot_the_guest_again_each_once(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()
        spec = guest_spec("i-1")

        host.driver.rescue(replace(spec, rescue=True))
        host.events.wait_for("i-1", {STARTED})
        host.driver.rescue(replace(spec, rescue=True))  # rescued already: nothing
        host.driver.unrescue(spec)
        assert host.driver.list_guests() == [at(PowerState.RUNNING)]
        host.driver.unrescue(spec)  # not rescued: nothing
        started = [t for t, _ in host.history() if t == STARTED]
        assert started == [STARTED, STARTED, STARTED]  # the spawn, the rescue, the unrescue

    # --- names ---------------------------------------------------------------

    def test_a_guest_keeps_the_name_it_was_given_through_every_call(self, make_host: Callable[..., Host], tmp_path: Path) -> None:
        # The agent names a guest after its instance name (Nova's instance-%08x); every later call finds it by its
        # instance id, and no redefinition (resize, rebuild, rescue) renames it.
        host = make_host()
        spec = replace(guest_spec("i-1"), domain_name="instance-0000002a")
        named = Guest("i-1", "instance-0000002a", PowerState.RUNNING, 2, 512)

        host.driver.spawn(spec)
        assert host.events.wait_for("i-1", {STARTED}).domain_name == "instance-0000002a"
        assert host.driver.list_guests() == [named]
        host.driver.spawn(spec)  # redelivered: the guest is there already
        for key, until in [("pause", SUSPENDED), ("unpause", RESUMED), ("suspend", SUSPENDED), ("resume", STARTED),
                           ("hard reboot", STARTED), ("hard power_off", STOPPED)]:
            host.act("i-1", POWER_ACTIONS[key], until={until})
        spec = replace(spec, vcpus=1, memory_mb=256)
        host.driver.resize(spec)
        host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})
        host.driver.rebuild(replace(spec, image_ref="image-2", rebuild_id="order-1"))
        host.events.wait_for("i-1", {STARTED})
        host.driver.rescue(replace(spec, rescue=True))
        host.events.wait_for("i-1", {STARTED})
        host.driver.unrescue(spec)
        host.events.wait_for("i-1", {STARTED})
        host.driver.snapshot("i-1", str(tmp_path / "snap"), "qcow2")

        assert host.driver.list_guests() == [replace(named, vcpus=1, memory_mb=256)]
        assert host.driver.power_state("i-1") == PowerState.RUNNING
        assert host.driver.destroy("i-1") is True
        host.events.wait_for("i-1", {UNDEFINED})
        assert host.driver.list_guests() == []

    def test_a_guest_named_before_guests_took_the_instance_name_is_still_managed(self, make_host: Callable[..., Host]) -> None:
        host = make_host()
        host.running()  # no name given: `novalog-i-1`, as every guest was named before
        named = replace(guest_spec("i-1"), domain_name="instance-0000002a")

        host.driver.spawn(named)  # an order that names it now finds it there already, under its old name
        host.act("i-1", POWER_ACTIONS["hard power_off"], until={STOPPED})
        host.act("i-1", POWER_ACTIONS["power_on"], until={STARTED})
        host.driver.rebuild(replace(named, rebuild_id="order-1"))
        assert host.events.wait_for("i-1", {STARTED}).domain_name == "novalog-i-1"

        assert host.driver.list_guests() == [at(PowerState.RUNNING)]  # one guest, its old name kept
        assert host.driver.destroy("i-1") is True
        host.events.wait_for("i-1", {UNDEFINED})
        assert host.driver.list_guests() == []
