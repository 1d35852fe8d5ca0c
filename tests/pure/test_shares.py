"""A rebuild cut into shares (table x partition) merges into the whole rebuild's rows, whatever order they come in.

The log here is the synthetic cloud's (projections/synthetic_log.py), spread
over partitions by a hash of the key as a producer spreads it; a "whole"
rebuild folds each table's topics one after the other, as novalog.replay does.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from novalog.events.codec import encode
from novalog.projections.rebuild import new_rebuild
from novalog.projections.registry import BY_TABLE, PROJECTIONS
from novalog.projections.shares import Share, ShareResult, fold_share, merge, shares
from novalog.projections.synthetic_log import CloudShape, synthetic_log

PARTITIONS = 4


@dataclass(frozen=True, slots=True)
class Span:
    partition: int
    records: tuple[tuple[bytes, bytes, int], ...]

    @property
    def count(self) -> int:
        return len(self.records)


@dataclass(frozen=True, slots=True)
class Window:
    topic: str
    spans: tuple[Span, ...]


def partitioned_log(events: int, where=lambda key: zlib.crc32(key) % PARTITIONS) -> dict[str, dict[int, list[tuple[bytes, bytes, int]]]]:
    """The log by topic and partition, each record (key, value, offset in its partition)."""
    log: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for record in synthetic_log(events, CloudShape(hosts=8, projects=20, busy=0.9, dead_letter_rate=0.003)):
        key = record.key.encode()
        value = record.value if isinstance(record.value, bytes) else encode(record.value)
        partition = log[record.topic][where(key)]
        partition.append((key, value, len(partition)))
    return log


def planned(log) -> list[tuple]:
    return [(p, Window(s, tuple(Span(n, tuple(records)) for n, records in sorted(log.get(s, {}).items()))))
            for p in PROJECTIONS for s in p.sources]


def whole(log) -> dict:
    tables = new_rebuild()
    for projection, window in planned(log):
        for span in window.spans:
            for key, value, offset in span.records:
                tables[projection.table].feed(key, value, offset)
    return tables


def folded(share: Share) -> ShareResult:
    records = [r for _, span in share.parts for r in span.records]
    return fold_share(BY_TABLE[share.table], share, records)


LOG = partitioned_log(4000)
WHOLE = whole(LOG)


def test_a_share_is_one_partition_of_a_tables_topics_in_the_order_the_table_folds_them() -> None:
    cut = shares(planned(LOG))

    host = [s for s in cut if s.table == "host_state" and s.partition == 1][0]
    assert [topic for topic, _ in host.parts] == ["host.events", "host.heartbeats"]
    assert {(s.table, s.partition) for s in cut} == {(p.table, n) for p, w in planned(LOG) for n in range(PARTITIONS) if w.spans}
    assert [s.records for s in cut] == sorted((s.records for s in cut), reverse=True)
    assert all(s.records > 0 for s in cut)


@settings(max_examples=10, deadline=None)
@given(order=st.permutations(range(len(shares(planned(LOG))))))
def test_shares_merged_in_any_order_give_the_whole_rebuilds_rows_and_counts(order) -> None:
    cut, tables, fed = shares(planned(LOG)), new_rebuild(), {}

    merged = [merge(tables, folded(cut[i]), fed) for i in order]

    assert all(merged)
    for name, table in WHOLE.items():
        assert (tables[name].rows, tables[name].events, tables[name].dead_letters) == (table.rows, table.events, table.dead_letters), name
    assert sum(t.dead_letters for t in tables.values()) > 0


def test_a_share_holding_keys_of_another_is_refused_and_adds_nothing() -> None:
    # heartbeats spread by another rule than host.events: a host's records land in two shares
    log = partitioned_log(1500)
    beats = [r for part in log["host.heartbeats"].values() for r in part]
    log["host.heartbeats"] = {n: [(k, v, i) for i, (k, v, _) in enumerate(beats[n::PARTITIONS])] for n in range(PARTITIONS)}
    cut, tables, fed = [s for s in shares(planned(log)) if s.table == "host_state"], new_rebuild(), {}

    verdicts = [merge(tables, folded(share), fed) for share in cut]

    assert verdicts[0] and not all(verdicts)
    assert tables["host_state"].events == sum(s.records for s, ok in zip(cut, verdicts) if ok)
