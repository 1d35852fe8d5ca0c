"""Every response of the implemented subset validates against tempest's compute schemas, at each microversion served."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import flavors_extra_specs, images, servers
from tempest.lib.api_schema.response.compute.v2_1 import services as services_v21
from tempest.lib.api_schema.response.compute.v2_11 import services as services_v211

from novalog.api.microversion import MAX
from stack_harness import SMALL_FLAVOR, RunningStack, stack_settings, wait_until
from tempest_schemas import SHAPE_VERSIONS, VERSIONS, check, headers, schemas

HOSTS = [("sc1", 4, 8192, 80), ("sc2", 4, 8192, 80)]
BIG = {"name": "schema.big", "id": "schema-big", "vcpus": 2, "ram": 4096, "disk": 40}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("schemas"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def http(stack: RunningStack) -> httpx.Client:
    return stack.client.http


def root(stack: RunningStack) -> str:
    return str(stack.client.http.base_url).removesuffix("/").removesuffix("/v2.1")


def test_version_documents(stack: RunningStack) -> None:
    listed = check(httpx.get(f"{root(stack)}/"), VERSIONS.list_versions)
    one = check(httpx.get(f"{root(stack)}/v2.1/"), VERSIONS.get_one_version)
    assert listed["versions"][0]["version"] == one["version"]["version"] == str(MAX)


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_flavors(http: httpx.Client, version: str) -> None:
    h = headers(version)
    s = schemas("flavors", version)
    flavor_id = f"schema-{version}"
    body = {"flavor": {"name": f"schema.{version}", "id": flavor_id, "vcpus": 1, "ram": 256, "disk": 1}}
    check(http.post("/flavors", json=body, headers=h), s.create_update_get_flavor_details)
    check(http.get("/flavors", headers=h), s.list_flavors)
    check(http.get("/flavors/detail", headers=h), s.list_flavors_details)
    check(http.get(f"/flavors/{flavor_id}", headers=h), s.create_update_get_flavor_details)
    specs = f"/flavors/{flavor_id}/os-extra_specs"
    check(http.post(specs, json={"extra_specs": {"hw:a": "1"}}, headers=h), flavors_extra_specs.set_get_flavor_extra_specs)
    check(http.get(specs, headers=h), flavors_extra_specs.set_get_flavor_extra_specs)
    check(http.get(f"{specs}/hw:a", headers=h), flavors_extra_specs.set_get_flavor_extra_specs_key)
    check(http.put(f"{specs}/hw:a", json={"hw:a": "2"}, headers=h), flavors_extra_specs.set_get_flavor_extra_specs_key)
    check(http.delete(f"{specs}/hw:a", headers=h), flavors_extra_specs.unset_flavor_extra_specs)
    check(http.delete(f"/flavors/{flavor_id}", headers=h), s.delete_flavor)


def settled(stack: RunningStack, server_id: str, status: str) -> None:
    wait_until(
        lambda: (s := stack.client.show(server_id)) and s["status"] == status and s["OS-EXT-STS:task_state"] is None,
        30,
        f"{server_id} to be {status}",
    )


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_rebuild_create_image_rescue_and_unrescue(stack: RunningStack, http: httpx.Client, version: str) -> None:
    h = headers(version)
    s = schemas("servers", version)
    server_id = stack.client.boot(f"guest-{version}", SMALL_FLAVOR["id"])
    settled(stack, server_id, "ACTIVE")
    check(http.post(f"/servers/{server_id}/action", json={"rebuild": {"imageRef": "cirros-2"}}, headers=h), s.rebuild_server_with_admin_pass)
    settled(stack, server_id, "ACTIVE")
    check(http.post(f"/servers/{server_id}/action", json={"createImage": {"name": f"snap-{version}"}}, headers=h), images.create_image)
    settled(stack, server_id, "ACTIVE")
    check(http.post(f"/servers/{server_id}/action", json={"rescue": None}, headers=h), servers.rescue_server_with_admin_pass)
    settled(stack, server_id, "RESCUE")
    check(http.post(f"/servers/{server_id}/action", json={"unrescue": None}, headers=h), servers.server_actions_common_schema)
    settled(stack, server_id, "ACTIVE")
    stack.client.delete(server_id)


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_servers_and_their_actions(stack: RunningStack, http: httpx.Client, version: str) -> None:
    h = headers(version)
    s = schemas("servers", version)
    stack.client.ensure_flavor(BIG)
    created = check(
        http.post("/servers", json={"server": {"name": f"schema-{version}", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros"}}, headers=h),
        servers.create_server_with_admin_pass,
    )
    server_id = created["server"]["id"]
    check(http.get("/servers", headers=h), s.list_servers)
    check(http.get("/servers/detail", headers=h), s.list_servers_detail)
    check(http.get(f"/servers/{server_id}", headers=h), s.get_server)  # BUILD
    settled(stack, server_id, "ACTIVE")
    check(http.get(f"/servers/{server_id}", headers=h), s.get_server)  # ACTIVE, placed
    member = {**h, "X-Auth-Token": "someone:else"}
    check(http.get("/servers/detail", headers=member), s.list_servers_detail)  # a member's shape (no admin attributes)

    for action, status in (({"os-stop": None}, "SHUTOFF"), ({"os-start": None}, "ACTIVE"), ({"reboot": {"type": "HARD"}}, "ACTIVE")):
        check(http.post(f"/servers/{server_id}/action", json=action, headers=h), servers.server_actions_common_schema)
        settled(stack, server_id, status)
    check(http.post(f"/servers/{server_id}/action", json={"resize": {"flavorRef": BIG["id"]}}, headers=h), servers.server_actions_common_schema)
    settled(stack, server_id, "VERIFY_RESIZE")
    check(http.get(f"/servers/{server_id}", headers=h), s.get_server)
    check(http.post(f"/servers/{server_id}/action", json={"confirmResize": None}, headers=h), servers.server_actions_confirm_resize)
    settled(stack, server_id, "ACTIVE")
    actions = check(http.get(f"/servers/{server_id}/os-instance-actions", headers=h), servers.list_instance_actions)["instanceActions"]
    assert [a["action"] for a in actions] == ["confirmResize", "resize", "reboot", "start", "stop", "create"]
    shown = check(http.get(f"/servers/{server_id}/os-instance-actions/{actions[-1]['request_id']}", headers=h), servers.show_instance_action)
    assert [e["result"] for e in shown["instanceAction"]["events"]] == ["Success"]
    assert http.get(f"/servers/{server_id}/os-instance-actions/req-nope", headers=h).status_code == 404

    failed = check(
        http.post("/servers", json={"server": {"name": "too-big", "flavorRef": BIG["id"], "min_count": 9}}, headers=h),
        servers.create_server_with_admin_pass,
    )
    wait_until(lambda: (x := stack.client.show(failed["server"]["id"])) and x["status"] == "ERROR", 30, "the build to fail")
    check(http.get(f"/servers/{failed['server']['id']}", headers=h), s.get_server)  # ERROR, with a fault

    for sid in (server_id, failed["server"]["id"]):
        check(http.delete(f"/servers/{sid}", headers=h), servers.delete_server)


@pytest.mark.parametrize("version", ["2.1", "2.9", str(MAX)])
def test_server_metadata_lock_and_console(stack: RunningStack, http: httpx.Client, version: str) -> None:
    h = headers(version)
    made = http.post("/servers", json={"server": {"name": f"extras-{version}", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros",
                                                  "metadata": {"role": "web"}}}, headers=h)
    server_id = check(made, servers.create_server_with_admin_pass)["server"]["id"]
    settled(stack, server_id, "ACTIVE")
    meta = f"/servers/{server_id}/metadata"
    assert check(http.get(meta, headers=h), servers.list_server_metadata)["metadata"] == {"role": "web"}
    check(http.post(meta, json={"metadata": {"tier": "gold"}}, headers=h), servers.update_server_metadata)
    check(http.put(meta, json={"metadata": {"tier": "gold", "zone": "a"}}, headers=h), servers.set_server_metadata)
    check(http.put(f"{meta}/zone", json={"meta": {"zone": "b"}}, headers=h), servers.set_show_server_metadata_item)
    assert check(http.get(f"{meta}/zone", headers=h), servers.set_show_server_metadata_item) == {"meta": {"zone": "b"}}
    check(http.delete(f"{meta}/zone", headers=h), servers.delete_server_metadata_item)
    console = check(http.post(f"/servers/{server_id}/action", json={"os-getConsoleOutput": {"length": 1}}, headers=h), servers.get_console_output)
    assert console == {"output": "LAST LINE"}
    check(http.post(f"/servers/{server_id}/action", json={"lock": None}, headers=h), servers.server_actions_common_schema)
    shown = check(http.get(f"/servers/{server_id}", headers=h), schemas("servers", version).get_server)["server"]
    assert shown.get("locked") is (True if version != "2.1" else None)
    check(http.post(f"/servers/{server_id}/action", json={"unlock": None}, headers=h), servers.server_actions_common_schema)
    check(http.delete(f"/servers/{server_id}", headers=h), servers.delete_server)


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_hypervisors_and_services(http: httpx.Client, version: str) -> None:
    h = headers(version)
    hyp = schemas("hypervisors", version)
    svc = schemas("services", version)
    listed = check(http.get("/os-hypervisors", headers=h), hyp.list_search_hypervisors)
    check(http.get("/os-hypervisors/detail", headers=h), hyp.list_hypervisors_detail)
    check(http.get(f"/os-hypervisors/{listed['hypervisors'][0]['id']}", headers=h), hyp.get_hypervisor)
    check(http.get("/os-hypervisors/statistics", headers=h), hyp.get_hypervisor_statistics)
    services = check(http.get("/os-services", headers=h), svc.list_services)
    assert ("forced_down" in services["services"][0]) == (tuple(map(int, version.split("."))) >= (2, 11))

    target = {"host": "sc2", "binary": "nova-compute"}
    check(http.put("/os-services/disable", json=target, headers=h), services_v21.enable_disable_service)
    check(http.put("/os-services/disable-log-reason", json={**target, "disabled_reason": "test"}, headers=h), services_v21.disable_log_reason)
    check(http.put("/os-services/enable", json=target, headers=h), services_v21.enable_disable_service)
    force = http.put("/os-services/force-down", json={**target, "forced_down": True}, headers=h)
    if tuple(map(int, version.split("."))) < (2, 11):
        assert force.status_code == 404
        return
    assert check(force, services_v211.update_forced_down)["service"]["forced_down"] is True
    down = {x["host"]: x for x in http.get("/os-services", headers=h).json()["services"]}["sc2"]
    assert (down["forced_down"], down["state"]) == (True, "down")
    check(http.put("/os-services/force-down", json={**target, "forced_down": False}, headers=h), services_v211.update_forced_down)


def test_microversion_headers_and_refusals(http: httpx.Client) -> None:
    served = http.get("/flavors", headers={"OpenStack-API-Version": "compute 2.9"})
    assert served.headers["OpenStack-API-Version"] == "compute 2.9" and served.headers["X-OpenStack-Nova-API-Version"] == "2.9"
    latest = http.get("/flavors", headers={"X-OpenStack-Nova-API-Version": "latest"})
    assert latest.headers["X-OpenStack-Nova-API-Version"] == str(MAX)
    too_new = http.get("/flavors", headers={"OpenStack-API-Version": "compute 2.200"})
    assert too_new.status_code == 406 and too_new.json()["computeFault"]["message"] == (
        f"Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is {MAX}."
    )
    assert http.get("/flavors", headers={"X-OpenStack-Nova-API-Version": "x.y"}).status_code == 400


def test_flavor_access(stack: RunningStack, http: httpx.Client) -> None:
    from tempest.lib.api_schema.response.compute.v2_1 import flavors_access

    private = {"flavor": {"name": "private.one", "id": "private-1", "vcpus": 1, "ram": 256, "disk": 1, "os-flavor-access:is_public": False}}
    assert http.post("/flavors", json=private).status_code == 200
    member = {"X-Auth-Token": "carol:blue"}
    assert http.get("/flavors/private-1", headers=member).status_code == 404
    assert "private-1" not in {f["id"] for f in http.get("/flavors", headers=member).json()["flavors"]}
    refused = http.post("/servers", headers=member, json={"server": {"name": "p", "flavorRef": "private-1", "imageRef": "cirros"}})
    assert refused.status_code == 400

    added = check(http.post("/flavors/private-1/action", json={"addTenantAccess": {"tenant": "blue"}}), flavors_access.add_remove_list_flavor_access)
    assert added["flavor_access"] == [{"flavor_id": "private-1", "tenant_id": "blue"}]
    assert http.post("/flavors/private-1/action", json={"addTenantAccess": {"tenant": "blue"}}).status_code == 409
    check(http.get("/flavors/private-1/os-flavor-access"), flavors_access.add_remove_list_flavor_access)
    assert http.get("/flavors/private-1", headers=member).status_code == 200
    assert "private-1" in {f["id"] for f in http.get("/flavors", headers=member).json()["flavors"]}
    assert http.post("/flavors/private-1/action", json={"addTenantAccess": {"tenant": "x"}}, headers=member).status_code == 403
    assert http.get(f"/flavors/{SMALL_FLAVOR['id']}/os-flavor-access").status_code == 404  # public

    removed = check(http.post("/flavors/private-1/action", json={"removeTenantAccess": {"tenant": "blue"}}), flavors_access.add_remove_list_flavor_access)
    assert removed["flavor_access"] == []
    assert http.get("/flavors/private-1", headers=member).status_code == 404
    assert http.post("/flavors/private-1/action", json={"removeTenantAccess": {"tenant": "blue"}}).status_code == 404
