"""How a rebuild folds the windows it planned: in this process, or, for a large log, with a helper process.

Decoding and folding take all of a core, and a machine has more than one.
A fresh rebuild of a large log with the declared folds is cut into shares,
one partition of one table each (projections/shares.py); this process and
one helper, each with its own consumer, take shares from a common counter,
largest first, until none is left. The helper sends each share's rows back
as soon as it is folded, and this process merges them between its own
shares, so the two end together. A table whose keys turn up in two shares
(its topics not co-partitioned) is folded again in one pass, so the rows are
always the whole rebuild's. A share the helper could not fold (it failed or
died) is folded here.

A small log, a rebuild that resumes another's tables, or folds the registry
does not declare (a test's changed fold): one pass in this process, as before.

```
 this process ──take──┐            ┌──take── helper process (spawned)
   fold share,        ├─ counter ──┤           fold share, send its rows ─┐
   merge own rows     │            │                                      │
   merge helper rows ◀┼────────────┼──────────── queue ◀──────────────────┘
```
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.reduction import ForkingPickler
from typing import Any

from confluent_kafka import Consumer

from novalog.events.avro_shapes import COMMON_RECORDS
from novalog.events.codec import RECORD_TYPES
from novalog.events.evolve import reduce_record
from novalog.events.kafka.log import consumer_config
from novalog.events.kafka.window import WindowPlan, read_window
from novalog.projections.rebuild import TableRebuild
from novalog.projections.registry import BY_TABLE, Projection
from novalog.projections.shares import Share, ShareResult, fold_share, merge, shares

# Below this many records a helper costs more (its start, the rows it sends back) than it saves.
SHARED_FROM = 100_000
PROGRESS_STEP = 2000

Progress = Callable[[int], None]
Planned = Sequence[tuple[Projection, WindowPlan]]


def fold_windows(bootstrap: str, consumer: Consumer, planned: Planned, tables: dict[str, TableRebuild],
                 progress: Progress | None, *, fresh: bool) -> list[str]:
    """Fold the planned windows into the tables (fresh: they hold nothing yet); notes on how it went."""
    with _no_cycle_collection():
        if fresh and sum(w.total for _, w in planned) >= SHARED_FROM and (os.cpu_count() or 1) > 1 and all(
                BY_TABLE.get(p.table) is p for p, _ in planned):
            return _fold_shared(bootstrap, consumer, planned, tables, progress or (lambda n: None))
        fold_whole(consumer, planned, tables, progress)
        return []


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while the tables are folded.

    A rebuild makes millions of objects that live on (the rows) and almost no
    cycles (frozen records, lists and dicts of them), so each collection
    walks an ever larger heap for nothing: a tenth of a million-record
    rebuild. Reference counting still frees everything else; what cycles
    there are go at the next collection after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fold_whole(consumer: Consumer, planned: Planned, tables: dict[str, TableRebuild], progress: Progress | None) -> None:
    """One pass: every window in turn, every record fed to its table."""
    for projection, window in planned:
        tables[projection.table].feed_all(_records(consumer, [window], progress))


def _fold_shared(bootstrap: str, consumer: Consumer, planned: Planned, tables: dict[str, TableRebuild], progress: Progress) -> list[str]:
    cut, projections = shares(planned), {p.table: p for p, _ in planned}
    ctx = multiprocessing.get_context("spawn")  # a fork would copy this process's Kafka client threads mid-flight
    taken, helped, sent = ctx.Value("i", 0), ctx.Value("q", 0), ctx.Queue()
    helper = ctx.Process(target=_help, args=(bootstrap, cut, projections, taken, helped, sent), name="novalog-replay-helper", daemon=True)
    helper.start()
    merging = _Merging(tables, progress, helped)
    try:
        while (index := _take(taken, len(cut))) is not None:
            merging.own.add(index)
            merging.add(index, _fold(consumer, projections[cut[index].table], cut[index], merging.advance))
            merging.receive(sent, block=False)
        while len(merging.merged) < len(cut):
            if not merging.receive(sent, block=True) and not helper.is_alive():
                merging.receive(sent, block=False)  # what it sent before it went
                for index in sorted(set(range(taken.value)) - merging.merged - merging.own):
                    merging.add(index, _fold(consumer, projections[cut[index].table], cut[index], merging.advance))
    finally:
        helper.join(10)
        if helper.is_alive():
            helper.terminate()
    merging.catch_up()
    for name in sorted(merging.tangled):
        tables[name] = TableRebuild(projections[name])
        fold_whole(consumer, [(p, w) for p, w in planned if p.table == name], tables, None)
    return [f"table {name}: keys in more than one partition of its topics, folded again in one pass" for name in sorted(merging.tangled)]


class _Merging:
    """This process's side of a shared fold: the shares merged, the tables that must be folded again, the progress shown."""

    def __init__(self, tables: dict[str, TableRebuild], progress: Progress, helped: Any) -> None:
        self.tables, self.progress, self.helped = tables, progress, helped
        self.own: set[int] = set()
        self.merged: set[int] = set()
        self.tangled: set[str] = set()
        self.fed: dict[str, set[bytes]] = {}
        self.shown_helped = 0

    def add(self, index: int, result: ShareResult) -> None:
        if index not in self.merged and result.table not in self.tangled and not merge(self.tables, result, self.fed):
            self.tangled.add(result.table)
        self.merged.add(index)

    def receive(self, sent: Any, *, block: bool) -> bool:
        """Merge what the helper sent (waiting a moment for it if `block`); False if nothing came."""
        got = False
        while True:
            try:
                kind, index, payload = sent.get(timeout=0.5) if block and not got else sent.get_nowait()
            except queue.Empty:
                self.catch_up()
                return got
            got = True
            if kind == "folded":
                self.add(index, payload)
            # "failed": the share stays unmerged, and this process folds it once the helper is gone

    def advance(self, n: int) -> None:
        self.progress(n)
        self.catch_up()

    def catch_up(self) -> None:
        """Show what the helper folded since last time."""
        now = self.helped.value
        if now > self.shown_helped:
            self.progress(now - self.shown_helped)
            self.shown_helped = now


