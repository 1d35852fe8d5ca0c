"""Nova's policy matrix, on every route of the Compute and Image APIs and every server action: admin, member, reader, another project's member.

Each row is one route (one action name for an action route) with the
status Nova's secure-RBAC defaults give each caller: the success status
where its rule lets the caller through, 403 where it does not, and 404 for a
server (group, image) of another project, which does not exist for a
non-admin whatever the role. blue owns every target; the columns are
blue's admin-role user (adam, admin on project admin), blue's member, blue's
reader and green's member. Every case gets a fresh target (world.make), so
what one case changes decides no other's answer. A route or an action
without a row fails `test_every_route_and_action_has_a_row`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from policy_world import ROLES, World

from memory_api import routes
from novalog.api.app import create_app
from novalog.api.compute.routes.aggregates import AggregateAction
from novalog.api.compute.routes.flavors import FlavorAction
from novalog.api.compute.server_bodies import ServerAction
from novalog.api.policy import ACTION_RULES

Expect = tuple[int, int, int, int]  # admin, member, reader, other project's member


def everyone(ok: int) -> Expect:
    return (ok, ok, ok, ok)


def admin_only(ok: int) -> Expect:
    return (ok, 403, 403, 403)


def member_creates(ok: int) -> Expect:
    """A project member (or an admin) makes one in its own project; a reader may not."""
    return (ok, ok, 403, ok)


def reader_of_blue(ok: int) -> Expect:
    """Blue's (named by id in the path): its readers and admins; another project's member is refused the rule (403)."""
    return (ok, ok, ok, 403)


def reader_on_server(ok: int) -> Expect:
    """A blue server (group, image): its readers; another project's does not see it (404)."""
    return (ok, ok, ok, 404)


def member_on_server(ok: int) -> Expect:
    return (ok, ok, 403, 404)


def admin_on_server(ok: int) -> Expect:
    return (ok, 403, 403, 404)


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    route: str  # the app's path template; {placeholders} filled from the case's targets (policy_world.World.make)
    expect: Expect
    body: Any = None
    needs: str = ""  # the target to make first: "server:paused", "flavor", "image:uploaded"...
    query: str = ""
    version: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str | None:
        return next(iter(self.body)) if self.route.endswith("/action") and isinstance(self.body, dict) else None


SERVER = "/v2.1/servers/{server_id}"
ACTION = "/v2.1/servers/{server_id}/action"
FLAVOR = "/v2.1/flavors/{flavor_id}"
AGGREGATE = "/v2.1/os-aggregates/{aggregate_id}"
QUOTA = "/v2.1/os-quota-sets/{project_id}"
IMAGE = "/image/v2/images/{image_id}"
OCTETS = (("Content-Type", "application/octet-stream"),)
PATCH = (("Content-Type", "application/openstack-images-v2.1-json-patch"),)
BOOT = {"server": {"name": "{name}", "flavorRef": "1", "imageRef": "{image}"}}

SERVER_ROWS = [
    Row("list servers", "GET", "/v2.1/servers", everyone(200)),
    Row("list servers in detail", "GET", "/v2.1/servers/detail", everyone(200)),
    Row("list all tenants' servers", "GET", "/v2.1/servers", admin_only(200), query="all_tenants=1"),
    Row("list all tenants' servers in detail", "GET", "/v2.1/servers/detail", admin_only(200), query="all_tenants=1"),
    Row("create server", "POST", "/v2.1/servers", member_creates(202), body=BOOT),
    Row("show server", "GET", SERVER, reader_on_server(200), needs="server"),
    Row("update server", "PUT", SERVER, member_on_server(200), body={"server": {"name": "{name}"}}, needs="server"),
    Row("delete server", "DELETE", SERVER, member_on_server(204), needs="server"),
    Row("list server metadata", "GET", f"{SERVER}/metadata", reader_on_server(200), needs="server"),
    Row("merge server metadata", "POST", f"{SERVER}/metadata", member_on_server(200), body={"metadata": {"a": "b"}}, needs="server"),
    Row("replace server metadata", "PUT", f"{SERVER}/metadata", member_on_server(200), body={"metadata": {"a": "b"}}, needs="server"),
    Row("show server metadata item", "GET", f"{SERVER}/metadata/{{key}}", reader_on_server(200), needs="server:metadata"),
    Row("set server metadata item", "PUT", f"{SERVER}/metadata/{{key}}", member_on_server(200), body={"meta": {"k": "w"}}, needs="server"),
    Row("delete server metadata item", "DELETE", f"{SERVER}/metadata/{{key}}", member_on_server(204), needs="server:metadata"),
    Row("list instance actions", "GET", f"{SERVER}/os-instance-actions", reader_on_server(200), needs="server"),
    Row("show instance action", "GET", f"{SERVER}/os-instance-actions/{{request_id}}", reader_on_server(200), needs="server"),
]

