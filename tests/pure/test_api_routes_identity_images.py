"""Identity (Keystone v3 tokens) and image (Glance v2) routes on the in-memory backend, over HTTP."""

from __future__ import annotations

import hashlib

import pytest

from memory_api import backend_in, client, fault, flavor
from novalog.api.identity import commands as identity_commands
from novalog.api.identity.passwords import hash_password

POLICY = "Policy doesn't allow {} to be performed."
PATCH = "application/openstack-images-v2.1-json-patch"
CIRROS = {"name": "cirros", "disk_format": "qcow2", "container_format": "bare"}


def password_auth(user: str, password: str, project: str | None = "demo") -> dict:
    auth: dict = {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return {"auth": auth}


@pytest.fixture(scope="module")
def keystone(tmp_path_factory: pytest.TempPathFactory):
    """A backend in keystone mode with project demo, and adam (admin), alice (member) and rita (reader) there, as `novalog` commands make them."""
    # One for the module: each user's password hash and check is deliberately slow work (Argon2id).
    backend = backend_in(tmp_path_factory.mktemp("keystone"), auth_strategy="keystone")
    backend.log.append([identity_commands.create_project("demo")])
    demo = backend.cache.project_named("default", "demo")
    for name, role in (("adam", "admin"), ("alice", "member"), ("rita", "reader")):
        backend.log.append([identity_commands.create_user(name, hash_password(f"{name}-secret"), demo.project_id)])
        backend.log.append([identity_commands.assign_role(backend.cache.user_named("default", name), demo, role)])
    return backend


TOKENS: dict[tuple[int, str], str] = {}


def token(backend, user: str) -> str:
    """A project-scoped token of the user on demo (one per user and backend: issuing one checks the password)."""
    if (id(backend), user) in TOKENS:
        return TOKENS[(id(backend), user)]
    resp = client(backend, token=None, prefix="/identity/v3").post("/auth/tokens", json=password_auth(user, f"{user}-secret"))
    assert resp.status_code == 201, resp.text
    TOKENS[(id(backend), user)] = resp.headers["x-subject-token"]
    return TOKENS[(id(backend), user)]


# --- identity -----------------------------------------------------------------------------


def test_identity_version_documents(keystone) -> None:
    http = client(keystone, token=None, prefix="")
    assert http.get("/identity").status_code == 300
    assert http.get("/identity/").status_code == 300
    assert http.get("/identity/v3").json()["version"]["id"] == "v3.14"
    assert http.get("/identity/v3/").status_code == 200


def test_a_password_token_is_issued_and_validated(keystone) -> None:
    http = client(keystone, token=None, prefix="/identity/v3")
    issued = http.post("/auth/tokens", json=password_auth("alice", "alice-secret"))
    assert issued.status_code == 201, issued.text
    body = issued.json()["token"]
    assert (body["user"]["name"], body["project"]["name"], sorted(r["name"] for r in body["roles"])) == ("alice", "demo", ["member", "reader"])
    subject = issued.headers["x-subject-token"]
    checked = http.get("/auth/tokens", headers={"X-Auth-Token": subject, "X-Subject-Token": subject})
    assert checked.status_code == 200 and checked.json()["token"]["user"]["name"] == "alice"
    head = http.head("/auth/tokens", headers={"X-Auth-Token": subject, "X-Subject-Token": subject})
    assert (head.status_code, head.headers["x-subject-token"]) == (200, subject)
    bad = http.get("/auth/tokens", headers={"X-Auth-Token": subject, "X-Subject-Token": "garbage"})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == 404


def test_token_faults_are_keystone_errors(keystone) -> None:
    http = client(keystone, token=None, prefix="/identity/v3")
    wrong = http.post("/auth/tokens", json=password_auth("alice", "guess"))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
    assert wrong.headers["www-authenticate"] == 'Keystone uri="http://testserver/identity"'
    malformed = http.post("/auth/tokens", content=b"{nope", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"]["message"] == "The request body is not JSON."
    assert http.get("/auth/tokens", headers={"X-Subject-Token": "x"}).status_code == 401


def fresh_token(backend, user: str) -> str:
    """A new token of the user on demo (not the shared one: it is about to be revoked)."""
    resp = client(backend, token=None, prefix="/identity/v3").post("/auth/tokens", json=password_auth(user, f"{user}-secret"))
    assert resp.status_code == 201, resp.text
    return resp.headers["x-subject-token"]


def test_a_revoked_token_is_not_found_to_validate_and_refused_by_compute(keystone) -> None:
    doomed, other = fresh_token(keystone, "alice"), fresh_token(keystone, "alice")
    http = client(keystone, token=None, prefix="/identity/v3")
    assert client(keystone, token=doomed).get("/servers").status_code == 200

    revoked = http.delete("/auth/tokens", headers={"X-Auth-Token": doomed, "X-Subject-Token": doomed})

    assert revoked.status_code == 204, revoked.text
    assert client(keystone, token=doomed).get("/servers").status_code == 401
    assert http.get("/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": doomed}).status_code == 404
    assert http.head("/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": doomed}).status_code == 404
    assert http.get("/auth/tokens", headers={"X-Auth-Token": doomed, "X-Subject-Token": other}).status_code == 401
    assert http.delete("/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": doomed}).status_code == 404
    # Only that token: the user's other token still works.
    assert client(keystone, token=other).get("/servers").status_code == 200


