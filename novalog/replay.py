"""`novalog replay` and `novalog state`: the tables rebuilt from the log, compared with the live ones.

A replay reads every source topic of the declared projections
(projections/registry.py) from its first retained record up to a cut (the
end as the replay starts, a time, or a position), folds it with the live
code into fresh rows, and keeps them as a snapshot in a fresh RocksDB store
under `<state_dir>/snapshots/` (novalog/snapshots.py); the live tables are not touched. The live tables are
read from their compacted state topics (what every reader of the tables
sees), and both sides are compared by a digest per table and per key range.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from novalog.events.codec import decode
from novalog.events.kafka.log import consumer_config
from novalog.events.kafka.window import PartitionSpan, WindowPlan, plan_window, read_window
from novalog.events.row_headers import SOURCE_HEADER, parse_source_position
from novalog.projections import decisions
from novalog.projections.rebuild import Difference, TableRebuild, differences, digest, live_cut, new_rebuild
from novalog.projections.registry import PROJECTIONS, Projection
from novalog.replay_fold import fold_windows

Progress = Callable[[int], None]
ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a replay stops: before a time, and/or after one record (`topic:partition:offset`, that partition only)."""

    until: datetime | None = None
    topic: str | None = None
    partition: int = 0
    offset: int = -1
    # Exclusive end offsets per (logical topic, partition): where the live tables stand (see `live_cut`).
    ends: Mapping[tuple[str, int], int] | None = None

    @classmethod
    def parse_position(cls, text: str) -> Cut:
        """`instance.events:3:120`: the state just after that record (other partitions cut at its time)."""
        try:
            topic, partition, offset = text.rsplit(":", 2)
            return cls(topic=topic, partition=int(partition), offset=int(offset))
        except ValueError:
            raise ValueError(f"{text!r} is not a log position TOPIC:PARTITION:OFFSET (e.g. instance.events:3:120)") from None


@dataclass
class ReplayResult:
    tables: dict[str, TableRebuild]
    plans: list[WindowPlan]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(t.events for t in self.tables.values())

    def ends(self, prefix: str) -> dict[tuple[str, int], int]:
        """Where the rebuild stopped: the exclusive end offset of each (logical topic, partition) it read."""
        return {(w.topic[len(prefix) + 1:], s.partition): s.end for w in self.plans for s in w.spans}


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(consumer_config(bootstrap, f"novalog-replay-{uuid.uuid4()}", **{"enable.partition.eof": False}))