ACTION_ROWS = [
    Row("reboot", "POST", ACTION, member_on_server(202), body={"reboot": {"type": "HARD"}}, needs="server"),
    Row("stop", "POST", ACTION, member_on_server(202), body={"os-stop": None}, needs="server"),
    Row("start", "POST", ACTION, member_on_server(202), body={"os-start": None}, needs="server:stopped"),
    Row("pause", "POST", ACTION, member_on_server(202), body={"pause": None}, needs="server"),
    Row("unpause", "POST", ACTION, member_on_server(202), body={"unpause": None}, needs="server:paused"),
    Row("suspend", "POST", ACTION, member_on_server(202), body={"suspend": None}, needs="server"),
    Row("resume", "POST", ACTION, member_on_server(202), body={"resume": None}, needs="server:suspended"),
    Row("resize", "POST", ACTION, member_on_server(202), body={"resize": {"flavorRef": "2"}}, needs="server"),
    Row("confirm resize", "POST", ACTION, member_on_server(204), body={"confirmResize": None}, needs="server:resized"),
    Row("revert resize", "POST", ACTION, member_on_server(202), body={"revertResize": None}, needs="server:resized"),
    Row("cold migrate", "POST", ACTION, admin_on_server(202), body={"migrate": None}, needs="server"),
    Row("live migrate", "POST", ACTION, admin_on_server(202), body={"os-migrateLive": {"host": None, "block_migration": False, "disk_over_commit": False}},
        needs="server"),
    Row("evacuate", "POST", ACTION, admin_on_server(200), body={"evacuate": {}}, needs="server:host_down", version="2.14"),
    Row("lock", "POST", ACTION, member_on_server(202), body={"lock": None}, needs="server"),
    Row("unlock", "POST", ACTION, member_on_server(202), body={"unlock": None}, needs="server:locked"),  # locked by its member
    Row("console output", "POST", ACTION, member_on_server(200), body={"os-getConsoleOutput": {"length": 5}}, needs="server"),
    Row("rebuild", "POST", ACTION, member_on_server(202), body={"rebuild": {"imageRef": "{image}"}}, needs="server"),
    Row("create image", "POST", ACTION, member_on_server(202), body={"createImage": {"name": "{name}"}}, needs="server"),
    Row("rescue", "POST", ACTION, member_on_server(200), body={"rescue": None}, needs="server"),
    Row("unrescue", "POST", ACTION, member_on_server(202), body={"unrescue": None}, needs="server:rescued"),
]

