"""The agent names each guest as the API names its instance (Nova's instance_name_template), on the fake hypervisor.

The number comes from the build offset the orders carry (events/instance_names.py);
an order written before orders carried it names the guest `novalog-<instance id>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from builders import build_move_ordered, build_rebuild_ordered, build_spawn_ordered
from driver_contract import EventRecorder
from novalog.agent.config import HostConfig
from novalog.agent.driver import STARTED, NodeInfo
from novalog.agent.fake import FakeDriver
from novalog.agent.reconcile import fold_desired
from novalog.agent.service import NodeAgent
from novalog.events.instance_names import InstanceNaming, partition_of
from novalog.events.outbound import Outbound
from novalog.events.types import InstanceSpawned

IID = "instance-1"
NAME = f"instance-{41 * 256 + partition_of(IID, 8):08x}"  # the default template over build offset 41, the id's partition of 8


class SentRecords:
    """The agent's event log, reduced to what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def send(self, out: Outbound) -> None:
        self.sent.append(out)


@pytest.fixture
def driver() -> Iterator[FakeDriver]:
    fake = FakeDriver(NodeInfo("fake", 1, "host-1", "fake", 8, 16384))
    yield fake
    fake.close()


def agent(driver: FakeDriver, naming: InstanceNaming | None = None) -> tuple[NodeAgent, SentRecords]:
    log = SentRecords()
    node = NodeAgent(HostConfig("host-1", 8, 16384, 100), driver, event_log=log, bootstrap="", naming=naming)  # type: ignore[arg-type]
    return node, log


def carry_out(node: NodeAgent, order: Any) -> list[Outbound]:
    return node.handle(None, order)  # type: ignore[arg-type]


def names(driver: FakeDriver) -> list[tuple[str, str]]:
    return [(g.instance_id, g.domain_name) for g in driver.list_guests()]


@pytest.mark.parametrize(("build_offset", "expected"), [(41, NAME), (-1, f"novalog-{IID}")], ids=["numbered", "order from before"])
def test_a_spawned_guest_is_named_after_its_instance_name_and_reported_so(driver: FakeDriver, build_offset: int, expected: str) -> None:
    node, log = agent(driver)
    events = EventRecorder()
    driver.set_event_sink(lambda event: (events(event), node.on_lifecycle(event)))

    carry_out(node, build_spawn_ordered(IID, build_offset=build_offset))
    events.wait_for(IID, {STARTED})

    assert names(driver) == [(IID, expected)]
    assert [o.record.domain_name for o in log.sent if isinstance(o.record, InstanceSpawned)] == [expected]


def test_the_deployments_template_names_the_guest(driver: FakeDriver) -> None:
    node, _ = agent(driver, InstanceNaming("guest-%(display_name)s-%(id)x", 8))

    carry_out(node, build_spawn_ordered(IID, name="web", build_offset=1))

    (number,) = [int(n.rpartition("-")[2], 16) for _, n in names(driver)]
    assert names(driver) == [(IID, f"guest-web-{number:x}")] and number // 256 == 1


def test_a_moved_guest_keeps_its_name_on_the_destination(driver: FakeDriver) -> None:
    node, _ = agent(driver)

    carry_out(node, build_move_ordered("finish", host="host-1", instance_id=IID, build_offset=41))

    assert names(driver) == [(IID, NAME)]


def test_a_rebuild_of_a_guest_the_host_lost_boots_it_again_under_its_name(driver: FakeDriver) -> None:
    node, _ = agent(driver)
    carry_out(node, build_spawn_ordered(IID, build_offset=41))
    driver.destroy(IID)  # the host lost it

    carry_out(node, build_rebuild_ordered(instance_id=IID))

    assert names(driver) == [(IID, NAME)]


@pytest.mark.parametrize(("orders", "expected"), [
    ([build_spawn_ordered(IID, build_offset=41)], 41),
    ([build_spawn_ordered(IID, build_offset=41), build_rebuild_ordered(instance_id=IID)], 41),  # a rebuild carries none: kept
    ([build_spawn_ordered(IID, build_offset=41), build_move_ordered("finish", instance_id=IID)], 41),  # a move order from before
    ([build_move_ordered("finish", instance_id=IID, build_offset=7)], 7),  # a guest a move brought here
    ([build_spawn_ordered(IID)], -1),
], ids=["spawn", "rebuild", "old move order", "moved here", "old spawn order"])
def test_the_desired_set_keeps_the_offset_that_names_the_guest(orders: list[Any], expected: int) -> None:
    desired: dict = {}
    for order in orders:
        desired = fold_desired(desired, order)
    assert desired[IID].build_offset == expected
