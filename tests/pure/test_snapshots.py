"""Snapshots of rebuilt tables: kept with their exact cut, and used only by a rebuild at or past it on every partition."""

from __future__ import annotations

from pathlib import Path

from builders import build_capacity_report
from novalog import snapshots
from novalog.events.codec import encode
from novalog.events.kafka.window import PartitionSpan, WindowPlan
from novalog.projections.rebuild import TableRebuild
from novalog.projections.registry import BY_TABLE
from novalog.replay import ReplayResult

HOSTS = BY_TABLE["host_state"]


def result_at(ends: dict[int, int]) -> ReplayResult:
    table = TableRebuild(HOSTS)
    for offset, host in enumerate(["h1", "h2"]):
        table.feed(host.encode(), encode(build_capacity_report(host=host)), offset)
    plans = [WindowPlan("p.host.events", tuple(PartitionSpan(p, 0, 0, e) for p, e in ends.items()), ()),
             WindowPlan("p.host.heartbeats", (PartitionSpan(0, 0, 0, 0),), ())]
    return ReplayResult({"host_state": table}, plans, 0.1)


def test_a_snapshot_is_usable_only_at_or_past_its_cut_on_every_partition() -> None:
    ends = {("host.events", 0): 5, ("host.events", 1): 2}
    assert snapshots.usable(ends, {("host.events", 0): 5, ("host.events", 1): 9})
    assert not snapshots.usable(ends, {("host.events", 0): 4, ("host.events", 1): 9})
    assert not snapshots.usable(ends, {("host.events", 0): 9})  # partition 1 not asked for: 0 < 2


def test_the_furthest_usable_snapshot_is_loaded_with_its_rows_and_cut(tmp_path: Path) -> None:
    snapshots.save(result_at({0: 1, 1: 1}), tmp_path, "p")
    snapshots.save(result_at({0: 2, 1: 2}), tmp_path, "p")
    snapshots.save(result_at({0: 9, 1: 9}), tmp_path, "p")
    loaded = snapshots.best(tmp_path, "p", [HOSTS], {("host.events", 0): 3, ("host.events", 1): 2, ("host.heartbeats", 0): 0})
    assert loaded is not None
    assert loaded.ends("p") == {("host.events", 0): 2, ("host.events", 1): 2, ("host.heartbeats", 0): 0}
    assert loaded.tables["host_state"].rows == result_at({}).tables["host_state"].rows
    assert snapshots.best(tmp_path, "p", [HOSTS], {("host.events", 0): 0}) is None
    assert snapshots.best(tmp_path, "other-prefix", [HOSTS], {("host.events", 0): 9, ("host.events", 1): 9}) is None
