"""Host aggregates and availability zones end to end: the admin API, the zones, and the scheduler placing by zone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import aggregates as aggregate_schemas
from tempest.lib.api_schema.response.compute.v2_1 import availability_zone as zone_schemas

from stack_harness import SMALL_FLAVOR, RunningStack, stack_settings
from tempest_schemas import check

HOSTS = [("ag1", 8, 16384, 160), ("ag2", 8, 16384, 160)]


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("aggregates"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def test_an_aggregate_with_a_zone_places_servers_asked_for_that_zone(stack: RunningStack) -> None:
    http = stack.client.http
    made = check(http.post("/os-aggregates", json={"aggregate": {"name": "fast", "availability_zone": "az1"}}), aggregate_schemas.create_aggregate)
    agg = made["aggregate"]["id"]
    added = check(http.post(f"/os-aggregates/{agg}/action", json={"add_host": {"host": "ag1"}}), aggregate_schemas.aggregate_add_remove_host)
    assert added["aggregate"]["hosts"] == ["ag1"] and added["aggregate"]["availability_zone"] == "az1"
    tagged = check(http.post(f"/os-aggregates/{agg}/action", json={"set_metadata": {"metadata": {"ssd": "true"}}}), aggregate_schemas.aggregate_set_metadata)
    # As Nova's: a host or metadata lives in a row of its own; the aggregate's updated_at stays as it was (never updated).
    assert added["aggregate"]["updated_at"] is None and tagged["aggregate"]["updated_at"] is None
    listed = check(http.get("/os-aggregates"), aggregate_schemas.list_aggregates)["aggregates"]
    assert [(a["name"], a["metadata"]) for a in listed] == [("fast", {"availability_zone": "az1", "ssd": "true"})]
    check(http.get(f"/os-aggregates/{agg}"), aggregate_schemas.get_aggregate)

    zones = check(http.get("/os-availability-zone"), zone_schemas.list_availability_zone_list)["availabilityZoneInfo"]
    assert sorted(z["zoneName"] for z in zones) == ["az1", "nova"]
    detail = check(http.get("/os-availability-zone/detail"), zone_schemas.list_availability_zone_list_detail)["availabilityZoneInfo"]
    assert {z["zoneName"]: sorted(z["hosts"]) for z in detail} == {"az1": ["ag1"], "nova": ["ag2"]}

    in_az1 = [stack.client.http.post("/servers", json={"server": {"name": f"z1-{i}", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros", "availability_zone": "az1"}}).json()["server"]["id"] for i in range(3)]
    in_nova = [stack.client.http.post("/servers", json={"server": {"name": f"zn-{i}", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros", "availability_zone": "nova"}}).json()["server"]["id"] for i in range(3)]
    settled = stack.client.wait_settled(in_az1 + in_nova, 30)
    assert {settled[s]["OS-EXT-SRV-ATTR:host"] for s in in_az1} == {"ag1"}
    assert {settled[s]["OS-EXT-SRV-ATTR:host"] for s in in_nova} == {"ag2"}
    assert all(settled[s]["OS-EXT-AZ:availability_zone"] == "az1" for s in in_az1)
    unknown = http.post("/servers", json={"server": {"name": "nowhere", "flavorRef": SMALL_FLAVOR["id"], "availability_zone": "az9"}})
    assert unknown.status_code == 400 and unknown.json()["badRequest"]["message"] == "The requested availability zone is not available"
    for sid in in_az1 + in_nova:
        stack.client.delete(sid)


def test_novas_aggregate_refusals(stack: RunningStack) -> None:
    http = stack.client.http
    agg = http.post("/os-aggregates", json={"aggregate": {"name": "slow", "availability_zone": "az2"}}).json()["aggregate"]["id"]
    assert http.post("/os-aggregates", json={"aggregate": {"name": "slow"}}).status_code == 409
    assert http.post(f"/os-aggregates/{agg}/action", json={"remove_host": {"host": "ag2"}}).status_code == 404
    assert http.post(f"/os-aggregates/{agg}/action", json={"add_host": {"host": "nosuch"}}).status_code == 404
    assert http.post(f"/os-aggregates/{agg}/action", json={"add_host": {"host": "ag2"}}).status_code == 200
    assert http.post(f"/os-aggregates/{agg}/action", json={"add_host": {"host": "ag2"}}).status_code == 409
    taken = http.post(f"/os-aggregates/{agg}/action", json={"add_host": {"host": "ag1"}})  # ag1 is in az1 already
    assert taken.status_code == 400 and "already in availability zone" in taken.json()["badRequest"]["message"]
    full = http.delete(f"/os-aggregates/{agg}")
    assert full.status_code == 400 and "not empty" in full.json()["badRequest"]["message"]
    renamed = check(http.put(f"/os-aggregates/{agg}", json={"aggregate": {"name": "slower"}}), aggregate_schemas.update_aggregate)
    assert renamed["aggregate"]["name"] == "slower" and renamed["aggregate"]["updated_at"] is not None
    removed = http.post(f"/os-aggregates/{agg}/action", json={"remove_host": {"host": "ag2"}})
    assert removed.status_code == 200 and removed.json()["aggregate"]["updated_at"] == renamed["aggregate"]["updated_at"]
    check(http.delete(f"/os-aggregates/{agg}"), aggregate_schemas.delete_aggregate)
    assert http.get(f"/os-aggregates/{agg}").status_code == 404
    member = http.get("/os-aggregates", headers={"X-Auth-Token": "alice:demo"})
    assert member.status_code == 403
    assert http.get("/os-availability-zone", headers={"X-Auth-Token": "alice:demo"}).status_code == 200


def test_an_admin_forces_a_host_with_nova_zone_host_form(stack: RunningStack) -> None:
    http = stack.client.http
    body = {"server": {"name": "forced", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros", "availability_zone": ":ag2"}}
    ids = [http.post("/servers", json=body).json()["server"]["id"] for _ in range(2)]
    settled = stack.client.wait_settled(ids, 30)
    assert {settled[s]["OS-EXT-SRV-ATTR:host"] for s in ids} == {"ag2"}
    member = http.post("/servers", json=body, headers={"X-Auth-Token": "alice:demo"})
    assert member.status_code == 403
    nowhere = http.post("/servers", json={"server": {**body["server"], "availability_zone": "nova:nosuch"}})
    assert nowhere.status_code == 400 and nowhere.json()["badRequest"]["message"] == "Compute host nosuch could not be found."
    for sid in ids:
        stack.client.delete(sid)
