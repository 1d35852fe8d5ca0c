"""The driver contract against FakeDriver, plus the fake's own knob: failing spawns."""

from __future__ import annotations

import pytest

from driver_contract import DriverContract, EventRecorder, HostSpec, OpenDriver, guest_spec
from novalog.agent.driver import STARTED, SUSPENDED, DriverError, LifecycleEvent, NodeInfo, PowerState
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


def test_fake_hosts_of_one_process_live_migrate_running_and_paused_guests() -> None:
    a_events, b_events = EventRecorder(), EventRecorder()
    with FakeDriver(fake_node(HostSpec("host-a"))) as a, FakeDriver(fake_node(HostSpec("host-b"))) as b:
        a.set_event_sink(a_events)
        b.set_event_sink(b_events)
        for iid in ("i-1", "i-2"):
            a.spawn(guest_spec(iid))
            a_events.wait_for(iid, {STARTED})
        a.pause("i-2")

        a.live_migrate("i-1", "host-b")
        a.live_migrate("i-2", "host-b")

        assert b_events.wait_for("i-1", {STARTED}).power_state == PowerState.RUNNING
        assert b_events.wait_for("i-2", {SUSPENDED}).power_state == PowerState.PAUSED
        assert a.list_guests() == []
        assert sorted((g.instance_id, g.power_state) for g in b.list_guests()) == [("i-1", PowerState.RUNNING), ("i-2", PowerState.PAUSED)]
        with pytest.raises(DriverError, match="no other fake host named host-c"):
            b.live_migrate("i-1", "host-c")
