"""Reading the log back: a window of one topic, as the log holds it when the reader starts.

Every command that reads the log (replay, state, history, audit, export)
plans its windows here.

Per partition, the window is the offsets from the first record stamped at or
after --since (Kafka's offsets_for_times; the first retained record without
--since) up to, not including, the first stamped at or after --until (the
current end without --until). Records appended while the export runs are not
in it. Where the partition's retained log starts later than the window asks
(records deleted by retention or DeleteRecords), or the topic is compacted,
the plan says so, so the export does not pass a partial history off as whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from novalog.events import topics
from novalog.events.kafka.log import locate, watermarks

BATCH = 5000  # records asked of the consumer at a time


@dataclass(frozen=True, slots=True)
class PartitionSpan:
    """The offsets of one partition to read: [start, end); `low` is its first retained offset."""

    partition: int
    low: int
    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class WindowPlan:
    topic: str
    spans: tuple[PartitionSpan, ...]
    notes: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.spans)


def plan_span(partition: int, low: int, high: int, since_offset: int | None, until_offset: int | None) -> PartitionSpan:
    """The span of one partition from its watermarks and offsets_for_times' answers (None: not asked; -1: past the end)."""
    start = low if since_offset is None else high if since_offset < 0 else max(since_offset, low)
    end = high if until_offset is None or until_offset < 0 else min(until_offset, high)
    return PartitionSpan(partition, low, start, max(start, end))


def truncation_notes(full_topic: str, logical_topic: str, spans: Sequence[PartitionSpan], since: datetime | None) -> tuple[str, ...]:
    """What the retained log lacks of the window asked for.

    A span that starts at its partition's first retained offset, when that is
    past 0, may miss the deleted records before it: all of them without
    --since, those stamped after --since with it (which ones, the log no
    longer tells).
    """
    cut = [s for s in spans if s.start == s.low > 0]
    notes = []
    if cut:
        parts = ", ".join(f"partition {s.partition} starts at offset {s.low}" for s in cut)
        deleted = sum(s.low for s in cut)
        if since is None:
            notes.append(f"{full_topic} no longer holds its beginning: {parts}; the {deleted} records before were deleted "
                         "(retention or DeleteRecords) and are not in the export")
        else:
            notes.append(f"--since {since.isoformat()} reaches before the start of the retained log of {full_topic}: {parts}; "
                         f"of the {deleted} records deleted before (retention or DeleteRecords), those written after "
                         f"{since.isoformat()} are missing from the export")
    if logical_topic in topics.COMPACTED_TOPICS:
        notes.append(f"{full_topic} is compacted: it keeps only the latest record of each key, so earlier records are gone")
    return tuple(notes)


def _offsets_at(consumer: Consumer, topic: str, partitions: list[int], at: datetime | None, timeout: float) -> dict[int, int | None]:
    if at is None:
        return dict.fromkeys(partitions)
    ms = int(at.timestamp() * 1000)
    answer = consumer.offsets_for_times([TopicPartition(topic, p, ms) for p in partitions], timeout)
    for tp in answer:
        if tp.error is not None:
            raise KafkaException(tp.error)
    return {tp.partition: tp.offset for tp in answer}


def plan_window(consumer: Consumer, full_topic: str, logical_topic: str, since: datetime | None, until: datetime | None,
                timeout: float = 10.0) -> WindowPlan:
    """The spans of every partition of the topic for [since, until), and what the log lacks of it."""
    meta = consumer.list_topics(full_topic, timeout=timeout).topics.get(full_topic)
    if meta is None or meta.error is not None:
        raise LookupError(f"topic {full_topic} does not exist ({meta.error if meta is not None else 'not in the metadata'})")
    partitions = sorted(meta.partitions)
    starts = _offsets_at(consumer, full_topic, partitions, since, timeout)
    ends = _offsets_at(consumer, full_topic, partitions, until, timeout)
    spans = []
    for p in partitions:
        low, high = watermarks(consumer, TopicPartition(full_topic, p), timeout)
        spans.append(plan_span(p, low, high, starts[p], ends[p]))
    return WindowPlan(full_topic, tuple(spans), truncation_notes(full_topic, logical_topic, spans, since))


def read_window(consumer: Consumer, plan: WindowPlan, patience: float = 30.0) -> Iterator[Message]:
    """Every record of the plan's spans (each partition in offset order); TimeoutError if the broker stops giving any."""
    todo = {s.partition: s for s in plan.spans if s.count}
    if not todo:
        return
    consumer.assign([TopicPartition(plan.topic, p, s.start) for p, s in todo.items()])
    last_progress = time.monotonic()
    following = {p: s.start for p, s in todo.items()}
    while todo:
        # No more than the window still holds: a last, smaller batch comes at once instead of after the timeout.
        wanted = sum(todo[p].end - following[p] for p in todo)
        for msg in consumer.consume(num_messages=max(1, min(BATCH, wanted)), timeout=0.5):
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
                continue
            _, partition, offset = locate(msg)
            span = todo.get(partition)
            if span is not None and offset < span.end:
                last_progress = time.monotonic()
                following[partition] = offset + 1
                yield msg
        # Done once the position is past the end: offsets that never arrive as
        # records (transaction markers) still move the position.
        for tp in consumer.position([TopicPartition(plan.topic, p) for p in todo]):
            if tp.offset >= todo[tp.partition].end:
                del todo[tp.partition]
        if todo and time.monotonic() - last_progress > patience:
            raise TimeoutError(f"no records from {plan.topic} for {patience:g} s; still to read: "
                               + ", ".join(f"partition {p} up to offset {s.end}" for p, s in sorted(todo.items())))
