"""Follows topics from their beginning in a thread, folding each record into a reader's own view.

The readers outside Faust (the scheduler's host table, the API's read cache)
keep their own copy of compacted state topics this way. `caught_up` is set
once everything that was in the topics at start has been applied, and
`wait_until` lets a writer wait for its own write to show.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from novalog.events.codec import DecodeError, decode
from novalog.events.kafka.log import consumer_config, locate, poll_batch, watermarks
from novalog.events.waiters import Waiters

log = logging.getLogger(__name__)

Apply = Callable[[Message, Any], None]


class TopicFeed:
    """Applies every record of the topics, from the beginning, to `apply` (under the feed's lock)."""

    def __init__(self, bootstrap: str, topics: Sequence[str], apply: Apply, name: str, raw_topics: Sequence[str] = (),
                 waiters: Waiters | None = None, **consumer_extra: Any) -> None:
        self.topics = list(topics)
        # Records of these topics reach `apply` as their bytes: the reader decodes them when, and if, it needs to.
        self.raw_topics = frozenset(raw_topics)
        self.name = name
        self._apply = apply
        # The view's waiters (a reader's own, or new ones); their lock guards the view.
        self._waiters = waiters if waiters is not None else Waiters(threading.Condition())
        self._changed = self._waiters.lock
        self._stop = threading.Event()
        self.caught_up = threading.Event()
        self._consumer = Consumer(consumer_config(bootstrap, f"novalog-{name}-{uuid.uuid4()}", **consumer_extra))
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def lock(self) -> threading.Condition:
        """Hold it to read the view consistently while the feed applies records."""
        return self._changed

    def start(self, wait: float = 30.0) -> TopicFeed:
        self._thread.start()
        if not self.caught_up.wait(wait):
            raise TimeoutError(f"{self.name} did not catch up with {', '.join(self.topics)} in {wait} s")
        return self

    def _assignments(self) -> tuple[list[TopicPartition], dict[tuple[str, int], int]]:
        parts, ends = [], {}
        for topic in self.topics:
            meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
            if meta.error is not None or not meta.partitions:
                raise KafkaException(meta.error or f"{topic} has no partitions yet")
            for p in meta.partitions:
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                lo, hi = watermarks(self._consumer, TopicPartition(topic, p))
                if hi > lo:
                    ends[(topic, p)] = hi
        return parts, ends

    def _assign_with_retries(self, patience: float = 60.0) -> dict[tuple[str, int], int]:
        """Where the topics end now; retried while a new topic's leaders settle (NOT_LEADER...)."""
        deadline = time.monotonic() + patience
        while True:
            try:
                parts, ends = self._assignments()
                self._consumer.assign(parts)
                return ends
            except KafkaException as exc:
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                log.info("%s: topics not ready yet (%s); retrying", self.name, exc)
                time.sleep(0.5)

    def _run(self) -> None:
        try:
            ends = self._assign_with_retries()
        except Exception:
            log.exception("%s: cannot read %s", self.name, ", ".join(self.topics))
            return
        if not ends:
            self.caught_up.set()
        while not self._stop.is_set():
            msgs = poll_batch(self._consumer, 500, 0.1)
            if not msgs:
                continue
            with self._changed:
                touched: set[bytes | None] = set()
                for msg in msgs:
                    if msg.error():
                        continue
                    self._deliver(msg)
                    touched.add(msg.key())
                    topic, partition, offset = locate(msg)
                    pos = (topic, partition)
                    if pos in ends and offset + 1 >= ends[pos]:
                        del ends[pos]
                        if not ends:
                            self.caught_up.set()
                self._waiters.wake(touched)
        self._consumer.close()

    def _deliver(self, msg: Message) -> None:
        if msg.value() is None:
            self._apply(msg, None)  # a tombstone: the key is gone
            return
        if msg.topic() in self.raw_topics:
            self._apply(msg, msg.value())
            return
        try:
            record = decode(msg.value())
        except DecodeError as exc:
            log.warning("%s: skipping undecodable record at %s[%d]@%d: %s", self.name, msg.topic(), msg.partition(), msg.offset(), exc)
            return
        self._apply(msg, record)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, key: str | None = None) -> bool:
        """Block until the predicate holds over the view, or the time is up (see Waiters.wait for `key`)."""
        return self._waiters.wait(predicate, timeout, key)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
