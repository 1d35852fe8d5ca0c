"""Tables rebuilt from the log with the declared folds, and compared row by row.

`Rebuild` folds records as the live worker does (projections/registry.py:
the same `step`, a record that does not decode or apply is what the worker
dead-letters and changes nothing). `digest` summarises a table by key range,
so two copies of a table are compared by a few hashes, and only the ranges
whose hashes differ are compared key by key (`differences`).

Pure: records come in as bytes from whatever read the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from novalog.events.codec import decode, encode
from novalog.projections.registry import PROJECTIONS, Projection

# Key ranges per table: keys are spread over them by the first byte of their hash.
RANGES = 16


@dataclass(slots=True)
class TableRebuild:
    """One table folded from the log: its rows by key, and what the fold could not take."""

    projection: Projection
    rows: dict[bytes, Any] = field(default_factory=dict)
    events: int = 0
    dead_letters: int = 0

    def feed(self, key: bytes | None, value: bytes | None, offset: int, decoder: Callable[[bytes | None], Any] = decode) -> None:
        """Fold one record of a source topic, as the live worker would."""
        self.feed_all(((key, value, offset),), decoder=decoder)

    def feed_all(self, records: Iterable[tuple[bytes | None, bytes | None, int]], fed: set[bytes] | None = None,
                 decoder: Callable[[bytes | None], Any] = decode) -> None:
        """Fold records of a source topic in their order, as the live worker would; `fed` collects their keys.

        One loop for them all, not a call per record: this runs for every record a replay reads.
        """
        rows, step = self.rows, self.projection.step
        for key, value, offset in records:
            self.events += 1
            key = key or b""
            if fed is not None:
                fed.add(key)
            try:
                new, _ = step(rows.get(key), decoder(value), offset)
            except Exception:  # the worker dead-letters it and goes on; so does the rebuild
                self.dead_letters += 1
                continue
            if new is not None:
                rows[key] = new


def live_cut(committed: Mapping[tuple[str, int], int], positions: Iterable[Mapping[tuple[str, int], int]]) -> dict[tuple[str, int], int]:
    """Where in the log the live tables stand: per source partition, the exclusive end offset a replay folds to.

    Rows are published in the order the worker folds each partition, and each
    names the record that made it; records after the last one named changed
    no row the reader has read. So the live rows are the fold up to just past
    the last named record, or up to the worker's committed offset (read before
    the rows) when that is further: anything between changed nothing either.
    """
    ends = dict(committed)
    for table in positions:
        for where, offset in table.items():
            ends[where] = max(ends.get(where, 0), offset + 1)
    return ends


def new_rebuild(projections: Iterable[Projection] = PROJECTIONS) -> dict[str, TableRebuild]:
    return {p.table: TableRebuild(p) for p in projections}


@dataclass(frozen=True, slots=True)
class Digest:
    """A table's hash, its rows' count, and the hash of each key range."""

    rows: int
    total: str
    ranges: tuple[str, ...]


def key_range(key: bytes) -> int:
    return hashlib.blake2b(key, digest_size=1).digest()[0] * RANGES // 256


def canonical(row: Any) -> bytes:
    """A row's bytes under today's schema, whatever version wrote it (whole rows are compared, not a few fields)."""
    return encode(row)


def digest(rows: Mapping[bytes, Any]) -> Digest:
    hashes = [hashlib.sha256() for _ in range(RANGES)]
    for key in sorted(rows):
        body = canonical(rows[key])
        h = hashes[key_range(key)]
        h.update(len(key).to_bytes(4, "big") + key + len(body).to_bytes(4, "big") + body)
    ranges = tuple(h.hexdigest() for h in hashes)
    return Digest(len(rows), hashlib.sha256("".join(ranges).encode()).hexdigest(), ranges)


@dataclass(frozen=True, slots=True)
class Difference:
    """One key whose rows differ: the rebuilt row and the live one (None: no row on that side)."""

    key: bytes
    rebuilt: Any
    live: Any

    @property
    def fields(self) -> dict[str, tuple[Any, Any]]:
        """The top-level fields whose values differ (all of them when one side has no row)."""
        if self.rebuilt is None or self.live is None or type(self.rebuilt) is not type(self.live):
            return {"row": (self.rebuilt, self.live)}
        names = self.rebuilt.__dataclass_fields__
        return {n: (getattr(self.rebuilt, n), getattr(self.live, n)) for n in names if getattr(self.rebuilt, n) != getattr(self.live, n)}


def differences(rebuilt: Mapping[bytes, Any], live: Mapping[bytes, Any], limit: int = 10) -> list[Difference]:
    """The first keys (in key order) whose rows differ, looked for only in the key ranges whose digests differ."""
    mine, theirs = digest(rebuilt), digest(live)
    suspect = {i for i in range(RANGES) if mine.ranges[i] != theirs.ranges[i]}
    found: list[Difference] = []
    for key in sorted(k for k in set(rebuilt) | set(live) if key_range(k) in suspect):
        a, b = rebuilt.get(key), live.get(key)
        if a is None or b is None or canonical(a) != canonical(b):
            found.append(Difference(key, a, b))
            if len(found) >= limit:
                break
    return found