def test_only_the_tokens_user_or_an_admin_revokes_it(keystone) -> None:
    alices, ritas = fresh_token(keystone, "alice"), fresh_token(keystone, "rita")
    http = client(keystone, token=None, prefix="/identity/v3")

    refused = http.delete("/auth/tokens", headers={"X-Auth-Token": ritas, "X-Subject-Token": alices})

    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": 403, "title": "Forbidden", "message": "You are not authorized to perform the requested action: identity:revoke_token.",
    }
    assert http.delete("/auth/tokens", headers={"X-Auth-Token": token(keystone, "adam"), "X-Subject-Token": alices}).status_code == 204
    assert client(keystone, token=alices).get("/servers").status_code == 401
    assert http.delete("/auth/tokens", headers={"X-Auth-Token": token(keystone, "adam"), "X-Subject-Token": "garbage"}).status_code == 404


def test_compute_takes_keystone_tokens_and_their_roles(keystone) -> None:
    alice, rita = client(keystone, token(keystone, "alice")), client(keystone, token(keystone, "rita"))
    assert alice.get("/servers").status_code == 200
    assert rita.get("/servers").status_code == 200
    fault(rita.post("/servers", json={"server": {"name": "x", "flavorRef": "2"}}), 403, POLICY.format("os_compute_api:servers:create"))
    fault(client(keystone, "admin:admin").get("/servers"), 401, "The request you have made requires authentication.")


# --- images -------------------------------------------------------------------------------


