"""The API's read cache: the projections' state topics folded into dicts, and a way to wait for a write.

A write waits until its own row shows up with an offset at or past the
write's position (read-your-writes), so the same client's next GET sees it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from confluent_kafka import Message

from novalog.api.compute.server_index import ServerIndex
from novalog.events import topics
from novalog.events.codec import decode
from novalog.events.kafka.feed import TopicFeed
from novalog.projections.registry import DECIDED_HEADER, SOURCE_HEADER, parse_decided_header, parse_source_position


class LazyRows(Mapping[str, Any]):
    """A table of rows with, per row, the position of the record that made it and the decisions it announced.

    `reached` tells from that position alone whether a row has folded a
    given record, and `decision` answers a create from the decisions the
    row's versions announced in their header (projections/registry.py
    DECIDED_HEADER). A create thus never decodes its project's row: when
    that row still listed every counted instance, decoding each version as
    it arrived (184 KB at 3,000 servers, 4.6 ms) was over a third of the
    API's CPU under a steady boot load; it now keeps running totals and the
    recent decisions (about 27 KB at 3,000 servers). A row is decoded when
    something reads it (limits, quota sets), once per version.
    """

    def __init__(self, decisions_kept: int = 1024) -> None:
        self._raw: dict[str, tuple[bytes, tuple[str, int, int] | None]] = {}
        self._decoded: dict[str, tuple[bytes, Any]] = {}
        self._decided: dict[str, dict[str, tuple[str, list[str]]]] = {}
        self._decisions_kept = decisions_kept

    def put(self, key: str, raw: bytes, source: tuple[str, int, int] | None,
            decided: Mapping[str, tuple[str, list[str]]] | None = None) -> None:
        self._raw[key] = (raw, source)
        if decided:
            recent = self._decided.setdefault(key, {})
            recent.update(decided)
            while len(recent) > self._decisions_kept:  # far more than creates ever wait at once
                del recent[next(iter(recent))]

    def drop(self, key: str) -> None:
        self._raw.pop(key, None)
        self._decoded.pop(key, None)
        self._decided.pop(key, None)

    def reached(self, key: str, topic: str, partition: int, offset: int) -> bool:
        """True once the row has folded the record at topic[partition]@offset (or one after it)."""
        held = self._raw.get(key)
        source = held[1] if held is not None else None
        return source is not None and source[0] == topic and source[1] == partition and source[2] >= offset

    def decision(self, key: str, decision_id: str) -> tuple[str, list[str]] | None:
        """The (message, accepted ids) a version of the row announced for the decision, if one did."""
        return self._decided.get(key, {}).get(decision_id)

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
        # Rows that change with every create and are tens of KB each (a host's claims, a project's
        # recent quota decisions): kept as bytes, decoded when a request reads them (LazyRows).
        self.hosts = LazyRows()
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
        self._lazy = {f"{prefix}.{topics.STATE_QUOTAS}": self.quotas, f"{prefix}.{topics.STATE_HOSTS}": self.hosts}
        self._feed = TopicFeed(bootstrap, list(self._tables), self._apply, "api-read-cache", raw_topics=list(self._lazy))

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
        if (lazy := self._lazy.get(msg.topic())) is not None:
            if row is None:
                lazy.drop(key)
            else:
                headers = dict(msg.headers() or ())
                source, decided = headers.get(SOURCE_HEADER), headers.get(DECIDED_HEADER)
                lazy.put(key, row, parse_source_position(source) if source else None,
                         parse_decided_header(decided) if decided else None)
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

    def wait_until(self, predicate: Callable[[], bool], timeout: float, key: str | None = None) -> bool:
        """Wait for the predicate; with `key`, it reads only that row, and is checked when that row arrives."""
        return self._feed.wait_until(predicate, timeout, key)

    def stop(self) -> None:
        self._feed.stop()
