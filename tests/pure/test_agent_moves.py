"""The agent's move steps on the fake hypervisor: each idempotent, so a redelivered order (an agent
killed after acting, before its offset was committed) changes nothing on the host and reports the same."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from builders import build_flavor, build_move_ordered
from driver_contract import EventRecorder, guest_spec
from novalog.agent.config import HostConfig
from novalog.agent.driver import DEFINED, STARTED, UNDEFINED, GuestSpec, NodeInfo, PowerState
from novalog.agent.fake import FakeDriver
from novalog.agent.service import NodeAgent
from novalog.events.outbound import Outbound
from novalog.events.types import InstanceMoveFailed, InstanceMoveProgressed

SMALL = build_flavor()  # what the guest is spawned with below: 1 vCPU, 512 MiB
BIG = build_flavor(id="flavor-2", name="m1.large", vcpus=2, ram=1024)


@pytest.fixture
def hosts() -> Iterator[dict[str, FakeDriver]]:
    drivers = {name: FakeDriver(NodeInfo("fake", 1, name, "fake", 8, 16384)) for name in ("host-1", "host-2")}
    yield drivers
    for driver in drivers.values():
        driver.close()


def agent(driver: FakeDriver) -> NodeAgent:
    """A fresh agent over the host's hypervisor, as one restarted after a kill would be (no Kafka needed for a step)."""
    name = driver.node_info().hypervisor_hostname
    return NodeAgent(HostConfig(name, 8, 16384, 100), driver, event_log=None, bootstrap="", shutdown_timeout=1.0)  # type: ignore[arg-type]


def running(driver: FakeDriver, instance_id: str = "instance-1") -> None:
    events = EventRecorder()
    driver.set_event_sink(events)
    driver.spawn(guest_spec(instance_id, vcpus=SMALL.vcpus, memory_mb=SMALL.ram))
    events.wait_for(instance_id, {STARTED})


def sizes(driver: FakeDriver) -> list[tuple[str, int, int, int]]:
    return [(g.instance_id, g.power_state, g.vcpus, g.memory_mb) for g in driver.list_guests()]


def same_report(first, again) -> bool:
    """The same event (a redelivery's derived id) saying the same thing; only the time of writing differs."""
    return first.envelope.event_id == again.envelope.event_id and replace(first, envelope=again.envelope) == again


def step(driver: FakeDriver, order) -> InstanceMoveProgressed | InstanceMoveFailed:
    (out,) = agent(driver)._move(order)
    return out.record


def test_every_step_done_twice_leaves_the_host_as_once_and_reports_the_same(hosts) -> None:
    source, dest = hosts["host-1"], hosts["host-2"]
    running(source)
    prepare = build_move_ordered("prepare", host="host-1", flavor=SMALL)
    finish = build_move_ordered("finish", host="host-2", flavor=BIG)

    for order, driver, expected in (
        (prepare, source, [("instance-1", PowerState.SHUTDOWN, 1, 512)]),
        (finish, dest, [("instance-1", PowerState.RUNNING, 2, 1024)]),
    ):
        first = step(driver, order)
        again = step(driver, order)  # the same order redelivered to a restarted agent
        assert isinstance(first, InstanceMoveProgressed) and same_report(first, again)
        assert sizes(driver) == expected
    # the source's guest is kept, off, for a revert
    assert sizes(source) == [("instance-1", PowerState.SHUTDOWN, 1, 512)]


def test_a_same_host_resize_and_its_revert_redefine_the_one_guest(hosts) -> None:
    host = hosts["host-1"]
    running(host)
    step(host, build_move_ordered("prepare", host="host-1", flavor=SMALL))
    finished = step(host, build_move_ordered("finish", host="host-1", flavor=BIG))
    assert finished.power_state == PowerState.RUNNING and sizes(host) == [("instance-1", PowerState.RUNNING, 2, 1024)]

    restored = step(host, build_move_ordered("restore", host="host-1", flavor=SMALL, claim_id="claim-1"))
    again = step(host, build_move_ordered("restore", host="host-1", flavor=SMALL, claim_id="claim-1"))
    assert same_report(restored, again) and sizes(host) == [("instance-1", PowerState.RUNNING, 1, 512)]


def test_a_stopped_guest_is_finished_and_restored_without_running(hosts) -> None:
    source, dest = hosts["host-1"], hosts["host-2"]
    running(source)
    source.power_off("instance-1", clean=False)
    step(source, build_move_ordered("prepare", host="host-1", flavor=SMALL, power_on=False))
    finished = step(dest, build_move_ordered("finish", host="host-2", flavor=BIG, power_on=False))
    restored = step(source, build_move_ordered("restore", host="host-1", flavor=SMALL, power_on=False))
    assert (finished.power_state, restored.power_state) == (PowerState.SHUTDOWN, PowerState.SHUTDOWN)
    assert sizes(dest) == [("instance-1", PowerState.SHUTDOWN, 2, 1024)]


