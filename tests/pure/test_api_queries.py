"""Server and flavor lists: Nova's filters, sorting and paging (limit, marker, next links)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import NOW, build_flavor, build_flavor_state, build_instance_state
from novalog.api.compute.queries import select_flavors, select_servers
from novalog.api.faults import BadRequest
from novalog.api.paging import MAX_LIMIT, page, parse_limit


def servers():
    return [
        build_instance_state("a", name="web-1", project_id="p1", vm_state="active", task_state=None, host="h1", created_at=NOW),
        build_instance_state("b", name="web-2", project_id="p1", vm_state="stopped", task_state=None, host="h2", created_at=NOW + timedelta(seconds=1)),
        build_instance_state("c", name="db-1", project_id="p2", vm_state="active", task_state=None, host="h1", created_at=NOW + timedelta(seconds=2)),
        build_instance_state("d", name="gone", project_id="p1", vm_state="deleted", task_state=None, created_at=NOW + timedelta(seconds=3),
                             updated_at=NOW + timedelta(hours=1)),
    ]


def ids(rows):
    return [r.instance_id for r in rows]


@pytest.mark.parametrize(
    ("params", "all_tenants", "admin", "expected"),
    [
        pytest.param({}, False, False, ["b", "a"], id="own-project-newest-first"),
        pytest.param({}, True, True, ["c", "b", "a"], id="all-tenants"),
        pytest.param({"name": "^web"}, False, False, ["b", "a"], id="name-regex"),
        pytest.param({"name": "("}, False, False, [], id="bad-regex-is-literal"),
        pytest.param({"status": "shutoff"}, False, False, ["b"], id="status"),
        pytest.param({"host": "h1"}, True, True, ["c", "a"], id="admin-host"),
        pytest.param({"host": "h1"}, False, False, ["b", "a"], id="host-ignored-for-members"),
        pytest.param({"project_id": "p2"}, True, True, ["c"], id="admin-project"),
        pytest.param({"deleted": "true"}, False, True, ["d", "b", "a"], id="admin-deleted"),
        pytest.param({"changes-since": (NOW + timedelta(minutes=1)).isoformat()}, False, False, ["d"], id="changes-since-shows-deleted"),
        pytest.param({"sort_key": "display_name", "sort_dir": "asc"}, True, True, ["c", "a", "b"], id="sorted-by-name"),
    ],
)
def test_server_filters(params, all_tenants, admin, expected) -> None:
    assert ids(select_servers(servers(), params, "p1", all_tenants, admin)) == expected


@pytest.mark.parametrize("params", [{"sort_key": "nonsense"}, {"sort_dir": "up"}, {"changes-since": "yesterday"}])
def test_bad_list_parameters_are_400(params) -> None:
    with pytest.raises(BadRequest):
        select_servers(servers(), params, "p1", False, False)


def test_paging_walks_the_whole_list_with_next_links() -> None:
    items = [str(i) for i in range(7)]
    seen, params = [], {"limit": "3", "name": "x"}
    while True:
        chosen, links = page(items, lambda x: x, params, "http://api/v2.1/servers", "servers")
        seen += chosen
        if not links:
            break
        (link,) = links["servers_links"]
        assert link["rel"] == "next" and "name=x" in link["href"] and "limit=3" in link["href"]
        params = {"limit": "3", "marker": chosen[-1], "name": "x"}
    assert seen == items


def test_a_page_that_is_not_full_has_no_next_link_and_a_bad_marker_is_400() -> None:
    assert page(["a", "b"], lambda x: x, {"limit": "5"}, "u", "servers") == (["a", "b"], {})
    with pytest.raises(BadRequest, match=r"marker \[zz\] not found"):
        page(["a"], lambda x: x, {"marker": "zz"}, "u", "servers")


@pytest.mark.parametrize(("raw", "limit"), [(None, MAX_LIMIT), ("0", 0), ("5", 5), ("99999", MAX_LIMIT)])
def test_limits(raw, limit) -> None:
    assert parse_limit({} if raw is None else {"limit": raw}) == limit


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5"])
def test_bad_limits_are_400(raw) -> None:
    with pytest.raises(BadRequest):
        parse_limit({"limit": raw})


def flavors():
    return [
        build_flavor_state(build_flavor(id="1", name="tiny", ram=512, disk=1)),
        build_flavor_state(build_flavor(id="2", name="small", ram=2048, disk=20)),
        build_flavor_state(build_flavor(id="3", name="private", ram=4096, disk=40, is_public=False)),
        build_flavor_state(build_flavor(id="4", name="old", ram=4096, disk=40), deleted=True),
    ]


@pytest.mark.parametrize(
    ("params", "admin", "expected"),
    [
        pytest.param({}, False, ["1", "2"], id="public-only"),
        pytest.param({"is_public": "None"}, True, ["1", "2", "3"], id="admin-all"),
        pytest.param({"is_public": "false"}, True, ["3"], id="admin-private"),
        pytest.param({"is_public": "None"}, False, ["1", "2"], id="member-none-is-public"),
        pytest.param({"minRam": "1024"}, False, ["2"], id="min-ram"),
        pytest.param({"minDisk": "10", "is_public": "None"}, True, ["2", "3"], id="min-disk"),
        pytest.param({"sort_key": "memory_mb", "sort_dir": "desc"}, False, ["2", "1"], id="sorted"),
    ],
)
def test_flavor_filters(params, admin, expected) -> None:
    assert [r.flavor.id for r in select_flavors(flavors(), params, admin)] == expected


def test_a_private_flavor_is_listed_for_the_projects_it_is_open_to() -> None:
    rows = flavors()
    rows[2] = build_flavor_state(rows[2].flavor, projects=["p1"])
    assert [r.flavor.id for r in select_flavors(rows, {}, False, "p1")] == ["1", "2", "3"]
    assert [r.flavor.id for r in select_flavors(rows, {}, False, "p2")] == ["1", "2"]
