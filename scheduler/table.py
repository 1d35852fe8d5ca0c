"""The scheduler's own view of the host-state table, folded from the compacted state topic.

Not a Faust GlobalTable (which does not hold up with several workers): a
plain consumer reads every partition of `state.hosts` from the beginning, in
a thread, into a dict the scheduling passes read.
"""

from __future__ import annotations

import logging
import threading
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from novalog.events.codec import DecodeError, decode
from novalog.events.kafka import consumer_config
from novalog.events.state import HostState

log = logging.getLogger(__name__)


class HostTable:
    """Current HostState of every host, kept up to date from the state topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._rows: dict[str, HostState] = {}
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
        with self._lock:
            return list(self._rows.values())

    def get(self, host: str) -> HostState | None:
        with self._lock:
            return self._rows.get(host)

    def _run(self) -> None:
        meta = self._consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        parts = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        ends = {}
        for tp in parts:
            lo, hi = self._consumer.get_watermark_offsets(TopicPartition(self.topic, tp.partition), timeout=10)
            if hi > lo:
                ends[tp.partition] = hi
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
                    log.warning("skipping undecodable host row at %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)
                    row = None
                if isinstance(row, HostState):
                    with self._lock:
                        self._rows[row.host] = row
                if msg.partition() in ends and msg.offset() + 1 >= ends[msg.partition()]:
                    del ends[msg.partition()]
                    if not ends:
                        self.caught_up.set()
        self._consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

