"""The broker answers, topics are created as declared, and records round-trip."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from novalog.broker import KEEP_FOREVER, LATEST_ONLY, LocalBroker, TopicMismatchError, ensure_topics


@pytest.fixture
def admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap, "log_level": 0})


@pytest.fixture
def topic_name(admin: AdminClient) -> Iterator[Callable[[str], str]]:
    """Makes topic names unique to this test run and deletes the topics afterwards (for shared brokers)."""
    made: list[str] = []

    def make(base: str) -> str:
        name = f"test.{base}.{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name

    yield make
    existing = admin.list_topics(timeout=10).topics
    doomed = [name for name in made if name in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=10).values():
            future.result(15)


def _partition_count(admin: AdminClient, topic: str) -> int:
    return len(admin.list_topics(topic, timeout=10).topics[topic].partitions)


def _configs(admin: AdminClient, topic: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(15)
    return {name: entry.value for name, entry in entries.items()}


def test_broker_answers_with_its_cluster_id(admin: AdminClient, local_broker: LocalBroker | None) -> None:
    metadata = admin.list_topics(timeout=10)
    assert metadata.brokers
    assert metadata.cluster_id
    if local_broker is not None:
        assert metadata.cluster_id == local_broker.cluster_id
        assert local_broker.is_running()


def test_ensure_topics_creates_compacted_and_delete_topics(
    kafka_bootstrap: str, admin: AdminClient, topic_name: Callable[[str], str]
) -> None:
    state, events = topic_name("state"), topic_name("events")

    ensure_topics(kafka_bootstrap, {state: (3, LATEST_ONLY), events: (5, KEEP_FOREVER)})

    assert _partition_count(admin, state) == 3
    assert _partition_count(admin, events) == 5
    assert _configs(admin, state)["cleanup.policy"] == "compact"
    event_configs = _configs(admin, events)
    assert event_configs["cleanup.policy"] == "delete"
    assert event_configs["retention.ms"] == "-1"
    assert event_configs["retention.bytes"] == "-1"


def test_ensure_topics_is_idempotent(
    kafka_bootstrap: str, admin: AdminClient, topic_name: Callable[[str], str]
) -> None:
    state, events = topic_name("state"), topic_name("events")
    wanted = {state: (2, LATEST_ONLY), events: (4, KEEP_FOREVER)}

    ensure_topics(kafka_bootstrap, wanted)
    ensure_topics(kafka_bootstrap, wanted)

    assert _partition_count(admin, state) == 2
    assert _partition_count(admin, events) == 4
    assert _configs(admin, state)["cleanup.policy"] == "compact"


def test_ensure_topics_rejects_a_partition_count_mismatch(
    kafka_bootstrap: str, admin: AdminClient, topic_name: Callable[[str], str]
) -> None:
    events = topic_name("events")
    ensure_topics(kafka_bootstrap, {events: (2, KEEP_FOREVER)})

    with pytest.raises(TopicMismatchError, match=rf"{events} has 2 partitions, expected 6"):
        ensure_topics(kafka_bootstrap, {events: (6, KEEP_FOREVER)})

    assert _partition_count(admin, events) == 2


def test_a_produced_record_is_consumed_back(kafka_bootstrap: str, topic_name: Callable[[str], str]) -> None:
    topic = topic_name("roundtrip")
    ensure_topics(kafka_bootstrap, {topic: (1, KEEP_FOREVER)})

    delivered: list[tuple[KafkaError | None, Message]] = []
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(
        topic,
        key=b"host-1",
        value=b'{"event": "HostRegistered"}',
        headers=[("schema", b"v1")],
        on_delivery=lambda err, msg: delivered.append((err, msg)),
    )
    assert producer.flush(15) == 0
    assert [err for err, _ in delivered] == [None]

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"test-roundtrip-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        message = None
        while message is None and time.monotonic() < deadline:
            polled = consumer.poll(1.0)
            if polled is None:
                continue
            assert polled.error() is None, polled.error()
            message = polled
    finally:
        consumer.close()

    assert message is not None, "no record consumed within 30 s"
    assert message.topic() == topic
    assert message.key() == b"host-1"
    assert message.value() == b'{"event": "HostRegistered"}'
    assert message.headers() == [("schema", b"v1")]
    assert message.offset() == 0


@pytest.mark.parametrize("polled", [True, False], ids=["poller-thread", "flush-serves-reports"])
def test_an_event_log_flush_settles_every_send_lingering_or_not(
    kafka_bootstrap: str, topic_name: Callable[[str], str], polled: bool
) -> None:
    from novalog.events.kafka.log import EventLog

    topic = topic_name("flush")
    ensure_topics(kafka_bootstrap, {topic: (2, KEEP_FOREVER)})
    # A linger far longer than the test: only the flush can send these records.
    log = EventLog(kafka_bootstrap, "test", linger_ms=60_000, polled=polled)
    try:
        futures = [log.send_raw(topic, f"key-{i}".encode(), f"value-{i}".encode()) for i in range(20)]
        log.flush(30)
        # Settled when the flush returns: no wait on the futures themselves.
        assert all(future.done() for future in futures)
        positions = [future.result(0) for future in futures]
    finally:
        log.close()

    assert {p.topic for p in positions} == {topic}
    assert sorted((p.partition, p.offset) for p in positions) == sorted(set((p.partition, p.offset) for p in positions))
