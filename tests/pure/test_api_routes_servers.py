"""Server routes on the in-memory backend, over HTTP: create, list, show, actions, moves, delete, instance actions, usage."""

from __future__ import annotations

import pytest

from memory_api import MEDIUM, boot, booted, fault, flavor

POLICY = "Policy doesn't allow {} to be performed."


@pytest.fixture
def flavors(admin) -> None:
    flavor(admin)
    flavor(admin, MEDIUM)


def server(http, server_id: str) -> dict:
    resp = http.get(f"/servers/{server_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]


def test_a_server_boots_to_active_on_a_host(admin, member, flavors) -> None:
    resp = boot(member, "web")
    assert resp.status_code == 202, resp.text
    made = resp.json()["server"]
    assert resp.headers["location"] == f"http://testserver/v2.1/servers/{made['id']}"
    assert (made["OS-DCF:diskConfig"], made["security_groups"], len(made["adminPass"])) == ("MANUAL", [{"name": "default"}], 12)
    shown = server(member, made["id"])
    assert (shown["name"], shown["status"], shown["tenant_id"], shown["flavor"]["id"]) == ("web", "ACTIVE", "demo", "2")
    assert server(admin, made["id"])["OS-EXT-SRV-ATTR:host"] in ("cn1", "cn2", "cn3")


def test_lists_show_the_callers_servers(admin, member, flavors) -> None:
    mine = booted(member, "mine")
    theirs = booted(admin, "theirs")
    assert [s["id"] for s in member.get("/servers").json()["servers"]] == [mine]
    detail = member.get("/servers/detail").json()["servers"]
    assert [(s["id"], s["status"]) for s in detail] == [(mine, "ACTIVE")]
    everyone = admin.get("/servers/detail", params={"all_tenants": "1"}).json()["servers"]
    assert sorted(s["id"] for s in everyone) == sorted([mine, theirs])
    fault(member.get(f"/servers/{theirs}"), 404, f"Instance {theirs} could not be found.")
    fault(member.get("/servers", params={"all_tenants": "1"}), 403, POLICY.format("os_compute_api:servers:index:get_all_tenants"))


def test_a_multi_create_returns_its_reservation(member, flavors) -> None:
    resp = boot(member, "many", min_count=2, max_count=3, return_reservation_id=True)
    assert resp.status_code == 202 and resp.json()["reservation_id"].startswith("r-")
    assert len(member.get("/servers").json()["servers"]) == 3


@pytest.mark.parametrize(("body", "message"), [
    ({"servr": {}}, "Invalid input for field/attribute body. Value: {'servr': {}}. 'server' is a required property"),
    ({"server": {"name": "", "flavorRef": "2"}}, "Invalid input for field/attribute name. Value: . '' is too short"),
    ({"server": {"name": "x", "flavorRef": "99"}}, "Flavor 99 could not be found."),
    ({"server": {"name": "x", "flavorRef": "2", "wings": 2}}, 
     "Invalid input for field/attribute server. Value: {'name': 'x', 'flavorRef': '2', 'wings': 2}. Additional properties are not allowed ('wings' was unexpected)"),
    ({"server": {"name": "x", "flavorRef": "2", "availability_zone": "moon"}}, "The requested availability zone is not available"),
    ({"server": {"name": "x", "flavorRef": "2", "key_name": "nope"}}, "Invalid key_name provided."),
    ({"server": {"name": "x", "flavorRef": "2", "min_count": 3, "max_count": 2}}, "min_count must be <= max_count"),
    ({"server": {"name": "x", "flavorRef": "2"}, "os:scheduler_hints": {"group": "6f1f4e4e-0000-4000-8000-000000000000"}}, "Invalid server group"),
], ids=["no server", "empty name", "unknown flavor", "unknown key", "unknown zone", "unknown key pair", "min over max", "unknown group"])
def test_server_create_400s(member, flavors, body: dict, message: str) -> None:
    fault(member.post("/servers", json=body), 400, message)


def test_the_quota_writer_refuses_past_the_limit(admin, member, flavors) -> None:
    assert admin.put("/os-quota-sets/demo", json={"quota_set": {"instances": 1}}).status_code == 200
    booted(member, "one")
    fault(boot(member, "two"), 403, "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")


def test_power_actions_and_their_conflicts(member, flavors) -> None:
    server_id = booted(member)
    assert member.post(f"/servers/{server_id}/action", json={"os-stop": None}).status_code == 202
    assert server(member, server_id)["status"] == "SHUTOFF"
    fault(member.post(f"/servers/{server_id}/action", json={"os-stop": None}), 409,
          f"Cannot 'os-stop' instance {server_id} while it is in vm_state stopped")
    assert member.post(f"/servers/{server_id}/action", json={"os-start": None}).status_code == 202
    assert member.post(f"/servers/{server_id}/action", json={"reboot": {"type": "HARD"}}).status_code == 202
    assert server(member, server_id)["status"] == "ACTIVE"
    assert member.post(f"/servers/{server_id}/action", json={"frob": None}).status_code == 400
    fault(member.post("/servers/nope/action", json={"os-stop": None}), 404, "Instance nope could not be found.")


def test_a_resize_and_its_confirmation(member, flavors) -> None:
    server_id = booted(member)
    fault(member.post(f"/servers/{server_id}/action", json={"resize": {"flavorRef": "2"}}), 400, "When resizing, instances must change flavor!")
    fault(member.post(f"/servers/{server_id}/action", json={"confirmResize": None}), 409,
          f"Cannot 'confirmResize' instance {server_id} while it is in vm_state active")
    assert member.post(f"/servers/{server_id}/action", json={"resize": {"flavorRef": "3"}}).status_code == 202
    assert server(member, server_id)["status"] == "VERIFY_RESIZE"
    assert member.post(f"/servers/{server_id}/action", json={"confirmResize": None}).status_code == 204
    shown = server(member, server_id)
    assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", "3")


def test_delete(member, flavors) -> None:
    server_id = booted(member)
    assert member.delete(f"/servers/{server_id}").status_code == 204
    fault(member.get(f"/servers/{server_id}"), 404, f"Instance {server_id} could not be found.")
    fault(member.delete(f"/servers/{server_id}"), 404, f"Instance {server_id} could not be found.")


def test_instance_actions(admin, member, flavors) -> None:
    server_id = booted(member)
    member.post(f"/servers/{server_id}/action", json={"os-stop": None})
    actions = member.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions] == ["stop", "create"]
    request_id = actions[0]["request_id"]
    shown = admin.get(f"/servers/{server_id}/os-instance-actions/{request_id}").json()["instanceAction"]
    assert (shown["action"], shown["instance_uuid"], shown["request_id"]) == ("stop", server_id, request_id)
    assert "events" in shown  # an admin sees the events
    fault(member.get(f"/servers/{server_id}/os-instance-actions/req-none"), 404, f"Action for request_id req-none on instance {server_id} not found")


