"""The log judged: each invariant holds on a healthy log and catches the violation planted in it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from builders import (
    NOW,
    build_build_requested,
    build_capacity_report,
    build_claim_accepted,
    build_claim_released,
    build_deleted,
    build_flavor_created,
    build_power_state_changed,
    build_proposal,
    build_quota_updated,
    build_resources,
    build_servers_requested,
    build_spawned,
    build_spec,
)
from novalog.events import topics
from novalog.events.codec import encode
from novalog.events.types import PlacementProposed
from novalog.projections.audit import Entry, check

GRACE = timedelta(seconds=60)
LATER = NOW + timedelta(hours=1)


class Log:
    """A log under construction: records appended to topics, partition 0, in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def add(self, topic: str, key: str, record: object, **headers: str) -> Entry:
        offset = sum(1 for e in self.entries if e.topic == topic)
        entry = Entry(topic, 0, offset, NOW, key.encode(), encode(record), record, None, headers)
        self.entries.append(entry)
        return entry

    def garbage(self, topic: str) -> Entry:
        offset = sum(1 for e in self.entries if e.topic == topic)
        entry = Entry(topic, 0, offset, NOW, b"k", b"\x00garbage", None, "not a novalog record")
        self.entries.append(entry)
        return entry

    def check(self, end: datetime = LATER, **limits: int) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for v in check(self.entries, prefix="p", quota_defaults=limits or {"instances": -1, "cores": -1, "ram": -1}, grace=GRACE, end=end):
            found.setdefault(v.invariant, []).append(v.message)
        return found


def boot(log: Log, instance: str, claim: str, host: str = "host-1", vcpus: int = 1) -> None:
    """A build let through, proposed, accepted and spawned, as the running stack writes it."""
    build = build_build_requested(instance)
    log.add(topics.INSTANCE_EVENTS, instance, build)
    resources = build_resources(vcpus=vcpus)
    spec = build_spec(instance_id=instance)
    log.add(topics.HOST_EVENTS, host, build_proposal(claim, host=host, instance_id=instance, resources=resources, spec=spec))
    log.add(topics.INSTANCE_EVENTS, instance, build_claim_accepted(claim, host=host, instance_id=instance, resources=resources, spec=spec))
    log.add(topics.INSTANCE_EVENTS, instance, build_spawned(instance_id=instance, host=host))


def healthy() -> Log:
    log = Log()
    log.add(topics.HOST_EVENTS, "host-1", build_capacity_report("host-1", vcpus=4, cpu_allocation_ratio=1.0))
    boot(log, "i1", "c1", vcpus=2)
    boot(log, "i2", "c2", vcpus=2)
    return log


def test_a_healthy_log_has_no_violation() -> None:
    assert healthy().check() == {}


def test_a_planted_overcommit_is_caught() -> None:
    log = healthy()
    # A decision no proposal asked for: 4 + 1 vCPUs on a 4-vCPU host at ratio 1.
    planted = build_claim_accepted("c3", host="host-1", instance_id="i2", resources=build_resources(vcpus=1),
                                   spec=build_spec(instance_id="i2"), at=NOW + timedelta(seconds=1))
    log.add(topics.INSTANCE_EVENTS, "i2", planted)
    found = log.check()
    assert found["capacity"] == ["host-1 over capacity when claim c3 was accepted: vcpus: requested 1, room 0 (4 x 1 - 0 reserved - 4 claimed)"]


def test_a_claim_released_twice_is_caught() -> None:
    log = healthy()
    log.add(topics.HOST_EVENTS, "host-1", build_claim_released("c1", host="host-1"))
    again = build_claim_released("c1", host="host-1")
    log.add(topics.HOST_EVENTS, "host-1", replace(again, envelope=replace(again.envelope, event_id="another-release")))
    assert log.check()["released-twice"] == ["claim c1 on host-1 was given back by 2 different events"]


def test_a_redelivered_release_is_the_same_fact() -> None:
    log = healthy()
    log.add(topics.HOST_EVENTS, "host-1", build_claim_released("c1", host="host-1"))
    log.add(topics.HOST_EVENTS, "host-1", build_claim_released("c1", host="host-1"))
    assert "released-twice" not in log.check()


def test_a_deleted_instance_still_holding_its_claim_is_caught() -> None:
    log = healthy()
    log.add(topics.INSTANCE_EVENTS, "i1", build_deleted("i1", host="host-1"))
    assert log.check()["held-by-gone"] == ["deleted instance i1 still holds claims on host-1"]
    log.add(topics.HOST_EVENTS, "host-1", build_claim_released("c1", host="host-1"))
    assert log.check() == {}


def test_a_lost_request_is_caught() -> None:
    log = healthy()
    log.add(topics.INSTANCE_EVENTS, "i9", build_build_requested("i9"))  # nobody ever placed it
    (message,) = log.check()["unfinished"]
    assert message.startswith("i9 asked for at") and "is still building/scheduling" in message


def test_a_request_younger_than_the_grace_is_in_flight() -> None:
    log = healthy()
    log.add(topics.INSTANCE_EVENTS, "i9", build_build_requested("i9", at=LATER - timedelta(seconds=5)))
    assert log.check() == {}


def test_a_project_over_its_quota_is_caught() -> None:
    log = Log()
    log.add(topics.QUOTA_EVENTS, "project-1", build_quota_updated(limits={"instances": 1}))
    request = build_servers_requested(2)
    log.add(topics.QUOTA_EVENTS, "project-1", request)
    for build in request.builds:  # the writer let both through although the limit is 1 (the first one's build comes last)
        log.add(topics.INSTANCE_EVENTS, build.instance_id, build)
    found = log.check()
    assert found["quota"] == ["project project-1 over its quota when instance-1 was let through: instances 2 > 1"]


