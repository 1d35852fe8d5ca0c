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
