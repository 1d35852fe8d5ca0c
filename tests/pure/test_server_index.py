"""The ordered server index: a page walked from the index is the page the whole list gives, for every filter and marker."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from builders import NOW, build_flavor, build_instance_state
from novalog.api.compute.queries import page_servers, select_servers
from novalog.api.compute.server_index import ALL, ServerIndex
from novalog.api.compute.server_pages import RenderedServers, servers_body
from novalog.api.compute.views import server_detail
from novalog.api.faults import BadRequest
from novalog.api.microversion import Version
from novalog.api.paging import next_links, page


def fleet(seed: int = 7, count: int = 60) -> list:
    """Rows of three projects, some sharing a created_at (a multi-create), some deleted, on two hosts."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        rows.append(build_instance_state(
            f"i-{rng.randrange(10**6):06d}-{i}", name=rng.choice(["web", "db", "batch"]) + f"-{i}", project_id=rng.choice(["p1", "p2", "p3"]),
            created_at=NOW + timedelta(seconds=rng.randrange(count // 2)), updated_at=NOW + timedelta(minutes=rng.randrange(10)),
            vm_state=rng.choice(["active", "active", "stopped", "error", "deleted"]), task_state=None,
            host=rng.choice(["h1", "h2"]), flavor=build_flavor(id=rng.choice(["1", "2"])),
        ))
    return rows


def indexed(rows: list) -> tuple[ServerIndex, dict]:
    """An index fed as the read cache feeds it: every row arrives building first, then as it is now."""
    index, table = ServerIndex(), {}
    for row in rows:
        first = row.__class__(**{**{f: getattr(row, f) for f in row.__slots__}, "vm_state": "building"})
        index.put(None, first)
        table[row.instance_id] = first
    for row in rows:
        index.put(table[row.instance_id], row)
        table[row.instance_id] = row
    return index, table


QUERIES = [
    ({}, "p1", False, False),
    ({}, "p1", True, True),
    ({"limit": "5"}, "p2", False, False),
    ({"limit": "4", "sort_dir": "asc", "sort_key": "created_at"}, "p1", True, True),
    ({"status": "active", "limit": "3"}, "p1", True, True),
    ({"deleted": "true", "limit": "7"}, "p3", True, True),
    ({"deleted": "true"}, "p3", False, True),
    ({"project_id": "p2", "limit": "2"}, "p1", True, True),
    ({"tenant_id": "p3"}, "p1", True, True),
    ({"host": "h1", "name": "^web", "limit": "3"}, "p1", True, True),
    ({"flavor": "2", "node": "h2"}, "p2", True, True),
    ({"changes-since": (NOW + timedelta(minutes=5)).isoformat(), "limit": "4"}, "p1", False, False),
    ({"changes-since": (NOW + timedelta(minutes=3)).isoformat()}, "p2", True, True),
    ({"limit": "0"}, "p1", True, True),
    ({"changes-since": (NOW + timedelta(minutes=7)).isoformat(), "limit": "2", "sort_dir": "asc"}, "p3", True, True),
    ({"changes-since": NOW.isoformat(), "limit": "3", "status": "active"}, "p1", True, False),
]


@pytest.mark.parametrize(("params", "project", "all_tenants", "admin"), QUERIES, ids=[json.dumps(q[0]) for q in QUERIES])
def test_every_page_walked_from_the_index_is_the_page_of_the_sorted_list(params, project, all_tenants, admin) -> None:
    rows = fleet()
    index, table = indexed(rows)
    everything = select_servers(list(table.values()), params, project, all_tenants, admin)
    walked, query = [], dict(params)
    while True:
        expected, links = page(everything, lambda r: r.instance_id, query, "u", "servers")
        got = page_servers(index, table, query, project, all_tenants, admin)
        assert [r.instance_id for r in got] == [r.instance_id for r in expected]
        assert next_links(got, lambda r: r.instance_id, query, "u", "servers") == links
        walked += got
        if not links:
            break
        query = {**query, "marker": got[-1].instance_id}
    assert [r.instance_id for r in walked] == [r.instance_id for r in everything][: len(walked)]


