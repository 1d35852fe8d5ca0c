"""`novalog export` end to end: servers booted and deleted, instance.events exported, every event found in the files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.parquet as pq
import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from novalog.events import topics
from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, stack_settings, wait_until

HOSTS = [("ex1", 8, 16384, 200), ("ex2", 8, 16384, 200)]
UNDECODABLE = b"\x00\x00\x00\xff\xffnot avro"  # framed, but with a schema id nobody registered


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("export"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def history(stack: RunningStack) -> datetime:
    """Three servers booted, two deleted, and one undecodable record on instance.events; returns a time between boots and deletes."""
    client = stack.client
    ids = [client.boot(f"export-{i}", SMALL_FLAVOR["id"]) for i in range(3)]
    assert {s["status"] for s in client.wait_settled(ids, 60).values()} == {"ACTIVE"}
    between = datetime.now(UTC)
    for server_id in ids[:2]:
        client.delete(server_id)
    # The API shows a server gone before its agent reports InstanceDeleted.
    deleted = lambda: {r.instance_id for _, r in stack.records(topics.INSTANCE_EVENTS) if type(r).__name__ == "InstanceDeleted"}  # noqa: E731
    wait_until(lambda: set(ids[:2]) <= deleted(), 30, "both deletes in the log")
    stack.produce_raw(stack.topic(topics.INSTANCE_EVENTS), b"bad-key", UNDECODABLE)
    return between


def export(stack: RunningStack, out: Path, fmt: str, *args: str, topic: str = topics.INSTANCE_EVENTS) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": stack.settings.kafka_bootstrap, "NOVALOG_TOPIC_PREFIX": stack.settings.topic_prefix}
    command = [sys.executable, "-m", "novalog", "export", "--topic", topic, "--format", fmt, "--output", str(out), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def read_back(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    with path.open("rb") as f:
        return list(fastavro.reader(f))


Log = dict[tuple[int, int], tuple[Any, Any]]


def direct(stack: RunningStack) -> Log:
    """(partition, offset) -> (message, decoded record or None), read straight from the topic."""
    return {(m.partition(), m.offset()): (m, r) for m, r in stack.records(topics.INSTANCE_EVENTS)}


def exported_window(before: Log, after: Log, exported: set[tuple[int, int]], first: dict[int, int]) -> set[tuple[int, int]]:
    """What the export must hold, read between two direct reads while the agents keep appending (periodic power syncs).

    Per partition: every offset from `first` up to the export's last one, and
    at least up to the end the first read saw (the export planned its ends after it).
    """
    window = set()
    for partition, start in first.items():
        ends = [o + 1 for p, o in exported | set(before) if p == partition]
        end = max(ends, default=start)
        window |= {(p, o) for (p, o) in after if p == partition and start <= o < end}
    return window


def check_rows(rows: list[dict[str, Any]], log: Log) -> None:
    """Each row says what the topic holds at its position: ids, types, times, key, the instance."""
    for row in rows:
        msg, record = log[(row["kafka_partition"], row["kafka_offset"])]
        assert (row["event_id"], row["event_type"], row["occurred_at"], row["instance_id"]) == (
            record.envelope.event_id, record.envelope.event_type, record.envelope.occurred_at, record.instance_id)
        assert (row["kafka_topic"], row["kafka_key"]) == (msg.topic(), msg.key().decode())
        assert row["kafka_timestamp"] == datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC)


def test_the_planted_record_is_dead_lettered_and_the_log_holds(stack: RunningStack, history: datetime) -> None:
    # Judged before test_since_before_the_retained_log_says_so cuts the head off the log.
    letters = lambda: [m for m, _ in stack.records(topics.dead_letter(topics.INSTANCE_EVENTS)) if m.key() == b"bad-key"]  # noqa: E731
    wait_until(letters, 20, "the undecodable record in the dead-letter topic")
    assert_log_holds(stack)


@pytest.mark.parametrize("fmt", ["parquet", "avro"])
def test_every_event_of_the_topic_is_a_row_and_the_undecodable_one_is_reported(
        stack: RunningStack, history: datetime, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"instance-events.{fmt}"
    before = direct(stack)
    done = export(stack, out, fmt)
    after = direct(stack)
    (bad,) = [key for key, (_, record) in before.items() if record is None]
    # Status 3: written, but one record is not in it, and stderr says which.
    assert done.returncode == 3, done.stdout + done.stderr
    assert "1 records could not be read" in done.stderr and f"partition {bad[0]} offset {bad[1]}: not a novalog record" in done.stderr

    rows = read_back(out, fmt)
    exported = {(r["kafka_partition"], r["kafka_offset"]) for r in rows}
    window = exported_window(before, after, exported, {p: 0 for p, _ in after})
    assert exported == window - {bad}
    assert len(rows) == len(exported) >= len(before) - 1
    check_rows(rows, after)
    types = {r["event_type"] for r in rows}
    assert {"InstanceBuildRequested", "ClaimAccepted", "InstanceSpawned", "InstanceDeleteRequested", "InstanceDeleted"} <= types


def test_since_starts_each_partition_at_its_first_record_stamped_then(stack: RunningStack, history: datetime, tmp_path: Path) -> None:
    out = tmp_path / "since.parquet"
    before = direct(stack)
    done = export(stack, out, "parquet", "--since", history.isoformat())
    after = direct(stack)
    since_ms = history.timestamp() * 1000
    first = {}
    for partition in sorted({p for p, _ in after}):
        stamped = sorted(o for p, o in after if p == partition and after[(p, o)][0].timestamp()[1] >= since_ms)
        first[partition] = stamped[0] if stamped else max(o for p, o in after if p == partition) + 1
    rows = pq.read_table(out).to_pylist()
    exported = {(r["kafka_partition"], r["kafka_offset"]) for r in rows}
    undecodable = {key for key, (_, record) in after.items() if record is None}
    assert exported == exported_window(before, after, exported, first) - undecodable
    check_rows(rows, after)
    assert {"InstanceDeleteRequested", "InstanceDeleted"} <= {r["event_type"] for r in rows}
    assert "InstanceBuildRequested" not in {r["event_type"] for r in rows}
    assert done.returncode == 3 and "warning" not in done.stderr  # nothing was deleted from the log


def test_since_before_the_retained_log_says_so(stack: RunningStack, history: datetime, tmp_path: Path) -> None:
    # Retention, played by DeleteRecords: the first records of one partition are gone.
    before = direct(stack)
    partition = max({p for p, _ in before}, key=lambda p: sum(1 for q, _ in before if q == p))
    cut = sorted(o for p, o in before if p == partition)[2]
    admin = AdminClient({"bootstrap.servers": stack.settings.kafka_bootstrap})
    for future in admin.delete_records([TopicPartition(stack.topic(topics.INSTANCE_EVENTS), partition, cut)]).values():
        future.result(30)
    out = tmp_path / "truncated.avro"
    done = export(stack, out, "avro", "--since", "2000-01-01T00:00:00Z")
    after = direct(stack)
    assert "reaches before the start of the retained log" in done.stderr, done.stderr
    assert f"partition {partition} starts at offset {cut}" in done.stderr
    rows = read_back(out, "avro")
    exported = {(r["kafka_partition"], r["kafka_offset"]) for r in rows}
    first = {p: (cut if p == partition else 0) for p, _ in after}
    undecodable = {key for key, (_, record) in after.items() if record is None}
    assert exported == exported_window(before, after, exported, first) - undecodable
    check_rows(rows, after)


def test_an_unknown_topic_is_an_error_naming_the_known_ones(stack: RunningStack, tmp_path: Path) -> None:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": stack.settings.kafka_bootstrap, "NOVALOG_TOPIC_PREFIX": stack.settings.topic_prefix}
    out = tmp_path / "x.parquet"
    done = subprocess.run([sys.executable, "-m", "novalog", "export", "--topic", "instances", "--format", "parquet", "--output", str(out)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no records travel on 'instances'" in done.stderr and "instance.events" in done.stderr
    assert not out.exists()
