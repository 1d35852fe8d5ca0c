"""`novalog replay --swap`: a live table rebuilt with today's folds, swapped in atomically.

After a fix to a fold, the live table still holds what the old fold made.
The swap rebuilds the table from the log while the projection worker runs
(the old table serves), then, once the worker is stopped, catches up to
where it stopped, and writes every row that differs (and a tombstone for
every row that is gone) to the table's changelog, then to its state topic in
one Kafka transaction: readers (read_committed) see the old table until the
commit and the new one after it, never a mix. The restarted worker recovers
its RocksDB store from the changelog (the swapped rows come last in it) and
goes on from its committed offsets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from novalog.events.codec import encode
from novalog.events.kafka.log import producer_config
from novalog.projections import decisions
from novalog.projections.registry import Projection
from novalog.replay import ReplayResult, live_snapshot, live_table, rebuild

# Rows written by a swap say so (they name no source record: they stand at the worker's commit).
SWAPPED_HEADER = "novalog.swapped"


class WorkerStillRunning(RuntimeError):
    """The projection worker did not stop in time; nothing was swapped."""


@dataclass(frozen=True, slots=True)
class Swapped:
    table: str
    written: int
    deleted: int
    unchanged: int


def worker_group(prefix: str) -> str:
    return f"{prefix}-projections"


def changelog_topic(prefix: str, table: str) -> str:
    return f"{prefix}-projections-{table}-changelog"


def worker_members(bootstrap: str, prefix: str) -> int:
    """How many consumers the projection worker's groups (Faust's and the decision loop's) have now (0: stopped)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    groups = [worker_group(prefix), decisions.group(prefix)]
    return sum(len(future.result(timeout=10).members) for future in admin.describe_consumer_groups(groups).values())


def wait_worker_stopped(bootstrap: str, prefix: str, patience: float, tell: Callable[[str], None]) -> None:
    deadline = time.monotonic() + patience
    told = False
    while worker_members(bootstrap, prefix):
        if not told:
            tell(f"waiting for the projection worker ({worker_group(prefix)}) to stop; the old tables serve until the swap")
            told = True
        if time.monotonic() > deadline:
            raise WorkerStillRunning(f"the projection worker still runs after {patience:g} s; nothing was swapped")
        time.sleep(0.5)


def swap(bootstrap: str, prefix: str, projections: Sequence[Projection], result: ReplayResult) -> list[Swapped]:
    """Write the rebuilt tables over the live ones (the worker must be stopped).

    The Faust tables' changelogs are written first and flushed: only the stopped worker
    reads them, at its restart (Faust's recovery waits forever for offsets
    that a transaction's markers take, so they are written without one).
    Then the state topics, which every reader follows, get all the changes
    in one transaction (the decision loop's tables recover from there). Differences are taken against the state topics, so
    a swap cut short is finished by running it again.
    """
    changes = {p.table: _changes(bootstrap, prefix, p, result) for p in projections}
    plain = Producer(producer_config(bootstrap, linger_ms=5))
    for projection in projections:
        if decisions.deciding(projection):
            continue  # the decision loop's changelog is the state topic itself
        for key, body in changes[projection.table][0]:
            plain.produce(changelog_topic(prefix, projection.table), key=key, value=body)
    if plain.flush(60):
        raise RuntimeError("the changelogs could not be written; nothing was swapped for readers")
    producer = Producer({**producer_config(bootstrap), "transactional.id": f"{prefix}-replay-swap-{uuid.uuid4()}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    try:
        for projection in projections:
            for key, body in changes[projection.table][0]:
                producer.produce(f"{prefix}.{projection.state_topic}", key=key, value=body, headers=[(SWAPPED_HEADER, b"replay")])
        producer.commit_transaction(60)
    except BaseException:
        producer.abort_transaction(30)
        raise
    return [changes[p.table][1] for p in projections]


def _changes(bootstrap: str, prefix: str, projection: Projection, result: ReplayResult) -> tuple[list[tuple[bytes, bytes | None]], Swapped]:
    """The rows to write (None: remove the key) so the live table becomes the rebuilt one."""
    live = live_table(bootstrap, prefix, projection).rows
    rebuilt = result.tables[projection.table].rows
    out: list[tuple[bytes, bytes | None]] = []
    unchanged = 0
    for key, row in rebuilt.items():
        body = encode(row)
        old = live.get(key)
        if old is not None and encode(old) == body:
            unchanged += 1
        else:
            out.append((key, body))
    gone = [(key, None) for key in live.keys() - rebuilt.keys()]
    return out + gone, Swapped(projection.table, len(out), len(gone), unchanged)


def rebuild_and_swap(bootstrap: str, prefix: str, projections: Sequence[Projection], *, patience: float,
                     tell: Callable[[str], None] = print, before_stop: Callable[[ReplayResult], None] | None = None,
                     progress: Callable[[int], None] | None = None, on_plan: Callable[[int], None] | None = None,
                     ) -> tuple[ReplayResult, list[Swapped]]:
    """Rebuild while the worker runs, wait for it to stop, catch up to where it stopped, swap.

    Both rebuilds stop where the live tables stand (`live_snapshot`): past
    the last record a published row names, or at the worker's commit. After
    a crash the worker's own store is ahead of its commit in the same way,
    and its folds take the records in between again idempotently.
    """
    first = rebuild(bootstrap, prefix, projections=projections, cut=live_snapshot(bootstrap, prefix, projections)[1],
                    progress=progress, on_plan=on_plan)
    tell(f"rebuilt {', '.join(p.table for p in projections)} from {first.events} events while the worker ran")
    if before_stop is not None:
        before_stop(first)
    wait_worker_stopped(bootstrap, prefix, patience, tell)
    final = rebuild(bootstrap, prefix, projections=projections, cut=live_snapshot(bootstrap, prefix, projections)[1], resume=first,
                    progress=progress, on_plan=on_plan)
    tell(f"caught up to where the stopped worker stands: {final.events} events in all")
    return final, swap(bootstrap, prefix, projections, final)
