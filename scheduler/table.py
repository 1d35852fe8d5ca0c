"""The scheduler's own view of the host-state table, folded from the compacted state topic.

Not a Faust GlobalTable (which does not hold up with several workers): a
plain consumer reads every partition of `state.hosts` from the beginning, in
a thread, into a dict the scheduling passes read. It also reads the
heartbeats topic itself, so liveness does not depend on the projection
worker being up: a host is alive when its agent beats, whoever folds it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from novalog.events.codec import DecodeError, decode
from novalog.events.kafka import consumer_config
from novalog.events.state import HostState
from novalog.events.types import HostHeartbeatReported

log = logging.getLogger(__name__)


class HostTable:
    """Current HostState of every host, kept up to date from the state topic."""

    def __init__(self, bootstrap: str, topic: str, heartbeats_topic: str | None = None) -> None:
        self.topic = topic
        self.topics = [topic] + ([heartbeats_topic] if heartbeats_topic else [])
        self._rows: dict[str, HostState] = {}
        self._beats: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.caught_up = threading.Event()
        self._consumer = Consumer(consumer_config(bootstrap, f"novalog-hosttable-{uuid.uuid4()}", **{"enable.partition.eof": True}))
        self._thread = threading.Thread(target=self._run, name="host-table", daemon=True)

    def start(self, wait: float = 30.0) -> HostTable:
        self._thread.start()
        if not self.caught_up.wait(wait):
            raise TimeoutError(f"host table did not catch up with {self.topic} in {wait} s")
        return self

    def rows(self) -> list[HostState]:
        """Every host's row, with the latest heartbeat seen either folded or on the heartbeats topic."""
        with self._lock:
            return [self._with_beat(row) for row in self._rows.values()]

    def _with_beat(self, row: HostState) -> HostState:
        beat = self._beats.get(row.host)
        if beat is None or (row.last_heartbeat_at is not None and row.last_heartbeat_at >= beat):
            return row
        return replace(row, last_heartbeat_at=beat)

    def get(self, host: str) -> HostState | None:
        with self._lock:
            return self._rows.get(host)

    def _run(self) -> None:
        parts, ends = [], {}
        for topic in self.topics:
            meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
            for p in meta.partitions:
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                lo, hi = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if hi > lo:
                    ends[(topic, p)] = hi
        self._consumer.assign(parts)
        if not ends:
            self.caught_up.set()
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, 0.1):
                if msg.error():
                    continue
                try:
                    row = decode(msg.value())
                except DecodeError as exc:
                    log.warning("skipping undecodable record at %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)
                    row = None
                with self._lock:
                    if isinstance(row, HostState):
                        self._rows[row.host] = row
                    elif isinstance(row, HostHeartbeatReported):
                        beat = row.envelope.occurred_at
                        if beat > self._beats.get(row.host, beat - timedelta(1)):
                            self._beats[row.host] = beat
                pos = (msg.topic(), msg.partition())
                if pos in ends and msg.offset() + 1 >= ends[pos]:
                    del ends[pos]
                    if not ends:
                        self.caught_up.set()
        self._consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

