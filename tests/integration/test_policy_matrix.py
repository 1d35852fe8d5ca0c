"""Policy and project isolation with real Keystone tokens and the real stack: every role, on a sample of endpoints, on its own project's servers and another's.

The full matrix (every route and every server action, with Nova's exact
statuses) runs on the in-memory backend: tests/pure/test_policy_matrix.py.
This one checks that the real stack (Kafka, the read caches, the token
service) gives the same decisions on a sample of each kind.

Nova's defaults: readers read, members also change their project's servers,
admins do everything (host, flavor and move operations only they). Another
project's server does not exist for a non-admin (404), whatever the role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from identity_harness import Identity, keystone_stack, novalog, ok
from stack_harness import SMALL_FLAVOR, wait_until

HOSTS = [("pm1", 8, 16384, 160)]
ROLES = ("admin", "member", "reader")
PASSWORD = "matrix-secret-1"


@dataclass
class World:
    identity: Identity
    tokens: dict[str, str]  # role -> a token of a user with that role on project "blue" (admin: on "admin")
    servers: dict[str, str]  # "blue" / "green" -> a server of that project


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with keystone_stack(kafka_bootstrap, tmp_path_factory.mktemp("matrix"), HOSTS) as identity:
        settings = identity.settings
        for project in ("blue", "green"):
            ok(novalog(settings, "project", "create", project))
        for name, project, role in (("blue-member", "blue", "member"), ("blue-reader", "blue", "reader"), ("green-member", "green", "member")):
            ok(novalog(settings, "user", "create", name, "--password", PASSWORD, "--project", project, "--role", role))
        tokens = {
            "admin": identity.token("admin", "admin-secret-1", "admin"),
            "member": identity.token("blue-member", PASSWORD, "blue"),
            "reader": identity.token("blue-reader", PASSWORD, "blue"),
        }
        servers = {}
        for project, token in (("blue", tokens["member"]), ("green", identity.token("green-member", PASSWORD, "green"))):
            resp = httpx.post(
                f"{identity.url}/v2.1/servers", headers={"X-Auth-Token": token}, timeout=30,
                json={"server": {"name": f"{project}-vm", "flavorRef": SMALL_FLAVOR["id"], "imageRef": identity.image_id,
                                 "metadata": {"matrix": "0"}}},
            )
            assert resp.status_code == 202, resp.text
            servers[project] = resp.json()["server"]["id"]
        admin = identity.running.client
        admin.wait_settled(list(servers.values()), 30)
        yield World(identity, tokens, servers)


# (name, method, path template, body, the roles allowed on their own project's resource)
# {server} is the target server; admin-only operations are allowed to admin wherever the resource is.
ENDPOINTS = [
    ("list servers", "GET", "/servers", None, {"admin", "member", "reader"}),
    ("list all tenants", "GET", "/servers/detail?all_tenants=1", None, {"admin"}),
    ("show server", "GET", "/servers/{server}", None, {"admin", "member", "reader"}),
    ("reboot server", "POST", "/servers/{server}/action", {"reboot": {"type": "HARD"}}, {"admin", "member"}),
    ("stop server", "POST", "/servers/{server}/action", {"os-stop": None}, {"admin", "member"}),
    ("pause server", "POST", "/servers/{server}/action", {"pause": None}, {"admin", "member"}),
    ("update server", "PUT", "/servers/{server}", {"server": {"name": "renamed"}}, {"admin", "member"}),
    ("resize server", "POST", "/servers/{server}/action", {"resize": {"flavorRef": "no-such-flavor"}}, {"admin", "member"}),
    ("migrate server", "POST", "/servers/{server}/action", {"migrate": None}, {"admin"}),
    ("live-migrate server", "POST", "/servers/{server}/action", {"os-migrateLive": {"host": None, "block_migration": "x"}}, {"admin"}),
    ("evacuate server", "POST", "/servers/{server}/action", {"evacuate": {}}, {"admin"}),
    # Bodies that stop past the policy (400, or 409 for unrescue of an active server): the server stays as it is.
    ("rebuild server", "POST", "/servers/{server}/action", {"rebuild": {}}, {"admin", "member"}),
    ("create server image", "POST", "/servers/{server}/action", {"createImage": {}}, {"admin", "member"}),
    ("rescue server", "POST", "/servers/{server}/action", {"rescue": {"no-such-key": 1}}, {"admin", "member"}),
    ("unrescue server", "POST", "/servers/{server}/action", {"unrescue": None}, {"admin", "member"}),
    # In this order (each role runs the rows in turn): the item the show reads (made with the server) is there until the delete.
    ("list server metadata", "GET", "/servers/{server}/metadata", None, {"admin", "member", "reader"}),
    ("merge server metadata", "POST", "/servers/{server}/metadata", {"metadata": {"matrix": "1"}}, {"admin", "member"}),
    ("show server metadata item", "GET", "/servers/{server}/metadata/matrix", None, {"admin", "member", "reader"}),
    ("set server metadata item", "PUT", "/servers/{server}/metadata/matrix", {"meta": {"matrix": "2"}}, {"admin", "member"}),
    ("replace server metadata", "PUT", "/servers/{server}/metadata", {"metadata": {"matrix": "1"}}, {"admin", "member"}),
    ("delete server metadata item", "DELETE", "/servers/{server}/metadata/matrix", None, {"admin", "member"}),
    # lock is left out: a locked server would refuse the member's other rows (and its delete) with 409
    ("unlock server", "POST", "/servers/{server}/action", {"unlock": None}, {"admin", "member"}),
    ("server console output", "POST", "/servers/{server}/action", {"os-getConsoleOutput": {"length": 1}}, {"admin", "member"}),
    ("create server", "POST", "/servers", {"server": {"name": "x", "flavorRef": "no-such-flavor"}}, {"admin", "member"}),
    ("list instance actions", "GET", "/servers/{server}/os-instance-actions", None, {"admin", "member", "reader"}),
    ("list aggregates", "GET", "/os-aggregates", None, {"admin"}),
    ("list server groups", "GET", "/os-server-groups", None, {"admin", "member", "reader"}),
    ("list usage", "GET", "/os-simple-tenant-usage", None, {"admin"}),
    ("availability zones in detail", "GET", "/os-availability-zone/detail", None, {"admin"}),
    ("list hypervisors", "GET", "/os-hypervisors", None, {"admin"}),
    ("hypervisor statistics", "GET", "/os-hypervisors/statistics", None, {"admin"}),
    ("list services", "GET", "/os-services", None, {"admin"}),
    ("disable service", "PUT", "/os-services/disable", {"host": "nowhere", "binary": "nova-compute"}, {"admin"}),
    ("create flavor", "POST", "/flavors", {"flavor": {"name": "", "ram": 1, "vcpus": 1, "disk": 0}}, {"admin"}),
    ("delete flavor", "DELETE", "/flavors/no-such-flavor", None, {"admin"}),
    ("list flavor extra specs", "GET", f"/flavors/{SMALL_FLAVOR['id']}/os-extra_specs", None, {"admin", "member", "reader"}),
    ("set flavor extra specs", "POST", "/flavors/no-such-flavor/os-extra_specs", {"extra_specs": {"a": "b"}}, {"admin"}),
]
SERVER_SCOPED = [e for e in ENDPOINTS if "{server}" in e[2]]


def call(world: World, role: str, method: str, path: str, body: object) -> httpx.Response:
    return httpx.request(
        method, f"{world.identity.url}/v2.1{path}", headers={"X-Auth-Token": world.tokens[role]}, json=body, timeout=30
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("role", ROLES)
def test_own_project(world: World, role: str, endpoint) -> None:
    """On its own project's server (or no server at all): allowed means anything but 403 (a 400/404/409 is past the policy)."""
    name, method, path, body, allowed = endpoint
    resp = call(world, role, method, path.format(server=world.servers["blue"]), body)
    if role in allowed:
        assert resp.status_code != 403 and resp.status_code < 500, (name, role, resp.status_code, resp.text)
    else:
        assert resp.status_code == 403, (name, role, resp.status_code, resp.text)
        assert "forbidden" in resp.json()


