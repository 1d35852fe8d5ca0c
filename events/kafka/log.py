"""The Kafka shell: an appending log on confluent-kafka, a consume loop with dead letters.

Producers are idempotent with acks=all and the murmur2 partitioner, so keys
land where Faust (aiokafka) and Java clients put them. A consumer commits a
record only after whatever it caused has been acknowledged (at-least-once);
the folds downstream are idempotent. A record that cannot be decoded goes to
`<topic>.dlq` with the reason in its headers, and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # re-exported, but the module has no __all__

from novalog.events.codec import DecodeError, decode, encode
from novalog.events.dead_letters import dead_letter_facts
from novalog.events.outbound import Outbound
from novalog.events.topics import dead_letter

log = logging.getLogger(__name__)

# A consumer's finished offsets are committed at most this often. A commit per batch (up to ~100
# a second under a steady boot load) queued the group's heartbeats behind them at the coordinator
# until the session expired, and the group stalled ~13 s in a rebalance. A crash redelivers at
# most this much, onto idempotent handlers.
COMMIT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class Position:
    """Where an appended record landed."""

    topic: str
    partition: int
    offset: int


def producer_config(bootstrap: str, *, linger_ms: int = 0) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "log_level": 3,
    }


def consumer_config(bootstrap: str, group: str | None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group or "novalog-unassigned",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 500,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "log_level": 3,
    }
    config.update(extra)
    return config


def locate(msg: Message) -> tuple[str, int, int]:
    """The topic, partition and offset of a record consumed without error, or delivered.

    librdkafka sets all three on such a record; the client's types leave them
    optional for the messages that only carry an error.
    """
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"a message without its place in the log: {msg.error()}")
    return topic, partition, offset


# How long each wait of EventLog.flush lasts at most before it looks again (see there).
FLUSH_SLICE_S = 0.001


class EventLog:
    """Appends records to topics and reports where they landed once Kafka acknowledged them.

    A poller thread serves the delivery reports, so a send's future settles
    whichever thread waits for it. A log whose one user flushes before it
    reads its futures (a consume loop) does without: `polled=False`, and
    each flush serves the reports itself, at once.
    """

    def __init__(self, bootstrap: str, prefix: str, *, linger_ms: int = 0, polled: bool = True) -> None:
        self.prefix = prefix
        self._producer = Producer(producer_config(bootstrap, linger_ms=linger_ms))
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="eventlog-poll", daemon=True) if polled else None
        if self._poller is not None:
            self._poller.start()

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    def topic(self, logical: str) -> str:
        return f"{self.prefix}.{logical}"

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None = None) -> Future[Position]:
        """Append bytes as they are to a full topic name."""
        done: Future[Position] = Future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                done.set_exception(KafkaException(err))
            else:
                done.set_result(Position(*locate(msg)))

        while True:
            try:
                # produce only reads the headers, but the client types them as a list of (str, str | bytes | None),
                # which a list of (str, bytes) is not (lists are invariant).
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=delivered)  # type: ignore[arg-type]
                return done
            except BufferError:
                time.sleep(0.01)

    def send(self, out: Outbound) -> Future[Position]:
        """Append one record (Avro-encoded) to its logical topic."""
        return self.send_raw(self.topic(out.topic), out.key.encode(), encode(out.record))

    def append(self, outs: Iterable[Outbound], timeout: float = 30.0) -> list[Position]:
        """Append records and wait until Kafka acknowledged every one."""
        futures = [self.send(out) for out in outs]
        return [f.result(timeout) for f in futures]

    def flush(self, timeout: float = 30.0) -> None:
        """Send whatever is queued now, lingering or not, and wait until Kafka answered for all of it.

        In short slices: librdkafka's flush waits for the delivery reports by
        serving them itself, up to 10 ms at a time, and the poller thread
        serves them too. A report the poller took left the flush waiting out
        its slice: 10.2 ms measured to flush one record that Kafka acknowledged
        in 0.2 ms, on every hop that flushes a batch. Each slice also keeps
        lingering records from waiting (a flush in progress sends them at once).
        """
        if self._poller is None:  # this thread is the only one serving the reports
            self._producer.flush(timeout)
            return
        deadline = time.monotonic() + timeout
        while self._producer.flush(FLUSH_SLICE_S) and time.monotonic() < deadline:
            pass

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._closed.set()
        if self._poller is not None:
            self._poller.join(1.0)


def poll_batch(consumer: Consumer, max_messages: int = 500, timeout: float = 0.2) -> list[Message]:
    """What the consumer has now, up to `max_messages`, waiting at most `timeout` for the first record only.

    `Consumer.consume(n, timeout)` returns early only once it holds n
    records: with fewer it waits out the whole timeout, so one record in a
    quiet moment would sit there for it (200 ms measured on each hop of the
    create path). Here the wait ends with the first record, and whatever
    else is already fetched comes with it.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=max_messages - 1, timeout=0)] if max_messages > 1 else [first]


