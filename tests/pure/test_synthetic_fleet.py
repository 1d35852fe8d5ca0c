"""The read benchmark's fleet: rows the instance fold leaves after each server's boot, the same for the same seed."""

from __future__ import annotations

import itertools
from collections import Counter

from novalog.projections.synthetic_fleet import fleet


def test_the_fleet_is_booted_servers_spread_over_projects_and_hosts_newest_last() -> None:
    rows = list(itertools.islice(fleet(projects=10, hosts=5, seed=3), 500))

    states = Counter(r.vm_state for r in rows)
    assert states["active"] >= 480 and states["active"] + states["error"] == 500  # 1% of spawns fail on the host
    assert all(r.host is not None and r.task_state is None for r in rows if r.vm_state == "active")
    assert all(r.fault is not None for r in rows if r.vm_state == "error")
    assert len({r.instance_id for r in rows}) == 500
    assert {r.project_id for r in rows} == {f"p{i:04d}" for i in range(10)}
    assert {r.host for r in rows} >= {f"compute-{i:04d}" for i in range(5)}
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert all(r.updated_at > r.created_at for r in rows)


def test_the_same_seed_gives_the_same_rows() -> None:
    assert list(itertools.islice(fleet(seed=5), 50)) == list(itertools.islice(fleet(seed=5), 50))
