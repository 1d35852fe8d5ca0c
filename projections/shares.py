"""A rebuild cut into shares that fold apart, in any process, and merge into the very rows of a whole rebuild.

A share is one partition of one table's source topics. A key lives in one
partition of each topic, the same one in each (a table's sources are
co-partitioned by key: the same key, the same partition count, murmur2), so
all of a key's records are in one share, in the order a whole rebuild folds
them: source after source, each partition in offset order. A fold is a
function of one key's records alone, so the shares' rows put together are
the whole rebuild's rows.

That rests on the co-partitioning, which the log does not promise (a topic
with another partition count, records without a key). So each share says
which keys it fed, and merging refuses a share whose keys another share of
its table fed already: that table is then folded again in one pass.

```
 plan ──shares()──▶ [instances p0] [instances p1] ... [host_state p0] ...   largest first
                          │ fold_share (any process)
                          ▼
                     ShareResult ──merge()──▶ TableRebuild  (False: keys in two shares, fold the table whole)
```

Pure: records come in as (key, value, offset) from whatever read the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from novalog.projections.rebuild import TableRebuild
from novalog.projections.registry import Projection


class Span(Protocol):
    partition: int

    @property
    def count(self) -> int: ...


class Window(Protocol):
    topic: str

    @property
    def spans(self) -> Sequence[Span]: ...


@dataclass(frozen=True, slots=True)
class Share:
    """One partition of one table's sources: (full topic, span) in the order the table folds its sources."""

    table: str
    partition: int
    parts: tuple[tuple[str, Any], ...]

    @property
    def records(self) -> int:
        return sum(span.count for _, span in self.parts)


def shares(planned: Iterable[tuple[Projection, Window]]) -> list[Share]:
    """Every table's windows cut by partition, largest share first (so the last ones to fold are small); empty ones left out."""
    parts: dict[tuple[str, int], list[tuple[str, Any]]] = {}
    for projection, window in planned:
        for span in window.spans:
            if span.count:
                parts.setdefault((projection.table, span.partition), []).append((window.topic, span))
    cut = [Share(table, partition, tuple(found)) for (table, partition), found in parts.items()]
    return sorted(cut, key=lambda s: (-s.records, s.table, s.partition))


@dataclass(slots=True)
class ShareResult:
    """One share folded: its rows, its counts, and the keys it fed that ended without a row."""

    table: str
    partition: int
    rows: dict[bytes, Any] = field(default_factory=dict)
    events: int = 0
    dead_letters: int = 0
    rowless: set[bytes] = field(default_factory=set)

    def keys(self) -> set[bytes]:
        return self.rows.keys() | self.rowless


def fold_share(projection: Projection, share: Share, records: Iterable[tuple[bytes | None, bytes | None, int]]) -> ShareResult:
    """Fold one share's records (in the share's order) as a whole rebuild folds them."""
    table, fed = TableRebuild(projection), set[bytes]()
    table.feed_all(records, fed)
    return ShareResult(share.table, share.partition, table.rows, table.events, table.dead_letters, fed - table.rows.keys())


def merge(tables: Mapping[str, TableRebuild], result: ShareResult, fed: dict[str, set[bytes]]) -> bool:
    """Add a share's rows and counts to its table; False, adding nothing, if another share fed one of its keys.

    `fed` keeps the keys merged so far, per table.
    """
    keys, before = result.keys(), fed.setdefault(result.table, set())
    if not keys.isdisjoint(before):
        return False
    before |= keys
    table = tables[result.table]
    table.rows.update(result.rows)
    table.events += result.events
    table.dead_letters += result.dead_letters
    return True