FLAVOR_ROWS = [
    Row("list flavors", "GET", "/v2.1/flavors", everyone(200)),
    Row("list flavors in detail", "GET", "/v2.1/flavors/detail", everyone(200)),
    Row("show flavor", "GET", FLAVOR, everyone(200), needs="public_flavor"),
    Row("create flavor", "POST", "/v2.1/flavors", admin_only(200), body={"flavor": {"name": "{name}", "vcpus": 1, "ram": 64, "disk": 1}}),
    Row("delete flavor", "DELETE", FLAVOR, admin_only(202), needs="flavor"),
    Row("list extra specs", "GET", f"{FLAVOR}/os-extra_specs", everyone(200), needs="public_flavor"),
    Row("create extra specs", "POST", f"{FLAVOR}/os-extra_specs", admin_only(200), body={"extra_specs": {"a": "b"}}, needs="flavor"),
    Row("show extra spec", "GET", f"{FLAVOR}/os-extra_specs/{{key}}", everyone(200), needs="public_flavor"),
    Row("update extra spec", "PUT", f"{FLAVOR}/os-extra_specs/{{key}}", admin_only(200), body={"k": "w"}, needs="flavor"),
    Row("delete extra spec", "DELETE", f"{FLAVOR}/os-extra_specs/{{key}}", admin_only(200), needs="flavor"),
    Row("list flavor access", "GET", f"{FLAVOR}/os-flavor-access", admin_only(200), needs="flavor"),
    Row("add tenant access", "POST", f"{FLAVOR}/action", admin_only(200), body={"addTenantAccess": {"tenant": "{project_id}"}}, needs="flavor"),
    Row("remove tenant access", "POST", f"{FLAVOR}/action", admin_only(200), body={"removeTenantAccess": {"tenant": "{project_id}"}},
        needs="flavor:access"),
]

HOST_ROWS = [
    Row("list services", "GET", "/v2.1/os-services", admin_only(200)),
    Row("enable service", "PUT", "/v2.1/os-services/enable", admin_only(200), body={"host": "{host}", "binary": "nova-compute"}, needs="service"),
    Row("disable service", "PUT", "/v2.1/os-services/disable", admin_only(200), body={"host": "{host}", "binary": "nova-compute"}, needs="service"),
    Row("disable service with a reason", "PUT", "/v2.1/os-services/disable-log-reason", admin_only(200),
        body={"host": "{host}", "binary": "nova-compute", "disabled_reason": "matrix"}, needs="service"),
    Row("force a service down", "PUT", "/v2.1/os-services/force-down", admin_only(200),
        body={"host": "{host}", "binary": "nova-compute", "forced_down": False}, needs="service", version="2.11"),
    Row("list hypervisors", "GET", "/v2.1/os-hypervisors", admin_only(200)),
    Row("list hypervisors in detail", "GET", "/v2.1/os-hypervisors/detail", admin_only(200)),
    Row("hypervisor statistics", "GET", "/v2.1/os-hypervisors/statistics", admin_only(200)),
    Row("show hypervisor", "GET", "/v2.1/os-hypervisors/{hypervisor_id}", admin_only(200), needs="hypervisor"),
    Row("list availability zones", "GET", "/v2.1/os-availability-zone", everyone(200)),
    Row("list availability zones in detail", "GET", "/v2.1/os-availability-zone/detail", admin_only(200)),
]

AGGREGATE_ROWS = [
    Row("list aggregates", "GET", "/v2.1/os-aggregates", admin_only(200)),
    Row("create aggregate", "POST", "/v2.1/os-aggregates", admin_only(200), body={"aggregate": {"name": "{name}"}}),
    Row("show aggregate", "GET", AGGREGATE, admin_only(200), needs="aggregate"),
    Row("update aggregate", "PUT", AGGREGATE, admin_only(200), body={"aggregate": {"name": "{name}"}}, needs="aggregate"),
    Row("delete aggregate", "DELETE", AGGREGATE, admin_only(200), needs="aggregate"),
    Row("add host to aggregate", "POST", f"{AGGREGATE}/action", admin_only(200), body={"add_host": {"host": "{host}"}}, needs="aggregate"),
    Row("remove host from aggregate", "POST", f"{AGGREGATE}/action", admin_only(200), body={"remove_host": {"host": "{host}"}}, needs="aggregate:host"),
    Row("set aggregate metadata", "POST", f"{AGGREGATE}/action", admin_only(200), body={"set_metadata": {"metadata": {"a": "b"}}}, needs="aggregate"),
]

