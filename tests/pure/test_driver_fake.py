"""The driver contract against FakeDriver, plus the fake's own knob: failing spawns."""

from __future__ import annotations

import pytest

from driver_contract import DriverContract, EventRecorder, HostSpec, OpenDriver, guest_spec
from novalog.agent.driver import STARTED, DriverError, LifecycleEvent, NodeInfo, PowerState
from novalog.agent.fake import FakeDriver


def fake_node(host: HostSpec) -> NodeInfo:
    return NodeInfo("fake", 1, host.hostname, host.cpu_model, host.vcpus, host.memory_mb)


class TestFakeDriverContract(DriverContract):
    @pytest.fixture
    def open_driver(self) -> OpenDriver:
        return lambda host: FakeDriver(fake_node(host))


def test_a_spawn_told_to_fail_raises_and_leaves_nothing() -> None:
    events = EventRecorder()
    with FakeDriver(fake_node(HostSpec("host-a")), fail_spawn_for={"i-bad"}) as driver:
        driver.set_event_sink(events)

        with pytest.raises(DriverError, match="i-bad"):
            driver.spawn(guest_spec("i-bad"))
        driver.spawn(guest_spec("i-good"))

        events.wait_for("i-good", {STARTED})
        assert [g.instance_id for g in driver.list_guests()] == ["i-good"]
        assert events.transitions_of("i-bad") == []


def test_a_failing_sink_does_not_stop_later_events() -> None:
    delivered: list[LifecycleEvent] = []
    events = EventRecorder()

    def sink(event: LifecycleEvent) -> None:
        delivered.append(event)
        if len(delivered) == 1:
            raise RuntimeError("consumer bug")
        events(event)

    with FakeDriver(fake_node(HostSpec("host-a"))) as driver:
        driver.set_event_sink(sink)
        driver.spawn(guest_spec("i-1"))

        assert events.wait_for("i-1", {STARTED}) == LifecycleEvent("i-1", STARTED, PowerState.RUNNING)


def test_lifecycle_events_only_carry_known_transitions() -> None:
    with pytest.raises(ValueError, match="BOOTED"):
        LifecycleEvent("i-1", "BOOTED", PowerState.RUNNING)
