"""The driver contract suite: every Driver backend must pass these tests.

A backend's test module subclasses `DriverContract` (its name starts with
`Test`) and overrides the `open_driver` fixture: a function that opens a
driver on a fresh, empty host described by a `HostSpec`.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

import pytest

from novalog.agent.driver import (
    STARTED,
    STOPPED,
    UNDEFINED,
    Driver,
    DriverError,
    Guest,
    GuestSpec,
    LifecycleEvent,
    NodeInfo,
    PowerState,
)

EVENT_TIMEOUT = 5.0  # seconds; the test driver delivers a whole lifecycle in milliseconds


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

    def __init__(self) -> None:
        self._queue: queue.Queue[LifecycleEvent] = queue.Queue()
        self.seen: list[LifecycleEvent] = []

    def __call__(self, event: LifecycleEvent) -> None:
        self._queue.put(event)

    def wait_for(self, instance_id: str, transitions: Collection[str], timeout: float = EVENT_TIMEOUT) -> LifecycleEvent:
        """The first new event of `instance_id` with one of `transitions`; fails after `timeout` seconds."""
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


@dataclass(slots=True)
class Host:
    driver: Driver
    events: EventRecorder = field(default_factory=EventRecorder)


class DriverContract:
    """The tests every driver passes; subclasses provide `open_driver`."""

    @pytest.fixture
    def open_driver(self) -> OpenDriver:
        raise NotImplementedError("a backend's test class overrides the open_driver fixture")

    @pytest.fixture
    def make_host(self, open_driver: OpenDriver) -> Iterator[Callable[..., Host]]:
        opened: list[Driver] = []

        def make(hostname: str = "host-a", **node: object) -> Host:
            driver = open_driver(HostSpec(hostname, **node))  # type: ignore[arg-type]
            opened.append(driver)
            host = Host(driver)
            driver.set_event_sink(host.events)
            return host

        yield make
        for driver in opened:
            driver.close()

    def test_node_info_reflects_the_node(self, make_host: Callable[..., Host]) -> None:
        host = make_host("host-a", vcpus=6, memory_mb=12288, cpu_model="novalog-6c")

        info = host.driver.node_info()

        assert info == NodeInfo(info.hypervisor_type, info.hypervisor_version, "host-a", "novalog-6c", 6, 12288)
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

    def test_two_hosts_are_independent(self, make_host: Callable[..., Host]) -> None:
        a, b = make_host("host-a"), make_host("host-b")

        a.driver.spawn(guest_spec("i-a", vcpus=1, memory_mb=256))
        b.driver.spawn(guest_spec("i-b", vcpus=4, memory_mb=1024))
        a.events.wait_for("i-a", {STARTED})
        b.events.wait_for("i-b", {STARTED})

        assert a.driver.list_guests() == [Guest("i-a", "novalog-i-a", PowerState.RUNNING, 1, 256)]
        assert b.driver.list_guests() == [Guest("i-b", "novalog-i-b", PowerState.RUNNING, 4, 1024)]
        assert b.driver.destroy("i-a") is False
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