def dead_letter_headers(exc: Exception, msg: Message, processor: str) -> list[tuple[str, bytes]]:
    """The dead letter's headers: why it failed and where it came from."""
    topic, partition, offset = locate(msg)
    facts = dead_letter_facts(exc, topic, partition, offset, msg.timestamp()[1], processor)
    return [(k, v.encode()) for k, v in facts.items()]


Handler = Callable[[Message, Any], Sequence[Outbound]]


class Committer:
    """Commits the offsets of a consumer's finished records: explicitly, and at most every `every_s`.

    Always with explicit offsets. Without them, librdkafka commits the
    offsets stored when it gets to the request, which may already count
    records polled meanwhile whose effects are not yet appended: a kill then
    would lose them. Pending offsets are committed synchronously when the
    partitions are revoked and on close; a lost session drops them (the
    partitions' next owner redelivers those records).
    """

    def __init__(self, consumer: Consumer, name: str, every_s: float = COMMIT_EVERY_S) -> None:
        self.consumer = consumer
        self.name = name
        self.every_s = every_s
        self._pending: dict[tuple[str, int], int] = {}  # per partition, the offset after its last finished record
        self._at = time.monotonic()

    def subscribe(self, topics: Sequence[str], on_assign: Callable[[Consumer, list[TopicPartition]], None] | None = None) -> None:
        """Subscribe with the revoke and lost hooks this committer needs."""
        hooks: dict[str, Any] = {"on_revoke": self.on_revoke, "on_lost": self.on_lost}
        if on_assign is not None:
            hooks["on_assign"] = on_assign
        self.consumer.subscribe(list(topics), **hooks)

    def done(self, ends: Mapping[tuple[str, int], int]) -> None:
        """These records and everything they caused are acknowledged; commit them when due."""
        self._pending.update(ends)
        self.tick()

    def tick(self) -> None:
        if self._pending and time.monotonic() - self._at >= self.every_s:
            self.commit()

    def commit(self, asynchronous: bool = True) -> None:
        self._at = time.monotonic()
        if not self._pending:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        self._pending = {}
        try:
            if asynchronous:  # a literal each: the client's overloads tell the two apart by it
                self.consumer.commit(offsets=offsets, asynchronous=True)
            else:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # a partition already revoked, a coordinator gone: redelivery covers it
            log.warning("%s: commit failed (its records will be redelivered): %s", self.name, exc)

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: %d partitions revoked", self.name, len(partitions))
        self.commit(asynchronous=False)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("%s: %d partitions lost (session expired); their uncommitted records will be redelivered", self.name, len(partitions))
        self._pending = {}