@pytest.mark.parametrize("step_name", ["finish", "rebuild", "restore"])
def test_a_new_guest_of_a_server_that_was_off_is_defined_off_never_started(hosts, step_name: str) -> None:
    # Booted then stopped, its STARTED event could reach the log after the step's report
    # and show the server running while its guest is off (a flaky cold migration test).
    host = hosts["host-2"]
    events = EventRecorder()
    host.set_event_sink(events)

    done = step(host, build_move_ordered(step_name, host="host-2", flavor=BIG, power_on=False))

    assert isinstance(done, InstanceMoveProgressed) and done.power_state == PowerState.SHUTDOWN
    assert sizes(host) == [("instance-1", PowerState.SHUTDOWN, 2, 1024)]
    host.destroy("instance-1")
    events.wait_for("instance-1", {UNDEFINED})
    assert events.events_of("instance-1") == [(DEFINED, PowerState.SHUTDOWN), (UNDEFINED, PowerState.NOSTATE)]


def test_a_source_that_lost_the_guest_prepares_and_the_destination_boots_it(hosts) -> None:
    source, dest = hosts["host-1"], hosts["host-2"]  # nothing runs on host-1: its hypervisor restarted
    prepared = step(source, build_move_ordered("prepare", host="host-1", flavor=SMALL))
    finished = step(dest, build_move_ordered("finish", host="host-2", flavor=BIG))
    assert (prepared.power_state, finished.power_state) == (PowerState.NOSTATE, PowerState.RUNNING)


def test_a_live_migration_done_twice_moves_once_then_reports_the_failure_it_meets(hosts) -> None:
    source, dest = hosts["host-1"], hosts["host-2"]
    running(source)
    live = build_move_ordered("live", host="host-2", flavor=SMALL)
    first = step(source, live)
    assert isinstance(first, InstanceMoveProgressed) and sizes(dest) == [("instance-1", PowerState.RUNNING, 1, 512)]
    # Redelivered after it succeeded: the guest is gone from the source, so it is refused;
    # the instance table ignores a failure for a step it is already past.
    assert isinstance(step(source, live), InstanceMoveFailed)
    adopted = step(dest, build_move_ordered("adopt", host="host-2", flavor=SMALL))
    assert adopted.power_state == PowerState.RUNNING


def test_an_unknown_step_is_a_reported_failure(hosts) -> None:
    failed = step(hosts["host-1"], build_move_ordered("teleport", host="host-1"))
    assert isinstance(failed, InstanceMoveFailed) and "unknown move step 'teleport'" in failed.fault.message


class GatedDriver(FakeDriver):
    """A host whose spawns wait at a gate, so the agent can be looked at while a step is under way."""

    def __init__(self, node: NodeInfo) -> None:
        super().__init__(node)
        self.entered, self.gate = threading.Event(), threading.Event()

    def spawn(self, spec: GuestSpec, *, start: bool = True) -> None:
        self.entered.set()
        assert self.gate.wait(5), "the test never opened the gate"
        super().spawn(spec, start=start)


class SentLog:
    """What the agent sends from its own threads (lifecycle events, syncs), in order."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def send(self, out: Outbound) -> None:
        self.sent.append(out)


def test_a_power_sync_waits_for_the_step_under_way_and_reads_where_it_ended() -> None:
    # Read mid-step, the guest is not defined yet: NOSTATE, which could land after the step's
    # report (SHUTDOWN) and stay on the row until the next sync.
    driver = GatedDriver(NodeInfo("fake", 1, "host-2", "fake", 8, 16384))
    sent = SentLog()
    node = NodeAgent(HostConfig("host-2", 8, 16384, 100), driver, event_log=sent, bootstrap="")  # type: ignore[arg-type]
    finish = build_move_ordered("finish", host="host-2", flavor=BIG, power_on=False)
    stepping = threading.Thread(target=node.handle, args=(None, finish))
    stepping.start()
    assert driver.entered.wait(5)

    syncing = threading.Thread(target=node._sync_now)
    syncing.start()
    syncing.join(0.5)
    waited = syncing.is_alive()
    driver.gate.set()
    stepping.join(5)
    syncing.join(5)
    driver.close()

    assert waited
    assert [(out.record.instance_id, out.record.transition, out.record.power_state) for out in sent.sent] == [
        ("instance-1", "SYNC", PowerState.SHUTDOWN)
    ]