def test_ties_of_created_at_are_ordered_by_id_as_nova_orders_them() -> None:
    rows = [build_instance_state(i, project_id="p1", vm_state="active", created_at=NOW) for i in ("b", "c", "a")]
    index, table = indexed(rows)
    assert [r.instance_id for r in select_servers(rows, {}, "p1", False, False)] == ["c", "b", "a"]
    assert [r.instance_id for r in page_servers(index, table, {}, "p1", False, False)] == ["c", "b", "a"]


@pytest.mark.parametrize("params", [{"marker": "nope"}, {"marker": "gone"}], ids=["unknown", "deleted-hidden"])
def test_a_marker_outside_the_list_is_400(params) -> None:
    rows = [build_instance_state("a", project_id="p1", vm_state="active"), build_instance_state("gone", project_id="p1", vm_state="deleted")]
    index, table = indexed(rows)
    with pytest.raises(BadRequest, match=r"marker \[\w+\] not found"):
        page_servers(index, table, params, "p1", False, False)


def test_another_sort_key_is_left_to_the_whole_list() -> None:
    index, table = indexed(fleet())
    assert page_servers(index, table, {"sort_key": "display_name"}, "p1", False, False) is None
    assert page_servers(index, table, {"sort_dir": "up"}, "p1", False, False) is None


def test_a_deleted_row_leaves_the_live_keys_and_a_dropped_one_every_key() -> None:
    live = build_instance_state("a", project_id="p1", vm_state="active")
    index = ServerIndex()
    index.put(None, live)
    deleted = build_instance_state("a", project_id="p1", vm_state="deleted")
    index.put(live, deleted)
    assert list(index.walk("p1", False, True)) == [] and list(index.walk(ALL, True, True)) == ["a"]
    index.put(deleted, live)
    assert list(index.walk(ALL, False, True)) == ["a"]
    index.drop(live)
    assert list(index.walk(ALL, True, True)) == [] and len(index) == 0


def test_a_page_of_kept_encodings_is_what_json_gives_for_the_views_and_a_changed_row_is_encoded_again() -> None:
    rows = fleet(count=5)
    rendered, version = RenderedServers(capacity=3), Version(2, 9)
    links = {"servers_links": [{"rel": "next", "href": "u?limit=5&marker=x"}]}
    for _ in range(2):
        body = servers_body([rendered.detail("http://api", r, True, version) for r in rows], links)
        assert json.loads(body) == {"servers": [server_detail("http://api", r, True, version) for r in rows], **links}
    assert len(rendered) == 3
    renamed = build_instance_state(rows[-1].instance_id, name="renamed")
    assert json.loads(rendered.detail("http://api", renamed, True, version))["name"] == "renamed"
    assert json.loads(rendered.detail("http://api", renamed, False, version)).get("OS-EXT-SRV-ATTR:host", "absent") == "absent"


def test_changes_since_reads_the_rows_updated_since_as_they_change() -> None:
    index = ServerIndex()
    first = build_instance_state("a", project_id="p1", vm_state="building", updated_at=NOW)
    index.put(None, first)
    index.put(None, build_instance_state("b", project_id="p1", vm_state="active", updated_at=NOW + timedelta(minutes=1)))
    assert index.changed_since(NOW + timedelta(seconds=30)) == ["b"]
    later = build_instance_state("a", project_id="p1", vm_state="active", updated_at=NOW + timedelta(minutes=2))
    index.put(first, later)
    assert index.changed_since(NOW + timedelta(seconds=30)) == ["b", "a"]
    assert index.changed_since(NOW) == ["b", "a"], "a row is indexed once, at its latest update"
    index.drop(later)
    assert index.changed_since(NOW) == ["b"]
