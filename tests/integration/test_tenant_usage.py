"""os-simple-tenant-usage end to end: servers booted and deleted in two projects, their hours and totals from the instance table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import tenant_usages as usage_schemas

from novalog.events import topics
from stack_harness import SMALL_FLAVOR, RunningStack, as_project, stack_settings, wait_until
from tempest_schemas import SHAPE_VERSIONS, check, headers

HOSTS = [("us1", 8, 16384, 400), ("us2", 8, 16384, 400)]
WIDE = {"name": "usage.wide", "id": "usage-wide", "vcpus": 2, "ram": 1024, "disk": 10, "OS-FLV-EXT-DATA:ephemeral": 5}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("usage"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def boot(client: httpx.Client, name: str, flavor: str) -> str:
    resp = client.post("/servers", json={"server": {"name": name, "flavorRef": flavor, "imageRef": "cirros"}})
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"]


def nova_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


@pytest.fixture(scope="module")
def history(stack: RunningStack) -> dict[str, Any]:
    """alpha: one m1.small and one usage.wide (deleted); beta: one m1.small. The rows the instance table ends with."""
    stack.client.ensure_flavor(WIDE)
    started = datetime.now(UTC) - timedelta(seconds=1)
    with as_project(stack, "alpha") as alpha, as_project(stack, "beta") as beta:
        ids = {"small": boot(alpha, "alpha-small", SMALL_FLAVOR["id"]), "wide": boot(alpha, "alpha-wide", WIDE["id"]),
               "beta": boot(beta, "beta-small", SMALL_FLAVOR["id"])}
        assert {s["status"] for s in stack.client.wait_settled(list(ids.values()), 60).values()} == {"ACTIVE"}
        assert alpha.delete(f"/servers/{ids['wide']}").status_code == 204

    def rows() -> dict[str, Any] | None:
        latest = {r.instance_id: r for _, r in stack.records(topics.STATE_INSTANCES) if r is not None}
        found = {name: latest.get(iid) for name, iid in ids.items()}
        return found if found["wide"] is not None and found["wide"].terminated_at is not None else None

    table = wait_until(rows, 30, "the deleted server's terminated_at in the instance table")
    return {"ids": ids, "rows": table, "started": started}


def hours(row: Any, start: datetime, stop: datetime) -> float:
    return ((min(row.terminated_at or stop, stop) - max(row.launched_at, start)).total_seconds()) / 3600


def test_figures_are_each_servers_hours_in_the_period_times_its_flavor(stack: RunningStack, history: dict[str, Any]) -> None:
    rows = history["rows"]
    start, stop = history["started"], datetime.now(UTC)
    query = f"?start={nova_time(start)}&end={nova_time(stop)}&detailed=1"
    body = check(stack.client.http.get(f"/os-simple-tenant-usage{query}"), usage_schemas.list_tenant_usage)
    by_project = {u["tenant_id"]: u for u in body["tenant_usages"]}
    assert {"alpha", "beta"} <= set(by_project)

    alpha = by_project["alpha"]
    small, wide = hours(rows["small"], start, stop), hours(rows["wide"], start, stop)
    assert (alpha["start"], alpha["stop"]) == (nova_time(start), nova_time(stop))
    assert alpha["total_hours"] == pytest.approx(small + wide)
    assert alpha["total_vcpus_usage"] == pytest.approx(1 * small + 2 * wide)
    assert alpha["total_memory_mb_usage"] == pytest.approx(2048 * small + 1024 * wide)
    assert alpha["total_local_gb_usage"] == pytest.approx(20 * small + (10 + 5) * wide)

    servers = {s["instance_id"]: s for s in alpha["server_usages"]}
    wide_usage = servers[history["ids"]["wide"]]
    assert {k: wide_usage[k] for k in ("name", "flavor", "vcpus", "memory_mb", "local_gb", "state", "tenant_id")} == {
        "name": "alpha-wide", "flavor": "usage.wide", "vcpus": 2, "memory_mb": 1024, "local_gb": 15, "state": "terminated", "tenant_id": "alpha"}
    assert (wide_usage["started_at"], wide_usage["ended_at"]) == (nova_time(rows["wide"].launched_at), nova_time(rows["wide"].terminated_at))
    assert wide_usage["uptime"] == int((rows["wide"].terminated_at - rows["wide"].launched_at).total_seconds())
    small_usage = servers[history["ids"]["small"]]
    assert (small_usage["state"], small_usage["ended_at"]) == ("active", None)
    assert small_usage["hours"] == pytest.approx(small)
    assert [s["instance_id"] for s in by_project["beta"]["server_usages"]] == [history["ids"]["beta"]]

    # Without detailed=1 the list has the totals only.
    plain = check(stack.client.http.get(f"/os-simple-tenant-usage?start={nova_time(start)}&end={nova_time(stop)}"),
                  usage_schemas.list_tenant_usage)
    assert all("server_usages" not in u for u in plain["tenant_usages"])
    assert {u["tenant_id"]: u["total_hours"] for u in plain["tenant_usages"]}["alpha"] == alpha["total_hours"]


def test_a_deleted_server_stops_counting_and_a_period_after_it_leaves_it_out(stack: RunningStack, history: dict[str, Any]) -> None:
    rows = history["rows"]
    after = rows["wide"].terminated_at + timedelta(milliseconds=1)
    with as_project(stack, "alpha") as alpha:
        body = check(alpha.get(f"/os-simple-tenant-usage/alpha?start={nova_time(after)}"), usage_schemas.get_tenant_usage)
    usage = body["tenant_usage"]
    assert [s["instance_id"] for s in usage["server_usages"]] == [history["ids"]["small"]]
    assert usage["total_vcpus_usage"] == pytest.approx(usage["total_hours"])  # one vCPU


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_both_answers_have_tempests_shape_at_every_version(stack: RunningStack, history: dict[str, Any], version: str) -> None:
    http = stack.client.http
    since = nova_time(history["started"])
    check(http.get(f"/os-simple-tenant-usage?start={since}&detailed=1", headers=headers(version)), usage_schemas.list_tenant_usage)
    check(http.get(f"/os-simple-tenant-usage/beta?start={since}", headers=headers(version)), usage_schemas.get_tenant_usage)


def test_a_project_with_no_servers_in_the_period_is_an_empty_object(stack: RunningStack, history: dict[str, Any]) -> None:
    resp = stack.client.http.get("/os-simple-tenant-usage/nobody?start=2000-01-01T00:00:00")
    assert resp.status_code == 200 and resp.json() == {"tenant_usage": {}}


def test_policy_all_projects_for_admins_a_projects_own_for_its_readers(stack: RunningStack, history: dict[str, Any]) -> None:
    with as_project(stack, "alpha") as alpha:
        refused = alpha.get("/os-simple-tenant-usage")
        assert refused.status_code == 403 and refused.json()["forbidden"]["message"] == (
            "Policy doesn't allow os_compute_api:os-simple-tenant-usage:list to be performed.")
        assert alpha.get("/os-simple-tenant-usage/beta").status_code == 403
        assert alpha.get("/os-simple-tenant-usage/alpha").status_code == 200


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=yesterday", "Invalid datetime string: Datetime is in invalid format"),
        ("end=2025-05-01T10:00:00Z", "Invalid datetime string: Datetime is in invalid format"),
        ("start=2025-05-02T00:00:00&end=2025-05-01T00:00:00", "Invalid start time. The start time cannot occur after the end time."),
    ],
    ids=["words", "zoned", "start-after-end"],
)
def test_a_bad_period_is_400_with_novas_message(stack: RunningStack, query: str, message: str) -> None:
    for path in ("/os-simple-tenant-usage", "/os-simple-tenant-usage/alpha"):
        resp = stack.client.http.get(f"{path}?{query}")
        assert resp.status_code == 400 and resp.json() == {"badRequest": {"code": 400, "message": message}}
