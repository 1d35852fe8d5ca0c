"""The world the policy matrix runs in: the API on the in-memory backend in keystone mode, two projects, and fresh targets per case.

Projects blue and green; `adam` is admin (on project admin), `blue-member`
and `blue-reader` are blue's member and reader, `green-member` green's
member (the "other project" column). Each case asks for what it needs by
name (`make`): a fresh blue server in a given state, a private flavor, an
aggregate, a key pair, a server group, an image... made by their owner or an
admin, so one case's change never decides another's answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memory_api import RecordingClient, client, memory_settings
from novalog.agent.config import HostConfig
from novalog.api.deps import ApiBackend
from novalog.api.identity import commands as identity_commands
from novalog.api.identity.passwords import hash_password
from novalog.memory import memory_backend

PASSWORD = "matrix-secret-1"
ROLES = ("admin", "member", "reader", "other")
USERS = {"admin": ("adam", "admin", "admin"), "member": ("blue-member", "blue", "member"),
         "reader": ("blue-reader", "blue", "reader"), "other": ("green-member", "green", "member")}
TINY = {"name": "tiny", "id": "1", "vcpus": 1, "ram": 64, "disk": 1}
BIGGER = {"name": "bigger", "id": "2", "vcpus": 1, "ram": 128, "disk": 2}
# Room for every server the matrix boots (each case boots its own): 3 hosts, 64 vCPUs x 4.0 each.
HOSTS = [HostConfig(f"pm{i}", 64, 65536, 1000) for i in (1, 2, 3)]
UNLIMITED = {"quota_set": {"instances": -1, "cores": -1, "ram": -1, "key_pairs": -1, "server_groups": -1, "server_group_members": -1}}


def authenticated(backend: ApiBackend, user: str, project: str) -> str:
    auth = {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}
    resp = client(backend, token=None, prefix="/identity/v3").post("/auth/tokens", json={"auth": auth})
    assert resp.status_code == 201, resp.text
    return resp.headers["x-subject-token"]


class World:
    """The backend, a token per role, and the makers of fresh targets."""

    def __init__(self, tmp: Path) -> None:
        self.backend = memory_backend(memory_settings(tmp, auth_strategy="keystone"), hosts=HOSTS)
        log, cache = self.backend.log, self.backend.cache
        for project in ("admin", "blue", "green"):
            log.append([identity_commands.create_project(project)])
        for name, project, role in USERS.values():
            log.append([identity_commands.create_user(name, hash_password(PASSWORD), cache.project_named("default", project).project_id)])
            log.append([identity_commands.assign_role(cache.user_named("default", name), cache.project_named("default", project), role)])
        self.tokens = {role: authenticated(self.backend, name, project) for role, (name, project, _) in USERS.items()}
        self.project = {p: cache.project_named("default", p).project_id for p in ("admin", "blue", "green")}
        self.user = {role: cache.user_named("default", name).user_id for role, (name, _, _) in USERS.items()}
        self.serial = itertools.count()
        admin = self.http("admin")
        for flavor in (TINY, BIGGER):
            assert admin.post("/flavors", json={"flavor": flavor}).status_code == 200
        for project in self.project.values():
            assert admin.put(f"/os-quota-sets/{project}", json=UNLIMITED).status_code == 200
        self.image = self.glance("admin").post("/images", json={"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
                                                                "visibility": "public"}).json()["id"]
        assert self.glance("admin").put(f"/images/{self.image}/file", content=b"bits",
                                         headers={"Content-Type": "application/octet-stream"}).status_code == 204

    def http(self, role: str, version: str | None = None, prefix: str = "/v2.1") -> RecordingClient:
        return client(self.backend, token=self.tokens[role], version=version, prefix=prefix)

    def glance(self, role: str) -> RecordingClient:
        return self.http(role, prefix="/image/v2")

    def unique(self, what: str) -> str:
        return f"{what}-{next(self.serial)}"

    # --- the targets a case asks for --------------------------------------------------------

    def make(self, needs: str) -> dict[str, Any]:
        """The placeholders of a case's path and body: the target it needs, fresh, and the world's ids."""
        values: dict[str, Any] = {"project_id": self.project["blue"], "tenant_id": self.project["blue"], "user_id": self.user["member"],
                                  "member_user": self.user["member"], "key": "k", "name": self.unique("made"), "host": "pm1"}
        if needs:
            kind, _, state = needs.partition(":")
            values.update(MAKERS[kind](self, state))
        return values

    def server(self, state: str) -> dict[str, Any]:
        """A blue server booted by its member, ACTIVE, then brought to `state` by the admin."""
        member = self.http("member")
        made = member.post("/servers", json={"server": {"name": self.unique("vm"), "flavorRef": "1", "imageRef": self.image}})
        assert made.status_code == 202, made.text
        server_id = made.json()["server"]["id"]
        self.settle(server_id, "ACTIVE")
        steps = {"paused": ({"pause": None}, "PAUSED"), "suspended": ({"suspend": None}, "SUSPENDED"),
                 "stopped": ({"os-stop": None}, "SHUTOFF"), "resized": ({"resize": {"flavorRef": "2"}}, "VERIFY_RESIZE"),
                 "rescued": ({"rescue": None}, "RESCUE")}
        if state in steps:
            body, status = steps[state]
            assert self.http("admin").post(f"/servers/{server_id}/action", json=body).status_code in (200, 202)
            self.settle(server_id, status)
        if state == "locked":  # by its member: an admin's lock would need the admin to unlock it (unlock_override)
            assert member.post(f"/servers/{server_id}/action", json={"lock": None}).status_code == 202
        if state == "metadata":
            assert member.post(f"/servers/{server_id}/metadata", json={"metadata": {"k": "v"}}).status_code == 200
        if state == "host_down":
            host = self.http("admin").get(f"/servers/{server_id}").json()["server"]["OS-EXT-SRV-ATTR:host"]
            self.force_down(host, True)
            return {"server_id": server_id, "down_host": host}
        request_id = self.http("admin").get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"][-1]["request_id"]
        return {"server_id": server_id, "request_id": request_id}

    def settle(self, server_id: str, status: str) -> None:
        shown = self.http("admin").get(f"/servers/{server_id}").json()["server"]
        assert (shown["status"], shown.get("OS-EXT-STS:task_state")) == (status, None), shown

    def force_down(self, host: str, down: bool) -> None:
        resp = self.http("admin", version="2.11").put("/os-services/force-down", json={"host": host, "binary": "nova-compute", "forced_down": down})
        assert resp.status_code == 200, resp.text

    def flavor(self, state: str) -> dict[str, Any]:
        """A private flavor with extra spec k=v; `access`: blue may use it."""
        flavor_id = self.unique("flavor")
        admin = self.http("admin")
        made = admin.post("/flavors", json={"flavor": {"name": flavor_id, "id": flavor_id, "vcpus": 1, "ram": 64, "disk": 1,
                                                       "os-flavor-access:is_public": False}})
        assert made.status_code == 200, made.text
        assert admin.post(f"/flavors/{flavor_id}/os-extra_specs", json={"extra_specs": {"k": "v"}}).status_code == 200
        if state == "access":
            assert admin.post(f"/flavors/{flavor_id}/action", json={"addTenantAccess": {"tenant": self.project["blue"]}}).status_code == 200
        return {"flavor_id": flavor_id}

    def public_flavor(self, state: str) -> dict[str, Any]:
        """A public flavor with extra spec k=v, that everyone sees."""
        flavor_id = self.unique("public")
        admin = self.http("admin")
        assert admin.post("/flavors", json={"flavor": {"name": flavor_id, "id": flavor_id, "vcpus": 1, "ram": 64, "disk": 1}}).status_code == 200
        assert admin.post(f"/flavors/{flavor_id}/os-extra_specs", json={"extra_specs": {"k": "v"}}).status_code == 200
        return {"flavor_id": flavor_id}

    def aggregate(self, state: str) -> dict[str, Any]:
        """An aggregate; `host`: with pm1 in it."""
        admin = self.http("admin")
        made = admin.post("/os-aggregates", json={"aggregate": {"name": self.unique("agg")}})
        assert made.status_code == 200, made.text
        aggregate_id = made.json()["aggregate"]["id"]
        if state == "host":
            assert admin.post(f"/os-aggregates/{aggregate_id}/action", json={"add_host": {"host": "pm1"}}).status_code == 200
        return {"aggregate_id": aggregate_id}

    def keypair(self, state: str) -> dict[str, Any]:
        """A key pair of blue's member."""
        name = self.unique("key")
        made = self.http("member").post("/os-keypairs", json={"keypair": {"name": name}})
        assert made.status_code == 200, made.text
        return {"name": name}

    def group(self, state: str) -> dict[str, Any]:
        """A server group of blue, made by its member."""
        made = self.http("member").post("/os-server-groups", json={"server_group": {"name": self.unique("group"), "policies": ["affinity"]}})
        assert made.status_code == 200, made.text
        return {"group_id": made.json()["server_group"]["id"]}

    def image(self, state: str) -> dict[str, Any]:
        """A private image of blue, made by its member; `uploaded`: with its bits."""
        glance = self.glance("member")
        made = glance.post("/images", json={"name": self.unique("image"), "disk_format": "qcow2", "container_format": "bare"})
        assert made.status_code == 201, made.text
        image_id = made.json()["id"]
        if state == "uploaded":
            assert glance.put(f"/images/{image_id}/file", content=b"bits", headers={"Content-Type": "application/octet-stream"}).status_code == 204
        return {"image_id": image_id}

    def quota(self, state: str) -> dict[str, Any]:
        """blue's quota, set back to unlimited after the case (a revert would leave the matrix's boots to the defaults)."""
        return {"restore_quota": self.project["blue"]}

    def service(self, state: str) -> dict[str, Any]:
        """pm3's compute service, enabled and up again after the case."""
        return {"host": "pm3", "restore_service": "pm3"}

    def hypervisor(self, state: str) -> dict[str, Any]:
        listed = self.http("admin").get("/os-hypervisors").json()["hypervisors"]
        return {"hypervisor_id": listed[0]["id"]}

    def undo(self, values: dict[str, Any]) -> None:
        """Put back what a case changed beyond its own target: a host forced down comes back up."""
        if "down_host" in values:
            self.force_down(values["down_host"], False)
        if "restore_quota" in values:
            assert self.http("admin").put(f"/os-quota-sets/{values['restore_quota']}", json=UNLIMITED).status_code == 200
        if "restore_service" in values:
            self.force_down(values["restore_service"], False)
            resp = self.http("admin").put("/os-services/enable", json={"host": values["restore_service"], "binary": "nova-compute"})
            assert resp.status_code == 200, resp.text


MAKERS: dict[str, Callable[[World, str], dict[str, Any]]] = {
    "server": World.server, "flavor": World.flavor, "public_flavor": World.public_flavor, "aggregate": World.aggregate,
    "keypair": World.keypair, "group": World.group, "image": World.image, "hypervisor": World.hypervisor,
    "quota": World.quota, "service": World.service,
}