def _record_time(consumer: Consumer, full_topic: str, partition: int, offset: int) -> datetime:
    consumer.assign([TopicPartition(full_topic, partition, offset)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error() and msg.partition() == partition and msg.offset() == offset:
            consumer.unassign()
            return datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC)
    raise LookupError(f"{full_topic}[{partition}] has no record at offset {offset}")


def plan(consumer: Consumer, prefix: str, projections: Sequence[Projection], cut: Cut) -> list[tuple[Projection, WindowPlan]]:
    """The windows to read for each projection's source topics, up to the cut."""
    until = cut.until
    if cut.topic is not None:
        # Just after that record: its own partition to its offset, every other one up to its time.
        stamp = _record_time(consumer, f"{prefix}.{cut.topic}", cut.partition, cut.offset)
        until = datetime.fromtimestamp(stamp.timestamp() + 0.001, stamp.tzinfo)
    plans = []
    for projection in projections:
        for source in projection.sources:
            window = plan_window(consumer, f"{prefix}.{source}", source, None, until)
            if cut.ends is not None:
                spans = tuple(PartitionSpan(s.partition, s.low, s.start, max(s.start, min(s.end, cut.ends.get((source, s.partition), 0))))
                              for s in window.spans)
                window = WindowPlan(window.topic, spans, window.notes)
            if cut.topic == source:
                spans = tuple(
                    PartitionSpan(s.partition, s.low, s.start, max(s.start, cut.offset + 1)) if s.partition == cut.partition else s
                    for s in window.spans
                )
                window = WindowPlan(window.topic, spans, window.notes)
            plans.append((projection, window))
    return plans


def rebuild(bootstrap: str, prefix: str, *, projections: Sequence[Projection] = PROJECTIONS, cut: Cut = Cut(),
            progress: Progress | None = None, on_plan: Callable[[int], None] | None = None,
            resume: ReplayResult | None = None, snapshots: Path | None = None) -> ReplayResult:
    """Fold every declared table from the log up to the cut; nothing live is touched.

    With `resume`, its tables go on from where that rebuild stopped; with
    `snapshots` (a state dir), from the furthest snapshot at or before the cut.
    """
    consumer = _consumer(bootstrap)
    try:
        planned = plan(consumer, prefix, projections, cut)
        if resume is None and snapshots is not None:
            from novalog import snapshots as kept

            wanted = {(w.topic[len(prefix) + 1:], s.partition): s.end for _, w in planned for s in w.spans}
            resume = kept.best(snapshots, prefix, projections, wanted)
        if resume is not None:
            done_to = resume.ends(prefix)
            planned = [(p, WindowPlan(w.topic, tuple(
                PartitionSpan(s.partition, s.low, min(s.end, max(s.start, done_to.get((w.topic[len(prefix) + 1:], s.partition), 0))), s.end)
                for s in w.spans), w.notes)) for p, w in planned]
        if on_plan is not None:
            on_plan(sum(w.total for _, w in planned))
        tables = new_rebuild(projections) if resume is None else resume.tables
        started = time.perf_counter()
        folding = fold_windows(bootstrap, consumer, planned, tables, progress, fresh=resume is None)
        seconds = time.perf_counter() - started
    finally:
        consumer.close()
    notes = [note for _, w in planned for note in w.notes] + (resume.notes if resume is not None else []) + folding
    return ReplayResult(tables, [w for _, w in planned], seconds, notes)


@dataclass
class LiveTable:
    """A live table as its readers see it: the latest row of each key on its compacted state topic, and how far
    into the log those rows go (the highest source offset named by a row, per source topic and partition)."""

    rows: dict[bytes, Any] = field(default_factory=dict)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


def live_table(bootstrap: str, prefix: str, projection: Projection) -> LiveTable:
    consumer = _consumer(bootstrap)
    live = LiveTable()
    try:
        window = plan_window(consumer, f"{prefix}.{projection.state_topic}", projection.state_topic, None, None)
        for msg in read_window(consumer, window):
            key = msg.key() or b""
            for name, value in msg.headers() or []:
                if name == SOURCE_HEADER:
                    where = parse_source_position(value)
                    live.positions[where[:2]] = max(where[2], live.positions.get(where[:2], -1))
            if msg.value() is None:
                live.rows.pop(key, None)
            else:
                live.rows[key] = decode(msg.value())
    finally:
        consumer.close()
    return live


def worker_committed(bootstrap: str, prefix: str, projections: Sequence[Projection]) -> dict[tuple[str, int], int]:
    """The live projection worker's committed offsets on every source partition (0 where it committed none).

    Each source is read by one group: the decision loop's for the deciding tables, Faust's for the rest.
    """
    out: dict[tuple[str, int], int] = {}
    for group, chosen in ((decisions.group(prefix), [p for p in projections if decisions.deciding(p)]),
                          (f"{prefix}-projections", [p for p in projections if not decisions.deciding(p)])):
        if not chosen:
            continue
        consumer = Consumer(consumer_config(bootstrap, group))
        try:
            wanted = []
            for source in sorted({s for p in chosen for s in p.sources}):
                name = f"{prefix}.{source}"
                meta = consumer.list_topics(name, timeout=10).topics[name]
                wanted += [TopicPartition(name, part) for part in meta.partitions]
            committed = consumer.committed(wanted, timeout=10) if wanted else []
            out.update({(tp.topic[len(prefix) + 1:], tp.partition): max(tp.offset, 0) for tp in committed})
        finally:
            consumer.close()
    return out


def live_snapshot(bootstrap: str, prefix: str, projections: Sequence[Projection]) -> tuple[dict[str, LiveTable], Cut]:
    """The live tables, and the cut of the log they stand at (what a replay must fold to compare with them)."""
    committed = worker_committed(bootstrap, prefix, projections)  # before the rows: the rows read go at least this far
    live = {p.table: live_table(bootstrap, prefix, p) for p in projections}
    return live, Cut(ends=live_cut(committed, [t.positions for t in live.values()]))


@dataclass(frozen=True, slots=True)
class TableComparison:
    table: str
    rebuilt_rows: int
    live_rows: int
    rebuilt_digest: str
    live_digest: str
    differences: list[Difference]

    @property
    def identical(self) -> bool:
        return self.rebuilt_digest == self.live_digest


def compare(result: ReplayResult, live: Mapping[str, LiveTable], limit: int = 10) -> list[TableComparison]:
    """Each rebuilt table against its live twin, by digest; the first differing keys where they differ."""
    out = []
    for name, table in result.tables.items():
        theirs_rows = live[name].rows
        mine, theirs = digest(table.rows), digest(theirs_rows)
        diffs = [] if mine.total == theirs.total else differences(table.rows, theirs_rows, limit)
        out.append(TableComparison(name, mine.rows, theirs.rows, mine.total, theirs.total, diffs))
    return out


def replay_and_compare(bootstrap: str, prefix: str, *, projections: Sequence[Projection] = PROJECTIONS, limit: int = 10,
                       progress: Progress | None = None, on_plan: Callable[[int], None] | None = None,
                       ) -> tuple[ReplayResult, list[TableComparison]]:
    """Rebuild the tables up to where the live ones stand (the worker may be behind the log's end), and compare.

    A row the worker has folded and committed may still be on its way to the
    state topic when the rows are read; a difference is only reported when
    a second look, a moment later, finds it again.
    """
    for attempt in range(ATTEMPTS):
        live, cut = live_snapshot(bootstrap, prefix, projections)
        result = rebuild(bootstrap, prefix, projections=projections, cut=cut, progress=progress, on_plan=on_plan)
        verdicts = compare(result, live, limit)
        if all(v.identical for v in verdicts):
            break
        time.sleep(1.0)
    return result, verdicts
