"""Quotas end to end: one writer per project, so 50 concurrent creates against a limit of 10 give exactly 10."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from stack_harness import RunningStack, as_project, assert_log_holds, stack_settings, wait_until
from tempest_schemas import SHAPE_VERSIONS, check, headers, schemas

HOSTS = [("qt1", 64, 262144, 2000), ("qt2", 64, 262144, 2000)]
TINY = {"name": "quota.tiny", "id": "quota-tiny", "vcpus": 1, "ram": 64, "disk": 0}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("quotas"), HOSTS, quota_defaults={})
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def create(client: httpx.Client, name: str, **server: object) -> httpx.Response:
    return client.post("/servers", json={"server": {"name": name, "flavorRef": TINY["id"], "imageRef": "cirros", **server}})


def test_fifty_concurrent_creates_against_a_limit_of_ten_give_exactly_ten(stack: RunningStack) -> None:
    stack.client.ensure_flavor(TINY)
    admin = stack.client.http
    assert admin.put("/os-quota-sets/crowd", json={"quota_set": {"instances": 10}}).status_code == 200
    with as_project(stack, "crowd") as client, ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(lambda i: create(client, f"crowd-{i}"), range(50)))
        codes = sorted(r.status_code for r in answers)
        assert codes.count(202) == 10 and codes.count(403) == 40, codes
        refused = next(r for r in answers if r.status_code == 403).json()
        assert refused == {"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"}}
        listed = client.get("/servers").json()["servers"]
        assert len(listed) == 10
        detail = client.get("/os-quota-sets/crowd/detail").json()["quota_set"]
        assert detail["instances"] == {"limit": 10, "in_use": 10, "reserved": 0}
        assert detail["cores"]["in_use"] == 10 * TINY["vcpus"] and detail["ram"]["in_use"] == 10 * TINY["ram"]

        # Deleting one makes room for exactly one more.
        client.delete(f"/servers/{listed[0]['id']}")
        wait_until(lambda: client.get("/os-quota-sets/crowd/detail").json()["quota_set"]["instances"]["in_use"] == 9, 30, "usage to drop")
        assert create(client, "one-more").status_code == 202
        assert create(client, "one-too-many").status_code == 403
        for server in client.get("/servers").json()["servers"]:
            client.delete(f"/servers/{server['id']}")
        wait_until(lambda: client.get("/os-quota-sets/crowd/detail").json()["quota_set"]["instances"]["in_use"] == 0, 30, "the deletes")
    assert_log_holds(stack)


def test_a_multi_create_gets_what_fits_and_limits_report_usage(stack: RunningStack) -> None:
    stack.client.ensure_flavor(TINY)
    admin = stack.client.http
    assert admin.put("/os-quota-sets/multi", json={"quota_set": {"instances": 4, "cores": -1}}).status_code == 200
    with as_project(stack, "multi") as client:
        resp = create(client, "batch", min_count=2, max_count=6)
        assert resp.status_code == 202, resp.text
        wait_until(lambda: len(client.get("/servers").json()["servers"]) == 4, 30, "the four that fit")
        too_many = create(client, "again", min_count=1)
        assert too_many.status_code == 403
        absolute = client.get("/limits").json()["limits"]["absolute"]
        assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"], absolute["maxTotalCores"]) == (4, 4, -1)
        reservation = create(client, "resv", return_reservation_id=True)
        assert reservation.status_code == 403  # still full
        for server in client.get("/servers").json()["servers"]:
            client.delete(f"/servers/{server['id']}")


def test_quota_sets_need_admin_to_change_and_validate(stack: RunningStack) -> None:
    admin = stack.client.http
    with as_project(stack, "plain") as member:
        assert member.get("/os-quota-sets/plain").status_code == 200
        assert member.put("/os-quota-sets/plain", json={"quota_set": {"instances": 99}}).status_code == 403
        assert member.get("/os-quota-sets/someone-else").status_code == 403
    assert admin.put("/os-quota-sets/plain", json={"quota_set": {"instances": "many"}}).status_code == 400
    assert admin.put("/os-quota-sets/plain", json={"quota_set": {"wings": 2}}).status_code == 400
    assert admin.put("/os-quota-sets/plain", json={"quota_set": {"instances": 3}}).json()["quota_set"]["instances"] == 3
    assert admin.delete("/os-quota-sets/plain").status_code == 202
    assert admin.get("/os-quota-sets/plain").json()["quota_set"]["instances"] == 10


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_quota_and_limit_shapes(stack: RunningStack, version: str) -> None:
    http, h = stack.client.http, headers(version)
    q = schemas("quotas", version)
    check(http.get("/os-quota-sets/shapes", headers=h), q.get_quota_set)
    check(http.get("/os-quota-sets/shapes/detail", headers=h), q.get_quota_set_details)
    check(http.get("/os-quota-sets/shapes/defaults", headers=h), q.get_quota_set)
    check(http.put("/os-quota-sets/shapes", json={"quota_set": {"cores": 30}}, headers=h), q.update_quota_set)
    check(http.delete("/os-quota-sets/shapes", headers=h), q.delete_quota)
    check(http.get("/limits", headers=h), schemas("limits", version).get_limit)


def test_key_pairs_server_groups_and_their_members_have_quotas_too(stack: RunningStack) -> None:
    stack.client.ensure_flavor(TINY)
    admin = stack.client.http
    limits = {"key_pairs": 2, "server_groups": 1, "server_group_members": 2, "instances": -1, "cores": -1, "ram": -1}
    assert admin.put("/os-quota-sets/small", json={"quota_set": limits}).status_code == 200
    with as_project(stack, "small") as client:
        for name in ("k1", "k2"):
            assert client.post("/os-keypairs", json={"keypair": {"name": name}}).status_code == 200
        third = client.post("/os-keypairs", json={"keypair": {"name": "k3"}})
        assert third.status_code == 403 and third.json()["forbidden"]["message"] == "Quota exceeded, too many key pairs."
        group = client.post("/os-server-groups", json={"server_group": {"name": "g", "policies": ["affinity"]}})
        assert group.status_code == 200, group.text
        second = client.post("/os-server-groups", json={"server_group": {"name": "g2", "policies": ["affinity"]}})
        assert second.status_code == 403
        group_id = group.json()["server_group"]["id"]
        hint = {"os:scheduler_hints": {"group": group_id}}
        body = {"server": {"name": "member", "flavorRef": TINY["id"], "imageRef": "cirros", "min_count": 3}, **hint}
        too_many = client.post("/servers", json=body)
        assert too_many.status_code == 403 and too_many.json()["forbidden"]["message"] == "Quota exceeded, too many servers in group"
        detail = client.get("/os-quota-sets/small/detail").json()["quota_set"]
        assert (detail["key_pairs"]["in_use"], detail["server_groups"]["in_use"]) == (2, 1)


def test_concurrent_key_pair_and_server_group_creates_never_pass_their_limits(stack: RunningStack) -> None:
    admin = stack.client.http
    assert admin.put("/os-quota-sets/race", json={"quota_set": {"key_pairs": 5, "server_groups": 3}}).status_code == 200
    racer = httpx.Client(base_url=str(admin.base_url), headers={"X-Auth-Token": "racer:race"}, timeout=60)  # a user of its own
    with racer as client, ThreadPoolExecutor(max_workers=10) as pool:
        keys = list(pool.map(lambda i: client.post("/os-keypairs", json={"keypair": {"name": f"race-{i}"}}).status_code, range(20)))
        groups = list(pool.map(
            lambda i: client.post("/os-server-groups", json={"server_group": {"name": f"g{i}", "policies": ["affinity"]}}).status_code,
            range(12),
        ))
        assert (keys.count(200), keys.count(403)) == (5, 15), keys
        assert (groups.count(200), groups.count(403)) == (3, 9), groups
        listed = client.get("/os-keypairs").json()["keypairs"]
        assert len(listed) == 5
        # A deleted key pair gives its slot back.
        assert client.delete(f"/os-keypairs/{listed[0]['keypair']['name']}").status_code == 202
        wait_until(lambda: client.post("/os-keypairs", json={"keypair": {"name": "again"}}).status_code == 200, 20, "the freed slot")
    assert_log_holds(stack)