TENANT_ROWS = [
    Row("create key pair", "POST", "/v2.1/os-keypairs", everyone(200), body={"keypair": {"name": "{name}"}}),
    Row("list key pairs", "GET", "/v2.1/os-keypairs", everyone(200)),
    # The member's own key pair, named with user_id (2.10): its owner and an admin; anyone else is refused the rule.
    Row("show key pair", "GET", "/v2.1/os-keypairs/{name}", (200, 200, 403, 403), needs="keypair", query="user_id={member_user}", version="2.10"),
    Row("delete key pair", "DELETE", "/v2.1/os-keypairs/{name}", (204, 204, 403, 403), needs="keypair", query="user_id={member_user}", version="2.10"),
    Row("create server group", "POST", "/v2.1/os-server-groups", member_creates(200),
        body={"server_group": {"name": "{name}", "policies": ["anti-affinity"]}}),
    Row("list server groups", "GET", "/v2.1/os-server-groups", everyone(200)),
    Row("show server group", "GET", "/v2.1/os-server-groups/{group_id}", reader_on_server(200), needs="group"),
    Row("delete server group", "DELETE", "/v2.1/os-server-groups/{group_id}", member_on_server(204), needs="group"),
    Row("show quotas", "GET", QUOTA, reader_of_blue(200)),
    Row("show quota details", "GET", f"{QUOTA}/detail", reader_of_blue(200)),
    Row("show default quotas", "GET", f"{QUOTA}/defaults", everyone(200)),
    Row("update quotas", "PUT", QUOTA, admin_only(200), body={"quota_set": {"metadata_items": 128}}, needs="quota"),
    Row("revert quotas", "DELETE", QUOTA, admin_only(202), needs="quota"),
    Row("show limits", "GET", "/v2.1/limits", everyone(200)),
    Row("list usage", "GET", "/v2.1/os-simple-tenant-usage", admin_only(200)),
    Row("show a project's usage", "GET", "/v2.1/os-simple-tenant-usage/{tenant_id}", reader_of_blue(200)),
]

IMAGE_ROWS = [
    Row("list images", "GET", "/image/v2/images", everyone(200)),
    Row("show image", "GET", IMAGE, reader_on_server(200), needs="image"),
    Row("create image", "POST", "/image/v2/images", member_creates(201), body={"name": "{name}", "disk_format": "qcow2", "container_format": "bare"}),
    Row("update image", "PATCH", IMAGE, member_on_server(200), body=[{"op": "replace", "path": "/name", "value": "renamed"}], needs="image",
        headers=PATCH),
    Row("delete image", "DELETE", IMAGE, member_on_server(204), needs="image"),
    Row("upload image", "PUT", f"{IMAGE}/file", member_on_server(204), body=b"bits", needs="image", headers=OCTETS),
    Row("download image", "GET", f"{IMAGE}/file", reader_on_server(200), needs="image:uploaded"),
    Row("image schema", "GET", "/image/v2/schemas/image", everyone(200)),
    Row("images schema", "GET", "/image/v2/schemas/images", everyone(200)),
]

IDENTITY_ROWS = [
    Row("list users", "GET", "/identity/v3/users", admin_only(200)),
    Row("show user", "GET", "/identity/v3/users/{user_id}", (200, 200, 403, 403)),  # the member itself
    Row("list projects", "GET", "/identity/v3/projects", admin_only(200)),
    Row("show project", "GET", "/identity/v3/projects/{project_id}", (200, 200, 200, 403)),  # blue: its token's project
    Row("list role assignments", "GET", "/identity/v3/role_assignments", admin_only(200)),
]

MATRIX = SERVER_ROWS + ACTION_ROWS + FLAVOR_ROWS + HOST_ROWS + AGGREGATE_ROWS + TENANT_ROWS + IMAGE_ROWS + IDENTITY_ROWS

