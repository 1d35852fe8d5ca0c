"""Compute routes on the in-memory backend, over HTTP: versions, faults every route shares, flavors, services, hypervisors."""

from __future__ import annotations

import pytest

from memory_api import MEDIUM, SMALL, client, fault, flavor

POLICY = "Policy doesn't allow {} to be performed."


def test_version_documents(memory_api) -> None:
    root = client(memory_api, prefix="")
    assert [v["id"] for v in root.get("/").json()["versions"]] == ["v2.1"]
    moved = root.get("/v2.1")
    assert (moved.status_code, moved.headers["location"]) == (302, "http://testserver/v2.1/")
    current = root.get("/v2.1/")
    assert current.status_code == 200 and current.json()["version"]["id"] == "v2.1"
    assert current.headers["openstack-api-version"] == "compute 2.1"


def test_the_openapi_document_lists_the_routes(memory_api) -> None:
    document = client(memory_api, prefix="").get("/openapi.json")
    assert document.status_code == 200 and "/v2.1/servers" in document.json()["paths"]


@pytest.mark.parametrize(("asked", "status"), [("2.15", 200), ("2.99", 406), ("two", 400)], ids=["in range", "out of range", "malformed"])
def test_microversions_are_echoed_or_refused(memory_api, asked: str, status: int) -> None:
    resp = client(memory_api, version=asked).get("/flavors")
    assert resp.status_code == status, resp.text
    if status == 200:
        assert resp.headers["openstack-api-version"] == f"compute {asked}"


def test_every_response_names_its_request(admin) -> None:
    resp = admin.get("/flavors")
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]


def test_no_token_is_401(memory_api) -> None:
    fault(client(memory_api, token=None).get("/servers"), 401, "The request you have made requires authentication.")


def test_a_body_over_the_limit_is_413(admin) -> None:
    resp = admin.post("/flavors", content=b"{" + b" " * 114688 + b"}", headers={"Content-Type": "application/json"})
    fault(resp, 413, "Request is too large: 114690 bytes, at most 114688.")


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "Malformed request body"),
    (b"[1, 2]", "Invalid input for field/attribute body. Value: [1, 2]. [1, 2] is not of type 'object'"),
], ids=["not json", "not an object"])
def test_a_malformed_body_is_400(admin, body: bytes, message: str) -> None:
    fault(admin.post("/flavors", content=body, headers={"Content-Type": "application/json"}), 400, message)


def test_an_unknown_path_is_404(admin) -> None:
    fault(admin.get("/nothing-here"), 404, "Not Found")


# --- flavors ------------------------------------------------------------------------------


def test_flavor_create_show_list_delete(admin, member) -> None:
    made = flavor(admin)
    assert (made["id"], made["name"], made["vcpus"], made["ram"], made["disk"]) == ("2", "m1.small", 1, 2048, 20)
    assert member.get("/flavors/2").json()["flavor"]["name"] == "m1.small"
    flavor(admin, MEDIUM)
    assert [f["id"] for f in member.get("/flavors").json()["flavors"]] == ["2", "3"]
    detail = member.get("/flavors/detail", params={"minRam": 4096}).json()["flavors"]
    assert [(f["id"], f["ram"]) for f in detail] == [("3", 4096)]
    assert admin.delete("/flavors/3").status_code == 202
    fault(member.get("/flavors/3"), 404, "Flavor 3 could not be found.")
    assert [f["id"] for f in member.get("/flavors").json()["flavors"]] == ["2"]


def test_flavor_create_faults(admin, member) -> None:
    flavor(admin)
    fault(admin.post("/flavors", json={"flavor": SMALL}), 409, "Flavor with ID 2 already exists.")
    fault(admin.post("/flavors", json={"flavor": {**SMALL, "id": "22"}}), 409, "Flavor with name m1.small already exists.")
    fault(member.post("/flavors", json={"flavor": MEDIUM}), 403, POLICY.format("os_compute_api:os-flavor-manage:create"))
    assert admin.post("/flavors", json={"flavor": {"name": "x"}}).status_code == 400
    fault(admin.delete("/flavors/77"), 404, "Flavor 77 could not be found.")


def test_extra_specs(admin, member) -> None:
    flavor(admin)
    made = admin.post("/flavors/2/os-extra_specs", json={"extra_specs": {"hw:x": "1", "scheduler:driver": "chance_scheduler"}})
    assert made.status_code == 200 and made.json() == {"extra_specs": {"hw:x": "1", "scheduler:driver": "chance_scheduler"}}
    assert admin.put("/flavors/2/os-extra_specs/hw:x", json={"hw:x": "2"}).json() == {"hw:x": "2"}
    assert admin.get("/flavors/2/os-extra_specs/hw:x").json() == {"hw:x": "2"}
    assert admin.delete("/flavors/2/os-extra_specs/hw:x").status_code == 200
    assert admin.get("/flavors/2/os-extra_specs").json() == {"extra_specs": {"scheduler:driver": "chance_scheduler"}}
    fault(admin.get("/flavors/2/os-extra_specs/hw:x"), 404, "Flavor 2 has no extra specs with key hw:x.")
    fault(admin.delete("/flavors/2/os-extra_specs/hw:x"), 404, "Flavor 2 has no extra specs with key hw:x.")
    fault(member.post("/flavors/2/os-extra_specs", json={"extra_specs": {"a": "b"}}), 403, POLICY.format("os_compute_api:os-flavor-extra-specs:create"))
    fault(admin.get("/flavors/9/os-extra_specs"), 404, "Flavor 9 could not be found.")


