"""The API's read cache: the read model (read_model.py) kept by a feed of the projections' state topics.

The Kafka shell around the pure read model: each record of a state topic
becomes one RowChange (the row, or its bytes for the lazy tables; the
source position and decisions from its headers), applied under the model's
lock, and the feed wakes the model's waiters once per batch.
"""

from __future__ import annotations

import gc

from confluent_kafka import Message

from novalog.api.read_model import LAZY_TABLES, TABLES, LazyRows, ReadModel, row_change
from novalog.events.kafka.feed import TopicFeed

__all__ = ["LazyRows", "ReadCache"]


class ReadCache(ReadModel):
    """The read model, fed from the beginning of each state topic and kept current while it runs."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        super().__init__()
        self._tables = {f"{prefix}.{t}": t for t in TABLES}
        self._feed = TopicFeed(bootstrap, list(self._tables), self._deliver, "api-read-cache",
                               raw_topics=[f"{prefix}.{t}" for t in LAZY_TABLES], waiters=self.waiters)

    def start(self, wait: float = 30.0) -> ReadCache:
        self._feed.start(wait)
        # The rows read so far live as long as the process: kept out of the cycle collector, whose full
        # passes would otherwise walk every one of them (about 0.5 s at 100,000 servers on two busy cores, in some request).
        gc.freeze()
        return self

    def _deliver(self, msg: Message, row: object) -> None:
        topic, key = msg.topic(), msg.key()
        assert topic is not None and key is not None, "a state topic's records are keyed"
        self.apply(row_change(self._tables[topic], key.decode(), row, _byte_headers(msg)))

    def stop(self) -> None:
        self._feed.stop()


def _byte_headers(msg: Message) -> list[tuple[str, bytes]]:
    """The record's headers that hold bytes: the projection writes its row headers as bytes (events/row_headers.py)."""
    headers = msg.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return [(name, value) for name, value in pairs if isinstance(value, bytes)]