def test_a_record_that_does_not_decode_must_be_dead_lettered() -> None:
    log = healthy()
    bad = log.garbage(topics.INSTANCE_EVENTS)
    assert log.check()["undecodable"] == ["instance.events:0:6: not a novalog record; it is not in instance.events.dlq"]
    letter = Entry("instance.events.dlq", 0, 0, NOW, b"k", bad.value, None, "x",
                   {"dlq.original.topic": "p.instance.events", "dlq.original.partition": "0", "dlq.original.offset": str(bad.offset),
                    "dlq.error.message": "not a novalog record"})
    log.entries.append(letter)
    assert log.check() == {}


@pytest.mark.parametrize(
    "misplaced",
    [build_flavor_created(), build_claim_accepted("c3", host="host-1", instance_id="i2", resources=build_resources(vcpus=1))],
    ids=["a flavor", "a claim decision nobody made"],
)
def test_a_record_on_a_topic_it_does_not_belong_on_is_judged_as_a_dead_letter_only(misplaced: object) -> None:
    log = healthy()
    bad = log.add(topics.HOST_EVENTS, "host-1", misplaced)
    # The host table's fold refuses it (NotOnThisTopic): no claim, no capacity, only the dead letter it must be.
    assert log.check() == {"undecodable": [f"host.events:0:{bad.offset}: {type(misplaced).__name__} does not belong on host.events; "
                                           "it is not in host.events.dlq"]}
    log.entries.append(Entry("host.events.dlq", 0, 0, NOW, b"host-1", bad.value, None, None,
                             {"dlq.original.topic": "p.host.events", "dlq.original.partition": "0", "dlq.original.offset": str(bad.offset),
                              "dlq.error.message": "FlavorCreated does not belong on host.events/host.heartbeats"}))
    assert log.check() == {}


def test_a_proposal_redelivered_after_its_claim_was_given_back_holds_nothing() -> None:
    log = healthy()
    (proposal,) = [e.record for e in log.entries if isinstance(e.record, PlacementProposed) and e.record.claim_id == "c1"]
    log.add(topics.INSTANCE_EVENTS, "i1", build_deleted("i1", host="host-1"))
    log.add(topics.HOST_EVENTS, "host-1", build_claim_released("c1", host="host-1", instance_id="i1"))
    # A restarted scheduler handles the build again and proposes the same claim (its id is derived from the
    # request): decide_claim answers nothing for a claim already given back, so nothing is held again.
    log.add(topics.HOST_EVENTS, "host-1", proposal)
    boot(log, "i3", "c3", vcpus=2)  # 2 + 2 of 4 vCPUs: room only because c1 stayed given back
    assert log.check() == {}


def test_a_release_still_on_its_way_is_in_flight_and_a_leak_once_the_grace_is_over() -> None:
    log = healthy()
    log.add(topics.INSTANCE_EVENTS, "i1", build_deleted("i1", host="host-1"))
    # The agent reports the deletion on instance.events and the release on host.events: two appends.
    assert log.check(end=NOW + timedelta(seconds=5)) == {}
    assert log.check()["held-by-gone"] == ["deleted instance i1 still holds claims on host-1"]


def test_an_instance_placed_on_two_hosts_is_caught_once_the_second_claim_is_not_given_back() -> None:
    log = healthy()
    log.add(topics.HOST_EVENTS, "host-2", build_capacity_report("host-2", vcpus=4, cpu_allocation_ratio=1.0))
    # The build placed again (a redelivered request) on host-2: the instance table gives the claim back, later.
    spec = build_spec(instance_id="i1")
    log.add(topics.HOST_EVENTS, "host-2", build_proposal("c9", host="host-2", instance_id="i1", spec=spec))
    log.add(topics.INSTANCE_EVENTS, "i1", build_claim_accepted("c9", host="host-2", instance_id="i1", spec=spec))
    assert log.check(end=NOW + timedelta(seconds=5)) == {}
    assert log.check()["placed-twice"] == ["i1 holds claims on host-1, host-2 outside a move"]
    log.add(topics.HOST_EVENTS, "host-2", build_claim_released("c9", host="host-2", instance_id="i1"))
    assert log.check() == {}


def test_an_instance_stuck_mid_build_is_caught_although_power_readings_keep_coming() -> None:
    log = healthy()
    build = build_build_requested("i9")
    log.add(topics.INSTANCE_EVENTS, "i9", build)
    spec = build_spec(instance_id="i9")
    log.add(topics.HOST_EVENTS, "host-1", build_proposal("c9", host="host-1", instance_id="i9", spec=spec, resources=build_resources(vcpus=0)))
    log.add(topics.INSTANCE_EVENTS, "i9", build_claim_accepted("c9", host="host-1", instance_id="i9", spec=spec, resources=build_resources(vcpus=0)))
    # The guest never starts; the agent's power sync says "off" every few seconds up to the end of the log.
    for minutes in range(1, 60, 5):
        sync = build_power_state_changed("i9", power_state=0, at=NOW + timedelta(minutes=minutes))
        log.add(topics.INSTANCE_EVENTS, "i9", replace(sync, envelope=replace(sync.envelope, event_id=f"sync-{minutes}")))
    (message,) = log.check()["unfinished"]
    assert message.startswith("i9 asked for at") and "is still building/spawning (since 2024-01-01T12:00:00+00:00)" in message
