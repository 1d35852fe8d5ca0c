"""The API's read cache: the projections' state topics folded into dicts, and a way to wait for a write.

A write waits until its own row shows up with an offset at or past the
write's position (read-your-writes), so the same client's next GET sees it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from confluent_kafka import Message

from novalog.api.server_index import ServerIndex
from novalog.events import topics
from novalog.events.codec import decode
from novalog.events.feed import TopicFeed
from novalog.projections.registry import SOURCE_HEADER, parse_source_position


class LazyRows(Mapping[str, Any]):
    """A table of rows with the position of the record that made each one (their source header).

    `reached` tells from that position alone whether a row has folded a
    given record, so a create waits for its quota decision without a
    predicate that reads the row. Each version is decoded once: the read
    cache decodes it as it arrives (measured: decoding instead in the request
    threads that read it, under the feed's lock, made a create at 50 a
    second wait seconds), and readers get the decoded row.
    """

    def __init__(self) -> None:
        self._raw: dict[str, tuple[bytes, tuple[str, int, int] | None]] = {}
        self._decoded: dict[str, tuple[bytes, Any]] = {}

    def put(self, key: str, raw: bytes, source: tuple[str, int, int] | None) -> None:
        self._raw[key] = (raw, source)

    def drop(self, key: str) -> None:
        self._raw.pop(key, None)
        self._decoded.pop(key, None)

    def reached(self, key: str, topic: str, partition: int, offset: int) -> bool:
        """True once the row has folded the record at topic[partition]@offset (or one after it)."""
        held = self._raw.get(key)
        source = held[1] if held is not None else None
        return source is not None and source[0] == topic and source[1] == partition and source[2] >= offset

    def __getitem__(self, key: str) -> Any:
        raw = self._raw[key][0]
        memo = self._decoded.get(key)
        if memo is not None and memo[0] is raw:
            return memo[1]
        row = decode(raw)
        self._decoded[key] = (raw, row)  # tied to these bytes: a newer version put meanwhile is decoded afresh
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class ReadCache:
    """Current rows of the instance, catalog, host and identity tables, as the projections publish them."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.instances: dict[str, Any] = {}
        # The instance rows in Nova's list order, per project, kept as they arrive (server_index.py).
        self.servers = ServerIndex()
        self.catalog: dict[str, Any] = {}
        self.hosts: dict[str, Any] = {}
        self.identity: dict[str, Any] = {}
        self.quotas = LazyRows()
        self.aggregates: dict[str, Any] = {}
        # Key pairs (`keypair:<user>:<name>`) and server groups (`server_group:<id>`).
        self.tenant: dict[str, Any] = {}
        self._tables = {
            f"{prefix}.{topics.STATE_INSTANCES}": self.instances,
            f"{prefix}.{topics.STATE_CATALOG}": self.catalog,
            f"{prefix}.{topics.STATE_HOSTS}": self.hosts,
            f"{prefix}.{topics.STATE_IDENTITY}": self.identity,
            f"{prefix}.{topics.STATE_QUOTAS}": self.quotas,
            f"{prefix}.{topics.STATE_AGGREGATES}": self.aggregates,
            f"{prefix}.{topics.STATE_TENANT}": self.tenant,
        }
        self._instances_topic = f"{prefix}.{topics.STATE_INSTANCES}"
        self._quotas_topic = f"{prefix}.{topics.STATE_QUOTAS}"
        self._feed = TopicFeed(bootstrap, list(self._tables), self._apply, "api-read-cache", raw_topics=[self._quotas_topic])

    @property
    def lock(self) -> Any:
        """Held while records are applied: hold it to walk the indexes consistently."""
        return self._feed.lock

    def start(self, wait: float = 30.0) -> ReadCache:
        self._feed.start(wait)
        # The rows read so far live as long as the process: kept out of the cycle collector, whose full
        # passes would otherwise walk every one of them (about 0.5 s at 100,000 servers on two busy cores, in some request).
        gc.freeze()
        return self

    def _apply(self, msg: Message, row: Any) -> None:
        key = msg.key().decode()
        if msg.topic() == self._quotas_topic:
            if row is None:
                self.quotas.drop(key)
            else:
                source = dict(msg.headers() or ()).get(SOURCE_HEADER)
                self.quotas.put(key, row, parse_source_position(source) if source else None)
                self.quotas[key]  # decoded here, once per version: request threads then only read it
            return
        table = self._tables[msg.topic()]
        if row is None:
            old = table.pop(key, None)
            if old is not None and msg.topic() == self._instances_topic:
                self.servers.drop(old)
        else:
            if msg.topic() == self._instances_topic:
                self.servers.put(table.get(key), row)
            table[key] = row

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        return self._feed.wait_until(predicate, timeout)

    def stop(self) -> None:
        self._feed.stop()