def test_flavor_access(admin, member) -> None:
    flavor(admin)
    flavor(admin, {**MEDIUM, "os-flavor-access:is_public": False})
    assert admin.get("/flavors/3/os-flavor-access").json() == {"flavor_access": []}
    fault(member.get("/flavors/3"), 404, "Flavor 3 could not be found.")  # private, and not open to demo yet
    added = admin.post("/flavors/3/action", json={"addTenantAccess": {"tenant": "demo"}})
    assert added.status_code == 200 and added.json() == {"flavor_access": [{"flavor_id": "3", "tenant_id": "demo"}]}
    assert member.get("/flavors/3").status_code == 200
    fault(admin.post("/flavors/3/action", json={"addTenantAccess": {"tenant": "demo"}}), 409,
          "Flavor access already exists for flavor 3 and project demo combination.")
    assert admin.post("/flavors/3/action", json={"removeTenantAccess": {"tenant": "demo"}}).json() == {"flavor_access": []}
    fault(admin.post("/flavors/3/action", json={"removeTenantAccess": {"tenant": "demo"}}), 404, "Flavor access not found for 3 / demo combination.")
    fault(admin.get("/flavors/2/os-flavor-access"), 404, "Access list not available for public flavors.")
    fault(admin.post("/flavors/2/action", json={"addTenantAccess": {"tenant": "demo"}}), 409, "Can not add access to a public flavor.")
    fault(admin.post("/flavors/3/action", json={"frob": {}}), 400,
          "Invalid input for field/attribute body. Value: {'frob': {}}. Additional properties are not allowed ('frob' was unexpected)")


# --- services and hypervisors -------------------------------------------------------------


def test_services_list_disable_enable(admin, member) -> None:
    services = admin.get("/os-services").json()["services"]
    assert sorted((s["host"], s["binary"], s["state"], s["status"]) for s in services) == [
        (h, "nova-compute", "up", "enabled") for h in ("cn1", "cn2", "cn3")]
    assert [s["host"] for s in admin.get("/os-services", params={"host": "cn2"}).json()["services"]] == ["cn2"]
    body = {"host": "cn1", "binary": "nova-compute", "disabled_reason": "maintenance"}
    resp = admin.put("/os-services/disable-log-reason", json=body)
    assert resp.json() == {"service": {"host": "cn1", "binary": "nova-compute", "status": "disabled", "disabled_reason": "maintenance"}}
    assert admin.put("/os-services/enable", json={"host": "cn1", "binary": "nova-compute"}).json()["service"]["status"] == "enabled"
    fault(admin.put("/os-services/reboot", json={"host": "cn1", "binary": "nova-compute"}), 404, "Unknown action reboot")
    fault(admin.put("/os-services/disable", json={"host": "nosuch", "binary": "nova-compute"}), 404, "Compute host nosuch could not be found.")
    fault(admin.put("/os-services/disable", json={"host": "cn1"}), 400,
          "Invalid input for field/attribute body. Value: {'host': 'cn1'}. 'binary' is a required property")
    fault(member.get("/os-services"), 403, POLICY.format("os_compute_api:os-services:list"))


def test_force_down_from_2_11(memory_api) -> None:
    body = {"host": "cn2", "binary": "nova-compute", "forced_down": True}
    fault(client(memory_api).put("/os-services/force-down", json=body), 404, "Unknown action force-down")
    resp = client(memory_api, version="2.11").put("/os-services/force-down", json=body)
    assert resp.json() == {"service": {"host": "cn2", "binary": "nova-compute", "forced_down": True}}
    services = client(memory_api, version="2.11").get("/os-services").json()["services"]
    assert {s["host"]: s["forced_down"] for s in services} == {"cn1": False, "cn2": True, "cn3": False}


def test_hypervisors(admin, member) -> None:
    listed = admin.get("/os-hypervisors").json()["hypervisors"]
    assert sorted((h["hypervisor_hostname"], h["state"], h["status"]) for h in listed) == [(h, "up", "enabled") for h in ("cn1", "cn2", "cn3")]
    detail = admin.get("/os-hypervisors/detail").json()["hypervisors"]
    assert sorted((h["hypervisor_hostname"], h["vcpus"], h["memory_mb"]) for h in detail) == [(h, 4, 8192) for h in ("cn1", "cn2", "cn3")]
    stats = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["memory_mb"]) == (3, 12, 3 * 8192)
    one = listed[0]
    assert admin.get(f"/os-hypervisors/{one['id']}").json()["hypervisor"]["hypervisor_hostname"] == one["hypervisor_hostname"]
    fault(admin.get("/os-hypervisors/999999"), 404, "Hypervisor with ID 999999 could not be found.")
    fault(member.get("/os-hypervisors"), 403, POLICY.format("os_compute_api:os-hypervisors:list"))