class ConsumeLoop:
    """Reads topics, decodes each record, hands it to a handler and appends what it returns.

    The handler is called with the raw message and the decoded record. Its
    outputs are acknowledged before the record's offset is committed (by a
    Committer: at most once a second). Subscribe through the loop, so that
    revoked partitions get their offsets committed first.
    """

    def __init__(self, log_: EventLog, consumer: Consumer, processor: str, handler: Handler, *, dead_letter_failures: bool = False) -> None:
        self.log = log_
        self.consumer = consumer
        self.processor = processor
        self.handler = handler
        # A pure handler that raises will raise again on redelivery: such a
        # record is dead-lettered. A shell whose failures may be transient
        # (a hypervisor connection) leaves this off and crashes instead, to be
        # restarted and redelivered the record.
        self.dead_letter_failures = dead_letter_failures
        self.stopping = threading.Event()
        self.committer = Committer(consumer, processor)

    def subscribe(self, topics: Sequence[str]) -> None:
        self.committer.subscribe(topics)

    def dead_letter(self, msg: Message, exc: Exception) -> Future[Position]:
        topic, partition, offset = locate(msg)
        log.warning("%s: dead-lettering %s[%d]@%d: %s", self.processor, topic, partition, offset, exc)
        headers = dead_letter_headers(exc, msg, self.processor)
        return self.log.send_raw(dead_letter(topic), msg.key(), msg.value(), headers)

    def process(self, msg: Message) -> list[Future[Position]]:
        """Handle one record; return the appends it caused (not yet acknowledged)."""
        try:
            record = decode(msg.value())
        except DecodeError as exc:
            return [self.dead_letter(msg, exc)]
        try:
            outs = self.handler(msg, record)
        except Exception as exc:
            if not self.dead_letter_failures:
                raise
            log.exception("%s: could not apply %s", self.processor, type(record).__name__)
            return [self.dead_letter(msg, exc)]
        return [self.log.send(out) for out in outs]

    def run_once(self, timeout: float = 0.2) -> int:
        """Handle what one poll returns, wait until all it caused is acknowledged, then commit.

        Appends of the whole batch are in flight together (the idempotent
        producer keeps their order per partition), so a batch costs one round
        trip to the broker, not one per record. The flush sends them as soon
        as the batch is handled: a log that lingers (the scheduler's) packs a
        batch's appends into a few produce requests, and loses no time waiting.
        """
        msgs = poll_batch(self.consumer, 500, timeout)
        handled, pending = 0, []
        ends: dict[tuple[str, int], int] = {}
        for msg in msgs:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("%s: consumer error %s", self.processor, error)
                continue
            pending.extend(self.process(msg))
            topic, partition, offset = locate(msg)
            ends[(topic, partition)] = offset + 1
            handled += 1
        if pending:
            self.log.flush(30)
        for done in pending:
            done.result(30)
        self.committer.done(ends)
        return handled

    def run(self) -> None:
        while not self.stopping.is_set():
            self.run_once()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Commit what is finished, then leave the group."""
        self.committer.commit(asynchronous=False)
        self.consumer.close()


def watermarks(consumer: Consumer, tp: TopicPartition, timeout: float = 10.0, patience: float = 30.0) -> tuple[int, int]:
    """Low and high watermark of a partition, retried while a new topic's leader settles.

    Right after a topic is created the broker may still answer
    NOT_LEADER_FOR_PARTITION (or time out) for a moment; that is not an error
    of the reader.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=timeout)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def read_all(consumer: Consumer, topics: Sequence[str], timeout: float = 10.0) -> Iterable[Message]:
    """Every record now in the topics, from the beginning up to the current end (for audits)."""
    parts = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
        for p in meta.partitions:
            lo, hi = watermarks(consumer, TopicPartition(topic, p), timeout)
            if hi > lo:
                parts.append((TopicPartition(topic, p, lo), hi))
    if not parts:
        return
    consumer.assign([tp for tp, _ in parts])
    remaining = {(tp.topic, tp.partition): hi for tp, hi in parts}
    deadline = time.monotonic() + timeout * 6
    while remaining and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        topic, partition, offset = locate(msg)
        key = (topic, partition)
        if key in remaining:
            yield msg
            if offset + 1 >= remaining[key]:
                del remaining[key]
    if remaining:
        raise TimeoutError(f"could not read to the end of {sorted(remaining)}")



class TopicError(RuntimeError):
    """Topics could not be created or did not show up."""


class TopicMismatchError(TopicError):
    """A topic exists with another partition count than the one it must have."""


def ensure_topics(
    bootstrap: str,
    wanted: Mapping[str, tuple[int, Mapping[str, str]]],
    *,
    replication: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create the topics in `wanted` ({name: (partitions, config)}) unless they exist.

    Existing topics are left as they are (their config is not changed), but their partition
    count must match: a different count raises TopicMismatchError, since adding partitions later
    moves keys between partitions. Returns once every topic is visible in the metadata with
    all its partitions.
    """
    if not wanted:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    new = [NewTopic(name, parts, replication, config=dict(config)) for name, (parts, config) in wanted.items()]
    failures: list[str] = []
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            error = exc.args[0]
            if not (isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                failures.append(f"{name}: {error}")
    if failures:
        raise TopicError("creating topics failed: " + "; ".join(failures))

    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=max(1.0, deadline - time.monotonic())).topics
        pending: list[str] = []
        mismatched: list[str] = []
        for name, (parts, _) in wanted.items():
            topic = topics.get(name)
            if topic is None or topic.error is not None or not topic.partitions:
                pending.append(name)
            elif any(part.leader < 0 for part in topic.partitions.values()):
                pending.append(name)  # created, but a partition has no leader yet
            elif len(topic.partitions) != parts:
                mismatched.append(f"{name} has {len(topic.partitions)} partitions, expected {parts}")
        if mismatched:
            raise TopicMismatchError("topic partition count mismatch: " + "; ".join(mismatched))
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TopicError(f"topics not visible in the metadata after {timeout:g} s: {', '.join(pending)}")
        time.sleep(0.2)