def _take(taken: Any, count: int) -> int | None:
    """The next share to fold, for whichever process asks first; None when all are taken."""
    with taken.get_lock():
        index = taken.value
        if index >= count:
            return None
        taken.value = index + 1
        return index


def _fold(consumer: Consumer, projection: Projection, share: Share, advance: Progress) -> ShareResult:
    return fold_share(projection, share, _records(consumer, [WindowPlan(topic, (span,), ()) for topic, span in share.parts], advance))


def _records(consumer: Consumer, windows: Sequence[WindowPlan], advance: Progress | None) -> Iterator[tuple[bytes | None, bytes | None, int]]:
    """(key, value, offset) of every record of the windows, one after the other, showing the progress every PROGRESS_STEP."""
    done = 0
    for window in windows:
        for msg in read_window(consumer, window):
            yield msg.key(), msg.value(), msg.offset()
            done += 1
            if done % PROGRESS_STEP == 0 and advance is not None:
                advance(PROGRESS_STEP)
    if advance is not None:
        advance(done % PROGRESS_STEP)


def _help(bootstrap: str, cut: list[Share], projections: dict[str, Projection], taken: Any, helped: Any, sent: Any) -> None:
    """The helper process: take shares until none is left, send each one's rows as soon as it is folded."""
    consumer = Consumer(consumer_config(bootstrap, f"novalog-replay-{uuid.uuid4()}", **{"enable.partition.eof": False}))

    def advance(n: int) -> None:
        with helped.get_lock():
            helped.value += n

    gc.disable()  # as in the replay process (_no_cycle_collection); this process ends with the rebuild
    for cls in (*RECORD_TYPES, *COMMON_RECORDS):  # rows sent back slot by slot, not through __setstate__
        ForkingPickler.register(cls, reduce_record)
    try:
        while (index := _take(taken, len(cut))) is not None:
            try:
                result = _fold(consumer, projections[cut[index].table], cut[index], advance)
            except Exception:  # noqa: BLE001 - reported; the other process folds this share itself
                sent.put(("failed", index, traceback.format_exc()))
                return
            sent.put(("folded", index, result))
    finally:
        consumer.close()
        # Everything sent is flushed to the pipe; then the process ends without freeing the rows it
        # made one by one (seconds, for a large log), which the replay process would wait for.
        sent.close()
        sent.join_thread()
        os._exit(0)
