"""A rebuild shared with a helper process gives the one-pass rebuild's rows, also when a table's topics are not co-partitioned."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from builders import build_envelope, build_heartbeat
from novalog import replay_fold
from novalog.bench_replay import delete_topics, write_log
from novalog.events import topics
from novalog.events.codec import encode
from novalog.events.kafka.log import ensure_topics, producer_config
from novalog.events.types import HostHeartbeatReported
from novalog.replay import rebuild


@pytest.fixture(scope="module")
def logged(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh prefix holding the synthetic cloud's first 6,000 records."""
    prefix = f"shares{uuid.uuid4().hex[:8]}"
    specs = topics.topic_specs(prefix, 8)
    ensure_topics(kafka_bootstrap, specs)
    written = write_log(kafka_bootstrap, prefix, 6000, seed=5, advance=lambda n: None)
    assert written.events == 6000
    yield prefix
    delete_topics(kafka_bootstrap, specs)


def rows_and_counts(result) -> dict:
    return {name: (t.rows, t.events, t.dead_letters) for name, t in result.tables.items()}


def one_pass(kafka_bootstrap: str, prefix: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(replay_fold, "SHARED_FROM", 10**12)
    return rebuild(kafka_bootstrap, prefix)


def shared(kafka_bootstrap: str, prefix: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(replay_fold, "SHARED_FROM", 0)
    done = []
    result = rebuild(kafka_bootstrap, prefix, progress=done.append)
    assert sum(done) >= result.events  # the bar counts the helper's records too
    return result


def test_a_shared_rebuild_gives_the_one_pass_rebuilds_rows(kafka_bootstrap: str, logged: str, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = one_pass(kafka_bootstrap, logged, monkeypatch)

    parts = shared(kafka_bootstrap, logged, monkeypatch)

    assert rows_and_counts(parts) == rows_and_counts(whole)
    assert parts.events == 6000 and len(parts.tables["instances"].rows) > 100
    assert not [n for n in parts.notes if "folded again" in n]


def test_a_table_whose_keys_span_two_partitions_is_folded_again_in_one_pass(
        kafka_bootstrap: str, logged: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A heartbeat of compute-0000 written to every partition of host.heartbeats, as a producer with another partitioner would.
    producer = Producer(producer_config(kafka_bootstrap))
    for partition in range(8):
        beat = build_heartbeat(host="compute-0000", envelope=build_envelope(HostHeartbeatReported, event_id=f"stray-{partition}"))
        producer.produce(f"{logged}.{topics.HOST_HEARTBEATS}", key=b"compute-0000", value=encode(beat), partition=partition)
    assert producer.flush(30) == 0
    whole = one_pass(kafka_bootstrap, logged, monkeypatch)

    parts = shared(kafka_bootstrap, logged, monkeypatch)

    assert rows_and_counts(parts) == rows_and_counts(whole)
    assert [n for n in parts.notes if "folded again" in n] == [
        "table host_state: keys in more than one partition of its topics, folded again in one pass"]
