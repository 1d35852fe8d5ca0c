"""The API's read cache: the projections' state topics folded into dicts, and a way to wait for a write.

Each state topic is read from the beginning by a plain consumer in a thread.
A write waits until its own row shows up with an offset at or past the
write's position (read-your-writes), so the same client's next GET sees it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from novalog.events import topics
from novalog.events.codec import DecodeError, decode
from novalog.events.kafka import consumer_config

log = logging.getLogger(__name__)


class ReadCache:
    """Current rows of the instance, catalog and host tables, as the projections publish them."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.instances: dict[str, Any] = {}
        self.catalog: dict[str, Any] = {}
        self.hosts: dict[str, Any] = {}
        self._tables = {
            f"{prefix}.{topics.STATE_INSTANCES}": self.instances,
            f"{prefix}.{topics.STATE_CATALOG}": self.catalog,
            f"{prefix}.{topics.STATE_HOSTS}": self.hosts,
        }
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._consumer = Consumer(consumer_config(bootstrap, f"novalog-api-cache-{uuid.uuid4()}"))
        self._thread = threading.Thread(target=self._run, name="read-cache", daemon=True)
        self.ready = threading.Event()

    def start(self, wait: float = 30.0) -> ReadCache:
        self._thread.start()
        if not self.ready.wait(wait):
            raise TimeoutError(f"read cache did not catch up in {wait} s")
        return self

    def _assignments(self) -> tuple[list[TopicPartition], dict[tuple[str, int], int]]:
        parts, ends = [], {}
        for topic in self._tables:
            meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
            for p in meta.partitions:
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                lo, hi = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if hi > lo:
                    ends[(topic, p)] = hi
        return parts, ends

    def _run(self) -> None:
        parts, ends = self._assignments()
        self._consumer.assign(parts)
        if not ends:
            self.ready.set()
        while not self._stop.is_set():
            msgs = self._consumer.consume(500, 0.1)
            if not msgs:
                continue
            with self._changed:
                for msg in msgs:
                    if msg.error():
                        continue
                    self._apply(msg)
                    pos = (msg.topic(), msg.partition())
                    if pos in ends and msg.offset() + 1 >= ends[pos]:
                        del ends[pos]
                        if not ends:
                            self.ready.set()
                self._changed.notify_all()
        self._consumer.close()

    def _apply(self, msg: Any) -> None:
        table = self._tables[msg.topic()]
        key = msg.key().decode()
        if msg.value() is None:
            table.pop(key, None)
            return
        try:
            table[key] = decode(msg.value())
        except DecodeError as exc:
            log.warning("read cache: skipping undecodable row %s at %s[%d]@%d: %s", key, msg.topic(), msg.partition(), msg.offset(), exc)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until the predicate holds over the cache, or the time is up."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
