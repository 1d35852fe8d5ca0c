"""The synthetic cloud's log (`novalog bench replay`): deterministic, varied, and consistent with the folds.

A small cloud (8 hosts, 20 projects) lives through a few thousand records;
small, so that hosts fill up and claims get refused within them.
"""

from __future__ import annotations

from collections import Counter

from novalog.events.codec import encode
from novalog.projections.rebuild import new_rebuild
from novalog.projections.registry import PROJECTIONS
from novalog.projections.synthetic_log import Cloud, CloudShape, LogRecord, synthetic_log

SMALL = CloudShape(hosts=8, projects=20, busy=0.9, dead_letter_rate=0.002)
SOURCE_OF = {source: p.table for p in PROJECTIONS for source in p.sources}


def kinds(records: list[LogRecord]) -> Counter[str]:
    return Counter("undecodable" if isinstance(r.value, bytes) else type(r.value).__name__ for r in records)


def test_the_same_seed_gives_the_same_log_and_another_seed_another() -> None:
    log = list(synthetic_log(3000, SMALL, seed=1))

    assert len(log) == 3000
    assert log == list(synthetic_log(3000, SMALL, seed=1))
    assert log != list(synthetic_log(3000, SMALL, seed=2))


def test_the_log_has_boots_actions_moves_deletes_rejections_and_dead_letters() -> None:
    log = list(synthetic_log(8000, SMALL))
    found = kinds(log)

    # every step a live cloud writes: a boot's, an action's, a resize's, a delete's, a refusal's, a host's reports
    assert {
        "FlavorCreated", "ProjectCreated", "ServersRequested", "InstanceBuildRequested", "PlacementProposed", "ClaimAccepted",
        "ClaimRejected", "InstanceSpawned", "InstanceActionRequested", "InstancePowerStateChanged", "InstanceMoveRequested",
        "InstanceMoveProgressed", "InstanceDeleteRequested", "InstanceDeleted", "ClaimReleased", "QuotaUsageReleased",
        "HostCapacityReported", "HostHeartbeatReported", "undecodable",
    } <= set(found), found
    asked = sum(len(r.value.builds) for r in log if type(r.value).__name__ == "ServersRequested")
    assert found["InstanceBuildRequested"] < asked  # some creates were over their project's quota


def test_a_rebuild_of_the_encoded_log_gives_the_clouds_own_tables_and_counts_its_dead_letters() -> None:
    cloud = Cloud(SMALL, seed=3)
    tables, offsets = new_rebuild(), Counter()

    for record in cloud.log(6000):
        value = record.value if isinstance(record.value, bytes) else encode(record.value)
        if isinstance(record.value, tables[SOURCE_OF[record.topic]].projection.accepts):
            offsets[record.topic] += 1  # the cloud numbers the records its tables fold, per topic
        tables[SOURCE_OF[record.topic]].feed(record.key.encode(), value, offsets[record.topic])

    assert cloud.dead_letters > 0
    assert sum(t.dead_letters for t in tables.values()) == cloud.dead_letters
    for name, table in tables.items():
        assert table.rows == {k.encode(): row for k, row in cloud.rows[name].items()}, name
