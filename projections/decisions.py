"""The create path's deciding tables, folded in a plain confluent-kafka loop with rocksdict state.

The quota, host-state and instance tables decide what a create waits for
(the quota decision, the claim, the spawn order, ACTIVE). Under Faust each
of these hops cost about 90 ms p50 on this machine's two cores (measured with
`novalog bench boot`'s breakdown); the same fold in a plain loop costs a few.
So these three tables run here, and the Faust worker keeps the others.
Both run the declarations of projections/registry.py through the same
`Projection.step`, so replay and the live tables still run one code.

    source partition p ──poll a batch──▶ step every record ──▶ outputs, dead letters, and each
    (quota.events, host.events,          (rows of the batch        changed row once, as the batch
     host.heartbeats, instance.events)    overlay the store)       left it: appended, all acknowledged
                                                                     │
                                                                     ▼
                                           rocksdict: rows + how far the state topic is read
                                                                     │
                                                                     ▼
                                                      the source offsets committed

The state topic is the table's changelog: every row this loop stores, it
first published there. When a source partition is assigned, the rows of
the same partition of the state topic (same key, same partitioner, same
partition count) are read from where the store last saw them to the end,
so a store that is behind (a crash between the appends and the store write,
rows a `replay --swap` wrote, a partition that moved from another process)
catches up before anything is folded. A crash anywhere redelivers records
from the committed offset onto rows that may already show them: the folds
are idempotent and derived event ids repeat, as under Faust.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from rocksdict import Options, Rdict, WriteBatch

from novalog.events import topics
from novalog.events.codec import decode, encode
from novalog.events.kafka.log import Committer, EventLog, Position, consumer_config, dead_letter_headers, ensure_topics, poll_batch, watermarks
from novalog.events.row_headers import source_position
from novalog.events.topics import dead_letter
from novalog.projections.registry import BY_TABLE, Projection

log = logging.getLogger(__name__)

# The tables a create waits on, in the order a create meets them.
DECIDING_TABLES = ("quotas", "host_state", "instances")
CATCH_UP_PATIENCE_S = 60.0
ROWS_KEPT_DECODED = 20_000
SLOW_BATCH_S = 1.0  # a batch slower than this is logged, with where its time went
BATCH_LINGER_MS = 100  # longer than folding a batch takes; the flush after it sends at once


def group(prefix: str) -> str:
    """The consumer group of the decision loop (the Faust worker's is `<prefix>-projections`)."""
    return f"{prefix}-decisions"


def deciding(projection: Projection) -> bool:
    return projection.table in DECIDING_TABLES


class Store:
    """The rows of the deciding tables, and per state-topic partition the offset its rows are read to.

    One rocksdict; a row's key is `<table>/<entity key>`, a read position's
    `\\x00read/<state topic>/<partition>`. A batch's rows and read positions
    are written in one WriteBatch, so the two never disagree.
    """

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self.db = Rdict(str(path), options)

    @staticmethod
    def row_key(table: str, key: bytes) -> bytes:
        return table.encode() + b"/" + key

    @staticmethod
    def read_key(topic: str, partition: int) -> bytes:
        return f"\x00read/{topic}/{partition}".encode()

    def row(self, table: str, key: bytes) -> bytes | None:
        return self.db.get(self.row_key(table, key))

    def read_to(self, topic: str, partition: int) -> int:
        value = self.db.get(self.read_key(topic, partition))
        return int(value) if value is not None else 0

    def write(self, rows: dict[tuple[str, bytes], bytes | None], read_to: dict[tuple[str, int], int]) -> None:
        batch = WriteBatch(raw_mode=True)
        for (table, key), value in rows.items():
            if value is None:
                batch.delete(self.row_key(table, key))
            else:
                batch.put(self.row_key(table, key), value)
        for (topic, partition), offset in read_to.items():
            batch.put(self.read_key(topic, partition), str(offset).encode())
        self.db.write(batch)

    def close(self) -> None:
        self.db.close()


class DecisionLoop:
    """Folds the deciding tables' source topics, one poll batch at a time."""

    def __init__(self, bootstrap: str, prefix: str, store_path: Path, projections: Sequence[Projection] | None = None) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.projections = tuple(projections or (BY_TABLE[t] for t in DECIDING_TABLES))
        self.by_source = {f"{prefix}.{s}": p for p in self.projections for s in p.sources}
        self.store = Store(store_path)
        # A batch's appends leave together: they linger until the batch is folded, then one flush sends
        # them (one produce request, not one per record still unsent when the previous one left).
        # Only this loop's thread appends, and it flushes before it reads a future: no poller thread.
        self.log = EventLog(bootstrap, prefix, linger_ms=BATCH_LINGER_MS, polled=False)
        self.consumer = Consumer(consumer_config(bootstrap, group(prefix), **{"partition.assignment.strategy": "range"}))
        self._reader = Consumer(consumer_config(bootstrap, None))
        self._known_agent_topics: set[str] = set()
        self._rows: dict[tuple[str, bytes], Any] = {}  # decoded rows, as the store holds them
        self.committer = Committer(self.consumer, "decisions")  # source offsets, at most once a second
        self.stopping = threading.Event()
        self.ready = threading.Event()

    # -- recovery -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Bring the store's rows of each assigned partition up to its state topic's end, then fold."""
        self._rows.clear()  # rows read back from a state topic replace what was kept decoded
        log.info("decisions: assigned %d partitions", len(partitions))
        done: set[tuple[str, int]] = set()
        for tp in partitions:
            projection = self.by_source[tp.topic]
            state_topic = f"{self.prefix}.{projection.state_topic}"
            if (state_topic, tp.partition) not in done:
                done.add((state_topic, tp.partition))
                self._catch_up(projection.table, state_topic, tp.partition)
        self.ready.set()

    def _catch_up(self, table: str, state_topic: str, partition: int) -> None:
        start = self.store.read_to(state_topic, partition)
        _, end = watermarks(self._reader, TopicPartition(state_topic, partition))
        if end <= start:
            return
        self._reader.assign([TopicPartition(state_topic, partition, start or OFFSET_BEGINNING)])
        rows: dict[tuple[str, bytes], bytes | None] = {}
        at, deadline = start, time.monotonic() + CATCH_UP_PATIENCE_S
        while at < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{state_topic}[{partition}] gave nothing past offset {at} (end {end}) for {CATCH_UP_PATIENCE_S:g} s")
            msgs = poll_batch(self._reader, 5000, 1.0)
            for msg in msgs:
                if msg.error():
                    continue
                rows[(table, msg.key())] = msg.value()
                at = msg.offset() + 1
                deadline = time.monotonic() + CATCH_UP_PATIENCE_S
            if not msgs:  # transaction markers move the position without a record
                at = max(at, self._reader.position([TopicPartition(state_topic, partition)])[0].offset)
        self._reader.unassign()
        self.store.write(rows, {(state_topic, partition): end})
        log.info("decisions: %s partition %d caught up with %d rows from %s [%d, %d)", table, partition, len(rows), state_topic, start, end)

    # -- folding ------------------------------------------------------------------------------

    def check_partitions(self) -> None:
        """Each source and its state topic must have as many partitions: a key's rows are looked up by its partition."""
        counts = {}
        for projection in self.projections:
            for name in (*projection.sources, projection.state_topic):
                full = f"{self.prefix}.{name}"
                counts[full] = len(self._reader.list_topics(full, timeout=10).topics[full].partitions)
            if len({counts[f"{self.prefix}.{n}"] for n in (*projection.sources, projection.state_topic)}) != 1:
                raise ValueError(f"{projection.table}: its topics have different partition counts: {counts}")

    def run(self) -> None:
        self.check_partitions()
        self.committer.subscribe(sorted(self.by_source), on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                self.run_once()
        finally:
            self.close()

    def run_once(self, timeout: float = 0.1) -> int:
        """Fold what one poll returns; append its effects; store the rows; commit. Returns the records handled."""
        msgs = poll_batch(self.consumer, 500, timeout)
        began = time.monotonic()
        batch: dict[tuple[str, bytes], Any] = {}  # rows decided in this batch, decoded, overlaying the store
        encoded: dict[tuple[str, bytes], bytes] = {}
        ends: dict[tuple[str, int], int] = {}  # per source partition, the offset after the batch's last record
        made_by: dict[tuple[str, bytes], tuple[Projection, bytes]] = {}  # changed rows: their table, and the last record that changed them
        before: dict[tuple[str, bytes], Any] = {}  # each row the batch read, as it was before the batch
        appends: list[tuple[Future[Position], str | None]] = []  # with the state topic a row went to
        handled = 0
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("decisions: consumer error %s", msg.error())
                continue
            handled += 1
            ends[(msg.topic(), msg.partition())] = msg.offset() + 1
            appends.extend(self._fold(msg, batch, made_by, before))
        if not handled:
            self.committer.tick()
            return 0
        # Each changed row once per batch, as the batch left it: a row that several records of the
        # batch changed (a busy project's quota row, say) is encoded and published once, naming the
        # last of them; on a compacted state topic the versions in between would only be overwritten.
        for slot, (projection, source) in made_by.items():
            encoded[slot] = encode(batch[slot])
            state_topic = f"{self.prefix}.{projection.state_topic}"
            headers = projection.headers(source, before[slot], batch[slot])
            appends.append((self.log.send_raw(state_topic, slot[1], encoded[slot], headers), state_topic))
        folded = time.monotonic()
        self.log.flush(30)
        read_to: dict[tuple[str, int], int] = {}
        for future, state_topic in appends:
            position = future.result(30)
            if state_topic is not None:
                at = (position.topic, position.partition)
                read_to[at] = max(read_to.get(at, 0), position.offset + 1)
        acknowledged = time.monotonic()
        self.store.write(encoded, read_to)
        for slot, row in batch.items():
            self._keep(slot, row)
        if (done := time.monotonic()) - began > SLOW_BATCH_S:
            log.warning("decisions: a batch of %d records took %.2f s (folding %.2f s, appends acknowledged %.2f s, store %.2f s)",
                        handled, done - began, folded - began, acknowledged - folded, done - acknowledged)
        self.committer.done(ends)  # everything the batch caused is acknowledged
        return handled

    def _fold(self, msg: Message, batch: dict, made_by: dict, before: dict) -> list[tuple[Future[Position], str | None]]:
        projection = self.by_source[msg.topic()]
        key, slot = msg.key(), (projection.table, msg.key())
        logical = msg.topic()[len(self.prefix) + 1:]
        try:
            if slot in batch:
                old = batch[slot]
            else:
                old = before[slot] = self._stored(slot)
            new, outs = projection.step(old, decode(msg.value()), msg.offset())
        except Exception as exc:  # undecodable, or a fold that cannot apply it: dead-letter, go on
            log.warning("decisions: dead-lettering %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)
            headers = dead_letter_headers(exc, msg, group(self.prefix))
            return [(self.log.send_raw(dead_letter(msg.topic()), key, msg.value(), headers), None)]
        appends = []
        if new is not None:
            batch[slot] = new
            made_by[slot] = (projection, source_position(logical, msg.partition(), msg.offset()))
        for out in outs:
            self._ensure_agent_topic(out.topic)
            appends.append((self.log.send(out), None))
        return appends

    def _stored(self, slot: tuple[str, bytes]) -> Any:
        row = self._rows.get(slot)
        if row is None:
            value = self.store.row(*slot)
            if value is None:
                return None
            row = self._keep(slot, decode(value))
        return row

    def _keep(self, slot: tuple[str, bytes], row: Any) -> Any:
        """Rows stay decoded between batches (a busy project's quota row costs milliseconds to decode)."""
        if len(self._rows) >= ROWS_KEPT_DECODED and slot not in self._rows:
            self._rows.clear()
        self._rows[slot] = row
        return row

    def _ensure_agent_topic(self, logical: str) -> None:
        """A host's command topics exist before its first order goes there (its agent made them, or this does).

        Asked of the metadata first: creating them costs a new admin client and a
        listing of every topic (100-250 ms measured), which held the whole loop up
        at each host's first spawn.
        """
        if not logical.startswith(f"{topics.AGENT_COMMANDS}.") or logical in self._known_agent_topics:
            return
        specs = topics.agent_topic_specs(self.prefix, logical.split(".", 1)[1])
        if not all(self._exists(name, partitions) for name, (partitions, _) in specs.items()):
            ensure_topics(self.bootstrap, specs)
        self._known_agent_topics.add(logical)

    def _exists(self, topic: str, partitions: int) -> bool:
        try:
            found = self._reader.list_topics(topic, timeout=5).topics.get(topic)
        except KafkaException:
            return False
        return found is not None and found.error is None and len(found.partitions) == partitions

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        self.committer.commit(asynchronous=False)
        self.consumer.close()
        self._reader.close()
        self.log.close()
        self.store.close()
