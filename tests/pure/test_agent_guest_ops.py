"""The agent's rebuild, snapshot and rescue on the fake hypervisor: each carried out once, however often its order comes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from builders import build_flavor, build_rebuild_ordered, build_rescue_ordered, build_snapshot_ordered
from driver_contract import EventRecorder, guest_spec
from novalog.agent.config import HostConfig
from novalog.agent.driver import STARTED, STOPPED, UNDEFINED, NodeInfo, PowerState
from novalog.agent.fake import FakeDriver
from novalog.agent.guest_ops import carry_out
from novalog.agent.service import NodeAgent
from novalog.events.types import ImageUploaded, InstanceActionFailed, InstanceRebuilt, InstanceRescued, InstanceSnapshotted

SMALL = build_flavor()


@pytest.fixture
def host() -> Iterator[tuple[FakeDriver, EventRecorder]]:
    driver = FakeDriver(NodeInfo("fake", 1, "host-1", "fake", 8, 16384))
    events = EventRecorder()
    driver.set_event_sink(events)
    driver.spawn(guest_spec("instance-1", vcpus=SMALL.vcpus, memory_mb=SMALL.ram))
    events.wait_for("instance-1", {STARTED})
    yield driver, events
    driver.close()


def agent(driver: FakeDriver) -> NodeAgent:
    """A fresh agent over the host's hypervisor, as one restarted after a kill would be."""
    return NodeAgent(HostConfig("host-1", 8, 16384, 100), driver, event_log=None, bootstrap="")  # type: ignore[arg-type]


def test_a_redelivered_rebuild_reports_the_same_and_reimages_once(host) -> None:
    driver, events = host
    order = build_rebuild_ordered("image-2")

    (first,) = carry_out(agent(driver), order)
    (again,) = carry_out(agent(driver), order)  # the agent was killed before committing: the order comes again

    assert isinstance(first.record, InstanceRebuilt)
    assert (first.record.image_ref, first.record.power_state, first.record.host) == ("image-2", PowerState.RUNNING, "host-1")
    assert again.record == replace(first.record, envelope=again.record.envelope) and again.record.envelope.event_id == first.record.envelope.event_id
    assert driver.booted_from("instance-1") == ("image-2", False)
    driver.destroy("instance-1")
    events.wait_for("instance-1", {UNDEFINED})
    stops_and_starts = [t for t in events.transitions_of("instance-1") if t in (STARTED, STOPPED)]
    assert stops_and_starts == [STARTED, STOPPED, STARTED, STOPPED]  # spawned, rebuilt once, destroyed


def test_a_stopped_server_is_rebuilt_off(host) -> None:
    driver, _ = host
    driver.power_off("instance-1")
    (out,) = carry_out(agent(driver), build_rebuild_ordered("image-3", power_on=False))
    assert (out.record.power_state, driver.booted_from("instance-1")) == (PowerState.SHUTDOWN, ("image-3", False))


def test_a_snapshot_reports_its_bits_and_is_written_once(host, tmp_path: Path) -> None:
    driver, _ = host
    dest = tmp_path / "snap-1"
    order = build_snapshot_ordered("snap-1", image_file=str(dest))

    uploaded, done = carry_out(agent(driver), order)
    data = dest.read_bytes()
    again = carry_out(agent(driver), order)

    assert isinstance(uploaded.record, ImageUploaded) and isinstance(done.record, InstanceSnapshotted)
    assert uploaded.key == "image:snap-1" and uploaded.record.location == str(dest)
    assert (uploaded.record.size, uploaded.record.checksum) == (len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
    assert uploaded.record.os_hash_value == hashlib.sha512(data).hexdigest()
    assert b'"image_ref": "cirros"' in data  # the fake's snapshot: what it knows of the guest
    assert [o.record.envelope.event_id for o in again] == [uploaded.record.envelope.event_id, done.record.envelope.event_id]
    assert again[0].record == replace(uploaded.record, envelope=again[0].record.envelope)
    assert dest.read_bytes() == data


def test_rescue_then_unrescue(host) -> None:
    driver, _ = host
    (rescued,) = carry_out(agent(driver), build_rescue_ordered(True))
    assert isinstance(rescued.record, InstanceRescued) and rescued.record.rescued and driver.booted_from("instance-1") == ("cirros", True)
    (back,) = carry_out(agent(driver), build_rescue_ordered(False))
    assert not back.record.rescued and back.record.power_state == PowerState.RUNNING and driver.booted_from("instance-1") == ("cirros", False)


def test_a_refused_order_is_reported_as_the_actions_failure(host) -> None:
    driver, _ = host
    (out,) = carry_out(agent(driver), build_snapshot_ordered("snap-2", instance_id="ghost"))
    assert isinstance(out.record, InstanceActionFailed)
    assert (out.record.action, out.record.instance_id) == ("createImage", "ghost")
    assert "snapshot of instance ghost on host-1 failed: no such instance" in out.record.fault.message
