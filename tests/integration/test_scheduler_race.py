"""Several schedulers at once, 500 requests racing for tight capacity: never an overcommitted host."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from novalog.events import topics
from novalog.events.kafka.log import EventLog
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, Flavor
from novalog.events.types import (
    ClaimAccepted,
    ClaimRejected,
    InstanceBuildRequested,
    InstanceSchedulingFailed,
    InstanceSpawned,
    PlacementProposed,
)
from novalog.projections import host_state
from stack_harness import RunningStack, assert_log_holds, stack_settings, wait_until

# 3 hosts x 2048 MB x 1.0 = 24 instances of 256 MB at the very most.
HOSTS = [("cn1", 2, 2048, 40), ("cn2", 2, 2048, 40), ("cn3", 2, 2048, 40)]
FLAVOR = Flavor(id="race", name="race.tiny", vcpus=1, ram=256, disk=1)
REQUESTS = 500


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("race"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS], schedulers=2)
    try:
        yield running.start()
    finally:
        running.stop()


def test_two_schedulers_race_without_overcommit(stack: RunningStack) -> None:
    log = EventLog(stack.settings.kafka_bootstrap, stack.settings.topic_prefix, linger_ms=5)
    ids = [str(uuid.uuid4()) for _ in range(REQUESTS)]
    try:
        log.append(
            Outbound.event(
                iid,
                InstanceBuildRequested(
                    envelope=Envelope.new(InstanceBuildRequested, "race-test"),
                    instance_id=iid, name=f"race-{i}", project_id="race", user_id="race", flavor=FLAVOR, image_ref="img",
                ),
            )
            for i, iid in enumerate(ids)
        )
    finally:
        log.close()

    def outcomes() -> dict[str, str]:
        found: dict[str, str] = {}
        for _, record in stack.records(topics.INSTANCE_EVENTS):
            if isinstance(record, InstanceSpawned):
                found[record.instance_id] = "ACTIVE"
            elif isinstance(record, InstanceSchedulingFailed):
                found[record.instance_id] = "ERROR"
        return found

    def all_settled() -> dict[str, str] | None:
        found = outcomes()
        return found if set(ids) <= set(found) else None

    settled = wait_until(all_settled, 180, "every request to end ACTIVE or ERROR")
    statuses = Counter(settled[i] for i in ids)
    assert set(statuses) <= {"ACTIVE", "ERROR"} and 0 < statuses["ACTIVE"] <= 24, statuses

    records = [r for _, r in stack.records(topics.HOST_EVENTS, topics.INSTANCE_EVENTS) if r is not None]
    proposals = [r for r in records if isinstance(r, PlacementProposed) and r.instance_id in set(ids)]
    # Both schedulers took part, and no request was proposed more than max_attempts times.
    assert len({p.scheduler for p in proposals}) == 2, Counter(p.scheduler for p in proposals)
    per_instance = Counter(p.instance_id for p in proposals)
    assert max(per_instance.values()) <= stack.settings.max_attempts, per_instance.most_common(3)
    # Every proposal got exactly one decision.
    decided = Counter(r.claim_id for r in records if isinstance(r, ClaimAccepted | ClaimRejected))
    assert {p.claim_id for p in proposals} == set(decided) and set(decided.values()) == {1}

    # Replaying host.events through the single writer's fold: no host is ever above capacity x ratio.
    states: dict[str, object] = {}
    peak: dict[str, int] = defaultdict(int)
    for _, record in stack.records(topics.HOST_EVENTS):
        if record is None:
            continue
        state = host_state.apply(states.get(record.host), record)
        used = sum(c.memory_mb for c in state.claims)
        assert used <= state.memory_mb * state.ram_allocation_ratio - state.reserved_memory_mb, (record.host, used)
        peak[record.host] = max(peak[record.host], used)
        states[record.host] = state
    assert sum(peak.values()) >= statuses["ACTIVE"] * FLAVOR.ram
    assert_log_holds(stack)
