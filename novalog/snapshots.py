"""Rebuilt tables kept as snapshots, so `novalog state` need not fold the log from offset 0 each time.

A snapshot is a rebuild's rows (one RocksDB store per table, rows encoded as
on the state topics) and the exact cut it stands at: the exclusive end offset
of every source partition it read (`cut.json`). A later rebuild whose own cut
is at or past that one on every partition goes on from the snapshot instead
of from the beginning; since each key lives in one partition and the folds
run in partition order, that gives exactly what a replay up to the same cut
gives (tests/pure/test_rebuild.py states it as a property). Every
`novalog replay` and `novalog state` leaves one under `<state_dir>/snapshots/<prefix>/`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from novalog.events.codec import decode, encode
from novalog.events.kafka.window import PartitionSpan, WindowPlan
from novalog.projections.rebuild import TableRebuild
from novalog.projections.registry import Projection

CUT_FILE = "cut.json"
KEEP = 20  # snapshots kept per prefix; the oldest go first


def directory(state_dir: Path, prefix: str) -> Path:
    return state_dir / "snapshots" / prefix


def save(result, state_dir: Path, prefix: str) -> Path:
    """Keep the rebuild as a snapshot (rows and cut); returns its folder."""
    from rocksdict import Rdict, WriteBatch

    where = directory(state_dir, prefix) / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    where.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables.items():
        db = Rdict(str(where / name))
        try:
            batch = WriteBatch()
            for key, row in table.rows.items():
                batch.put(key, encode(row))
            db.write(batch)
        finally:
            db.close()
    cut = {
        "prefix": prefix,
        "ends": [[topic, partition, end] for (topic, partition), end in sorted(result.ends(prefix).items())],
        "tables": {name: {"events": t.events, "dead_letters": t.dead_letters} for name, t in result.tables.items()},
    }
    (where / CUT_FILE).write_text(json.dumps(cut, indent=1))
    _prune(directory(state_dir, prefix))
    return where


def _prune(root: Path) -> None:
    import shutil

    kept = sorted(p for p in root.iterdir() if (p / CUT_FILE).exists())
    for old in kept[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)


def usable(ends: Mapping[tuple[str, int], int], wanted: Mapping[tuple[str, int], int]) -> bool:
    """A snapshot can start a rebuild to `wanted` when it is at or before it on every partition it read."""
    return all(end <= wanted.get(where, 0) for where, end in ends.items())


def best(state_dir: Path, prefix: str, projections: Sequence[Projection], wanted: Mapping[tuple[str, int], int]):
    """The snapshot furthest into the log that a rebuild to `wanted` can start from, loaded; None if there is none."""
    from novalog.replay import ReplayResult

    root = directory(state_dir, prefix)
    if not root.exists():
        return None
    names = {p.table for p in projections}
    sources = {s for p in projections for s in p.sources}
    candidates = []
    for folder in root.iterdir():
        try:
            cut = json.loads((folder / CUT_FILE).read_text())
        except (OSError, ValueError):
            continue
        ends = {(t, p): e for t, p, e in cut["ends"] if t in sources}
        if cut.get("prefix") == prefix and names <= set(cut["tables"]) and usable(ends, wanted):
            candidates.append((sum(ends.values()), folder, cut, ends))
    if not candidates:
        return None
    _, folder, cut, ends = max(candidates, key=lambda c: (c[0], c[1].name))
    tables = {p.table: _load_table(folder / p.table, p, cut["tables"][p.table]) for p in projections}
    plans = [WindowPlan(f"{prefix}.{topic}", tuple(PartitionSpan(part, 0, 0, end) for (t, part), end in sorted(ends.items()) if t == topic), ())
             for topic in sorted(sources)]
    return ReplayResult(tables, plans, 0.0, [f"started from the snapshot {folder}"])


def _load_table(path: Path, projection: Projection, counts: Mapping[str, int]) -> TableRebuild:
    from rocksdict import Rdict

    db = Rdict(str(path))
    try:
        rows = {bytes(key): decode(value) for key, value in db.items()}
    finally:
        db.close()
    return TableRebuild(projection, rows, counts.get("events", 0), counts.get("dead_letters", 0))