def test_image_create_upload_download_delete(memory_api) -> None:
    glance = client(memory_api, "alice:demo", prefix="/image/v2")
    made = glance.post("/images", json=CIRROS)
    assert made.status_code == 201, made.text
    image = made.json()
    assert (image["name"], image["status"], image["visibility"], image["owner"]) == ("cirros", "queued", "shared", "demo")
    assert made.headers["location"] == f"http://testserver/image/v2/images/{image['id']}"
    bits = b"\x00qcow2 bits" * 100
    stored = glance.put(f"/images/{image['id']}/file", content=bits, headers={"Content-Type": "application/octet-stream"})
    assert stored.status_code == 204, stored.text
    shown = glance.get(f"/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["checksum"]) == ("active", len(bits), hashlib.md5(bits).hexdigest())
    down = glance.get(f"/images/{image['id']}/file")
    assert (down.status_code, down.content, down.headers["content-md5"]) == (200, bits, hashlib.md5(bits).hexdigest())
    assert [i["id"] for i in glance.get("/images").json()["images"]] == [image["id"]]
    assert glance.delete(f"/images/{image['id']}").status_code == 204
    fault(glance.get(f"/images/{image['id']}"), 404, f"No image found with ID {image['id']}")


def test_image_update_and_its_faults(memory_api) -> None:
    glance = client(memory_api, "alice:demo", prefix="/image/v2")
    image = glance.post("/images", json=CIRROS).json()
    renamed = glance.patch(f"/images/{image['id']}", json=[{"op": "replace", "path": "/name", "value": "cirros-2"}], headers={"Content-Type": PATCH})
    assert renamed.status_code == 200 and renamed.json()["name"] == "cirros-2"
    fault(glance.patch(f"/images/{image['id']}", json=[], headers={"Content-Type": "application/json"}), 415,
          f"Unsupported Content-Type 'application/json': use {PATCH}.")
    fault(glance.post("/images", json={**CIRROS, "id": image["id"]}), 409, f"Image with identifier {image['id']} already exists!")
    fault(glance.post("/images", json={**CIRROS, "status": "active"}), 403, "Attribute 'status' is read-only.")
    fault(glance.post("/images", json={**CIRROS, "visibility": "public"}), 403, POLICY.format("publicize_image"))
    assert glance.get(f"/images/{image['id']}/file").status_code == 204  # no data yet
    other = client(memory_api, "bob:elsewhere", prefix="/image/v2")
    fault(other.get(f"/images/{image['id']}"), 404, f"No image found with ID {image['id']}")


def test_image_discovery_and_schemas(memory_api) -> None:
    http = client(memory_api, "alice:demo", prefix="")
    listed = http.get("/image")
    assert listed.status_code == 300 and listed.json()["versions"][0]["links"][0]["href"] == "http://testserver/image/v2/"
    assert http.get("/image/").status_code == 300
    assert http.get("/image/versions").json()["versions"][0]["id"] == "v2.16"
    assert http.get("/image/v2/schemas/image").json()["name"] == "image"
    assert http.get("/image/v2/schemas/images").json()["name"] == "images"


def test_under_keystone_a_server_boots_only_a_catalog_image(keystone) -> None:
    adam, alice = client(keystone, token(keystone, "adam")), client(keystone, token(keystone, "alice"))
    flavor(adam)
    boot = {"name": "x", "flavorRef": "2", "imageRef": "cirros"}
    fault(alice.post("/servers", json={"server": boot}), 400, "Image cirros could not be found.")
    glance = client(keystone, token(keystone, "adam"), prefix="/image/v2")
    image = glance.post("/images", json={**CIRROS, "visibility": "public"}).json()
    glance.put(f"/images/{image['id']}/file", content=b"bits", headers={"Content-Type": "application/octet-stream"})
    booted = alice.post("/servers", json={"server": {**boot, "imageRef": image["id"]}})
    assert booted.status_code == 202, booted.text
    assert alice.get(f"/servers/{booted.json()['server']['id']}").json()["server"]["image"]["id"] == image["id"]


# --- identity: the admin reads ------------------------------------------------------------


def identity_client(backend, user: str):
    return client(backend, token=token(backend, user), prefix="/identity/v3")


def test_an_admin_lists_and_shows_users_and_projects(keystone) -> None:
    http = identity_client(keystone, "adam")
    demo = keystone.cache.project_named("default", "demo")
    alice = keystone.cache.user_named("default", "alice")

    users = http.get("/users")
    projects = http.get("/projects")

    assert users.status_code == 200, users.text
    assert [u["name"] for u in users.json()["users"]] == ["adam", "alice", "rita"]
    assert users.json()["links"] == {"self": "http://testserver/identity/v3/users", "previous": None, "next": None}
    assert [p["name"] for p in projects.json()["projects"]] == ["demo"]
    assert http.get("/users", params={"name": "rita"}).json()["users"][0]["name"] == "rita"
    assert http.get("/projects", params={"name": "nope"}).json()["projects"] == []
    assert http.get(f"/users/{alice.user_id}").json()["user"] == {
        "id": alice.user_id, "name": "alice", "domain_id": "default", "enabled": True, "password_expires_at": None, "options": {},
        "default_project_id": demo.project_id, "links": {"self": f"http://testserver/identity/v3/users/{alice.user_id}"},
    }
    assert http.get(f"/projects/{demo.project_id}").json()["project"] == {
        "id": demo.project_id, "name": "demo", "domain_id": "default", "description": None, "enabled": True, "parent_id": "default",
        "is_domain": False, "tags": [], "options": {}, "links": {"self": f"http://testserver/identity/v3/projects/{demo.project_id}"},
    }
    missing = http.get("/users/nobody")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Could not find user: nobody."
    assert http.get("/projects/nowhere").status_code == 404


@pytest.mark.parametrize("path", ["/users", "/projects", "/role_assignments"])
@pytest.mark.parametrize("user", ["alice", "rita"])
def test_a_member_or_reader_may_not_list_the_identity_store(keystone, user: str, path: str) -> None:
    resp = identity_client(keystone, user).get(path)

    rule = {"/users": "list_users", "/projects": "list_projects", "/role_assignments": "list_role_assignments"}[path]
    assert resp.status_code == 403
    assert resp.json() == {"error": {"code": 403, "title": "Forbidden", "message": f"You are not authorized to perform the requested action: identity:{rule}."}}


def test_a_user_reads_itself_and_its_project_but_no_other(keystone) -> None:
    http = identity_client(keystone, "alice")
    alice, rita = keystone.cache.user_named("default", "alice"), keystone.cache.user_named("default", "rita")
    demo = keystone.cache.project_named("default", "demo")

    assert http.get(f"/users/{alice.user_id}").status_code == 200
    assert http.get(f"/projects/{demo.project_id}").status_code == 200
    assert http.get(f"/users/{rita.user_id}").status_code == 403
    assert client(keystone, token=None, prefix="/identity/v3").get("/users").status_code == 401


def test_role_assignments_filter_by_user_project_and_role(keystone) -> None:
    http = identity_client(keystone, "adam")
    alice = keystone.cache.user_named("default", "alice")
    demo = keystone.cache.project_named("default", "demo")
    admin_role, member_role = (http.get("/auth/tokens", headers={"X-Subject-Token": token(keystone, u)}).json()["token"]["roles"] for u in ("adam", "alice"))
    member_id = next(r["id"] for r in member_role if r["name"] == "member")
    admin_id = next(r["id"] for r in admin_role if r["name"] == "admin")

    every = http.get("/role_assignments").json()["role_assignments"]
    alices = http.get("/role_assignments", params={"user.id": alice.user_id}).json()["role_assignments"]
    members = http.get("/role_assignments", params={"role.id": member_id, "scope.project.id": demo.project_id}).json()["role_assignments"]
    effective_admins = http.get("/role_assignments", params={"user.id": keystone.cache.user_named("default", "adam").user_id, "effective": ""}).json()

    assert len(every) == 3  # adam admin, alice member, rita reader: direct assignments only
    assert alices == [{
        "role": {"id": member_id}, "user": {"id": alice.user_id}, "scope": {"project": {"id": demo.project_id}},
        "links": {"assignment": f"http://testserver/identity/v3/projects/{demo.project_id}/users/{alice.user_id}/roles/{member_id}"},
    }]
    assert [a["user"]["id"] for a in members] == [alice.user_id]
    assert {a["role"]["id"] for a in effective_admins["role_assignments"]} == {admin_id, member_id, next(
        r["id"] for r in admin_role if r["name"] == "reader")}  # admin implies member implies reader
    named = http.get("/role_assignments", params={"user.id": alice.user_id, "include_names": "true"}).json()["role_assignments"]
    assert named[0]["role"] == {"id": member_id, "name": "member"}
    assert named[0]["user"] == {"id": alice.user_id, "name": "alice", "domain": {"id": "default", "name": "Default"}}
    assert named[0]["scope"]["project"] == {"id": demo.project_id, "name": "demo", "domain": {"id": "default", "name": "Default"}}