def test_tenant_usage(admin, member, flavors) -> None:
    booted(member)
    usages = admin.get("/os-simple-tenant-usage", params={"start": "2000-01-01T00:00:00"}).json()["tenant_usages"]
    assert [u["tenant_id"] for u in usages] == ["demo"]
    mine = member.get("/os-simple-tenant-usage/demo", params={"start": "2000-01-01T00:00:00"}).json()["tenant_usage"]
    assert (mine["tenant_id"], len(mine["server_usages"])) == ("demo", 1)
    assert member.get("/os-simple-tenant-usage/other").status_code == 403
    fault(member.get("/os-simple-tenant-usage/demo", params={"start": "yesterday"}), 400, "Invalid datetime string: Datetime is in invalid format")
    fault(member.get("/os-simple-tenant-usage"), 403, POLICY.format("os_compute_api:os-simple-tenant-usage:list"))


# --- quotas and limits ------------------------------------------------------------------


def test_quota_sets(admin, member) -> None:
    assert member.get("/os-quota-sets/demo").json()["quota_set"]["instances"] == 10
    assert member.get("/os-quota-sets/demo/defaults").json()["quota_set"]["cores"] == 20
    updated = admin.put("/os-quota-sets/demo", json={"quota_set": {"instances": 5}})
    assert updated.status_code == 200 and updated.json()["quota_set"]["instances"] == 5
    assert member.get("/os-quota-sets/demo/detail").json()["quota_set"]["instances"] == {"limit": 5, "in_use": 0, "reserved": 0}
    assert admin.delete("/os-quota-sets/demo").status_code == 202
    assert member.get("/os-quota-sets/demo").json()["quota_set"]["instances"] == 10


def test_quota_set_faults(admin, member) -> None:
    fault(admin.put("/os-quota-sets/demo", json={"quota_set": {"instances": "many"}}), 400, "Invalid input for field/attribute instances. Value: many. 'many' is not of type 'integer'")
    fault(admin.put("/os-quota-sets/demo", json={"quota_set": {"wings": 2}}), 400,
          "Invalid input for field/attribute quota_set. Value: {'wings': 2}. Additional properties are not allowed ('wings' was unexpected)")
    fault(member.put("/os-quota-sets/demo", json={"quota_set": {"instances": 99}}), 403, POLICY.format("os_compute_api:os-quota-sets:update"))
    fault(member.get("/os-quota-sets/someone-else"), 403, POLICY.format("os_compute_api:os-quota-sets:show"))


def test_limits(admin, member, flavors) -> None:
    booted(member)
    absolute = member.get("/limits").json()["limits"]["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"], absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (10, 1, 1, 2048)
    assert admin.get("/limits", params={"tenant_id": "demo"}).json()["limits"]["absolute"]["totalInstancesUsed"] == 1
    fault(member.get("/limits", params={"tenant_id": "other"}), 403, POLICY.format("os_compute_api:os-used-limits"))
