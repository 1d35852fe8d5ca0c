"""The scheduler's two host views decide alike: patched columns equal views rebuilt from scratch."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import NOW, build_claim, build_flavor, build_host_state
from novalog.events.records import Envelope
from novalog.events.types import ClaimRejected, InstanceBuildRequested, PlacementProposed
from novalog.scheduler.live import ColumnViews, ListViews
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.service import Scheduler


class DictTable:
    """A host table in memory that reports changed rows, as HostTable does."""

    def __init__(self, rows) -> None:
        self.rows_by_host = {r.host: r for r in rows}
        self.dirty = set(self.rows_by_host)

    def put(self, row) -> None:
        self.rows_by_host[row.host] = row
        self.dirty.add(row.host)

    def rows(self):
        return list(self.rows_by_host.values())

    def take_changed(self):
        changed, self.dirty = self.dirty, set()
        return [self.rows_by_host[h] for h in sorted(changed)]


def request(i: int, ram: int) -> InstanceBuildRequested:
    return InstanceBuildRequested(
        envelope=Envelope.new(InstanceBuildRequested, "t", event_id=str(uuid.UUID(int=i)), occurred_at=NOW),
        instance_id=f"i{i}", name=f"vm{i}", project_id="p", user_id="u", flavor=build_flavor(ram=ram), image_ref="img",
    )


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([256, 512, 1024, 2048]), min_size=1, max_size=20),
    host_ram=st.lists(st.sampled_from([1024, 2048, 4096]), min_size=1, max_size=5),
    reject_every=st.integers(2, 5),
    down=st.sets(st.integers(0, 4), max_size=2),
)
def test_columns_patched_in_place_decide_like_views_rebuilt_each_time(sizes, host_ram, reject_every, down) -> None:
    rows = [
        build_host_state(f"h{i}", memory_mb=ram, last_heartbeat_at=NOW - timedelta(seconds=600 if i in down else 0))
        for i, ram in enumerate(host_ram)
    ]
    table_a, table_b = DictTable(rows), DictTable(rows)
    options = SchedulerOptions(weight_classes=("RAMWeigher", "CPUWeigher"))
    simple = Scheduler("s", ListViews(table_a.rows, 60.0), options, 60.0, random.Random(1), clock=lambda: NOW)
    columns = Scheduler("s", ColumnViews(table_b, 60.0), options, 60.0, random.Random(1), clock=lambda: NOW)
    for i, size in enumerate(sizes):
        out_a, out_b = simple.handle(request(i, size)), columns.handle(request(i, size))
        assert out_a == out_b
        for out in out_a:
            if isinstance(out.record, PlacementProposed) and i % reject_every == 0:
                # The host says no (and the table learns of it): both retry the same way.
                rejected = ClaimRejected(
                    envelope=out.record.envelope.caused(ClaimRejected, "h"), claim_id=out.record.claim_id,
                    instance_id=out.record.instance_id, host=out.record.host, reason="no", spec=out.record.spec,
                )
                for table in (table_a, table_b):
                    row = table.rows_by_host[out.record.host]
                    table.put(replace(row, rejected={**row.rejected, out.record.claim_id: "no"}))
                assert simple.handle(rejected) == columns.handle(rejected)
        # The views the columns build when read (or keep) are the views rebuilt from scratch.
        cols = columns.views.current(columns.in_flight, NOW)
        assert list(cols.hosts) == simple.views.current(simple.in_flight, NOW)


def test_views_built_when_read_equal_views_built_eagerly() -> None:
    """Rows with claims, released and rejected ones, an in-flight claim, a liveness flip: every view and instance lookup."""
    claims = [build_claim("c1"), build_claim("c2", instance_id="i2"), build_claim("c3", instance_id="i3")]
    rows = [
        build_host_state("h0", claims=claims[:2], released=["old"], rejected={"r": "no"}),
        build_host_state("h1", last_heartbeat_at=NOW - timedelta(seconds=30)),
        build_host_state("h2", claims=claims[2:]),
    ]
    table = DictTable(rows)
    views = ColumnViews(table, 60.0, liveness_every=0.0)
    in_flight = {"h1": {"c4": build_claim("c4", instance_id="i4")}}
    cols = views.current(in_flight, NOW)
    eager = ListViews(table.rows, 60.0)
    assert list(cols.hosts) == eager.current(in_flight, NOW)
    assert cols.derived(0) and not cols.derived(1) and cols.derived(2)
    ids = {row: set(found) for row, found in cols.instance_ids()}
    assert ids == {row: set(h.instances) for row, h in enumerate(eager.current(in_flight, NOW)) if h.instances}
    # h1's heartbeat ages past service_down_time: its kept view flips with the column.
    later = NOW + timedelta(seconds=45)
    cols = views.current(in_flight, later)
    assert list(cols.hosts) == eager.current(in_flight, later) and not cols.hosts[1].service_up
    assert cols.hosts[-1] == cols.hosts[2] and cols.hosts[1:] == list(eager.current(in_flight, later))[1:]
    # The in-flight claim is in the table now: h1's view is derived again.
    table.put(replace(table.rows_by_host["h1"], claims=[in_flight["h1"]["c4"]]))
    cols = views.current({}, later)
    assert list(cols.hosts) == eager.current({}, later) and cols.derived(1)



def test_a_claimed_row_counts_in_its_columns_at_once_and_in_its_view_when_read() -> None:
    """ColumnViews.claimed patches the chosen row's columns without building its view; the view read later agrees."""
    from novalog.scheduler.columns import HostColumns

    in_table = build_claim("c1")
    table = DictTable([build_host_state("h0", claims=[in_table]), build_host_state("h1")])
    views = ColumnViews(table, 60.0)
    cols = views.current({}, NOW)
    fresh, again = build_claim("c2", instance_id="i2"), build_claim("c3", instance_id="i3")
    for host, claim in (("h0", fresh), ("h0", in_table), ("h0", fresh), ("h1", again)):
        views.claimed(host, claim)  # a claim the table or an earlier proposal counts is not counted twice

    in_flight = {"h0": {"c2": fresh}, "h1": {"c3": again}}
    eager = ListViews(table.rows, 60.0).current(in_flight, NOW)
    rebuilt = HostColumns.from_hosts(eager)
    assert {name: cols.columns[name].tolist() for name in rebuilt.columns} == {
        name: column.tolist() for name, column in rebuilt.columns.items()
    }
    assert not cols.derived(0) and not cols.derived(1)
    assert {row: set(ids) for row, ids in cols.instance_ids()} == {0: {"instance-of-c1", "i2"}, 1: {"i3"}}
    assert list(cols.hosts) == eager