@pytest.mark.parametrize("endpoint", SERVER_SCOPED, ids=[e[0] for e in SERVER_SCOPED])
@pytest.mark.parametrize("role", ROLES)
def test_another_projects_server(world: World, role: str, endpoint) -> None:
    """Another project's server: not there at all for members and readers (404, never 403); an admin reaches it."""
    name, method, path, body, allowed = endpoint
    resp = call(world, role, method, path.format(server=world.servers["green"]), body)
    if role == "admin" and role in allowed:
        assert resp.status_code not in (403, 404) and resp.status_code < 500, (name, resp.status_code, resp.text)
    else:
        assert resp.status_code == 404 and "itemNotFound" in resp.json(), (name, role, resp.status_code, resp.text)


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_the_callers_project(world: World, role: str) -> None:
    listed = {s["id"] for s in call(world, role, "GET", "/servers", None).json()["servers"]}
    assert world.servers["green"] not in listed
    if role != "admin":
        assert world.servers["blue"] in listed
    if role == "admin":  # all_tenants shows both
        everything = {s["id"] for s in call(world, role, "GET", "/servers/detail?all_tenants=1", None).json()["servers"]}
        assert set(world.servers.values()) <= everything


def test_a_member_deletes_its_own_server_and_a_reader_cannot(world: World) -> None:
    blue = world.servers["blue"]
    assert call(world, "reader", "DELETE", f"/servers/{blue}", None).status_code == 403
    assert call(world, "member", "DELETE", f"/servers/{world.servers['green']}", None).status_code == 404
    assert call(world, "member", "DELETE", f"/servers/{blue}", None).status_code == 204
    wait_until(lambda: call(world, "member", "GET", f"/servers/{blue}", None).status_code == 404, 20, "the server to be gone")