# Routes outside the matrix, and why: documents anyone may read, and the token routes (a token's own rules: test_api_routes_identity_images.py).
UNGUARDED = {
    ("GET", "/"), ("GET", "/v2.1"), ("GET", "/v2.1/"), ("GET", "/openapi.json"), ("HEAD", "/openapi.json"),
    ("GET", "/identity"), ("GET", "/identity/"), ("GET", "/identity/v3"), ("GET", "/identity/v3/"),
    ("POST", "/identity/v3/auth/tokens"), ("GET", "/identity/v3/auth/tokens"), ("HEAD", "/identity/v3/auth/tokens"),
    ("DELETE", "/identity/v3/auth/tokens"), ("GET", "/image"), ("GET", "/image/"), ("GET", "/image/versions"),
}
# The action routes, and the body model whose keys are their action names.
ACTION_MODELS = {ACTION: ServerAction, f"{FLAVOR}/action": FlavorAction, f"{AGGREGATE}/action": AggregateAction}


def action_names(model: Any) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def filled(value: Any, values: dict[str, Any]) -> Any:
    """A body or path with the case's placeholders filled in."""
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {filled(k, values): filled(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, values) for v in value]
    return value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("policy-matrix"))


@pytest.fixture
def target(world: World, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    values = world.make(request.param)
    yield values
    world.undo(values)


def ask(world: World, role: str, row: Row, values: dict[str, Any]) -> Any:
    path = filled(row.route, {**values, "image": world.image}) + (f"?{filled(row.query, values)}" if row.query else "")
    http = world.http(role, version=row.version, prefix="")
    headers = dict(row.headers)
    if isinstance(row.body, bytes):
        return http.request(row.method, path, content=row.body, headers=headers)
    if row.body is None:
        return http.request(row.method, path, headers=headers)
    body = filled(row.body, {**values, "image": world.image})
    return http.request(row.method, path, content=json.dumps(body), headers={"Content-Type": "application/json", **headers})


CASES = [pytest.param(row, role, expected, row.needs, id=f"{row.name}-{role}")
         for row in MATRIX for role, expected in zip(ROLES, row.expect, strict=True)]


@pytest.mark.parametrize(("row", "role", "expected", "target"), CASES, indirect=["target"])
def test_policy_matrix(world: World, row: Row, role: str, expected: int, target: dict[str, Any]) -> None:
    resp = ask(world, role, row, target)

    assert resp.status_code == expected, (row.name, role, resp.status_code, resp.text[:500])
    if expected == 403:  # Nova's {"forbidden": {...}}, Glance's and Keystone's bodies alike carry the code and the words
        (refusal,) = resp.json().values()
        assert refusal["code"] == 403 and refusal["message"], resp.text
    if expected == 404 and row.route.startswith("/v2.1/"):
        assert "itemNotFound" in resp.json(), resp.text


def test_every_route_and_action_has_a_row(tmp_path: Path) -> None:
    """A new route (or server, flavor, aggregate action) fails here until the matrix says who may call it."""
    from memory_api import backend_in

    table = routes(create_app(backend_in(tmp_path)))
    rows = {(row.method, row.route, row.action) for row in MATRIX}
    wanted = set()
    for methods, path in table:
        for method in methods:
            if (method, path) in UNGUARDED:
                continue
            if path in ACTION_MODELS and method == "POST":
                wanted |= {(method, path, name) for name in action_names(ACTION_MODELS[path])}
            elif path == "/v2.1/os-services/{verb}":
                wanted |= {(method, f"/v2.1/os-services/{verb}", None) for verb in ("enable", "disable", "disable-log-reason", "force-down")}
            else:
                wanted.add((method, path, None))
    assert len(table) > 60, table
    missing = sorted(wanted - rows, key=str)
    assert not missing, f"routes or actions without a row in the policy matrix: {missing}"
    assert set(ACTION_RULES) <= {row.action for row in ACTION_ROWS}, "a server action with a rule but no row"
