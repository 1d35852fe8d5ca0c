"""Identity end to end, in keystone mode: the `novalog` identity commands, Keystone v3 tokens, and the real clients.

One stack (its own topic prefix, key directory and API port) serves every
test here; the users are made with the `novalog` command as an operator
would, and the clients (openstacksdk, the `openstack` CLI, `nova`) find the
compute API through the token's catalog, from an ordinary clouds.yaml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from identity_harness import ADMIN_PASSWORD, ALICE_PASSWORD, Identity, keystone_stack, novalog, ok
from novalog.api.identity.tokens import new_claims, seal
from novalog.demo import ComputeClient
from novalog.events.records import utcnow
from novalog.stack import LocalStack
from stack_harness import SMALL_FLAVOR, free_port, wait_until

HOSTS = [("idn1", 4, 8192, 80), ("idn2", 4, 8192, 80)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def identity(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    with keystone_stack(kafka_bootstrap, tmp_path_factory.mktemp("identity"), HOSTS) as env:
        yield env


def test_the_identity_commands_are_idempotent_where_they_should_be_and_refuse_taken_names(identity: Identity) -> None:
    again = novalog(identity.settings, "identity", "bootstrap", "--admin-password", ADMIN_PASSWORD)
    project = novalog(identity.settings, "project", "create", "demo")
    user = novalog(identity.settings, "user", "create", "alice", "--password", "another-one")

    assert ok(again).strip() == "identity already bootstrapped"
    assert project.returncode == 1 and "project 'demo' already exists" in project.stderr
    assert user.returncode == 1 and "user 'alice' already exists" in user.stderr
    # The refused create did not touch alice's password.
    assert identity.post_token("alice", ALICE_PASSWORD).status_code == 201
    assert identity.post_token("alice", "another-one").status_code == 401


def test_discovery_answers_as_keystone_v3(identity: Identity) -> None:
    root = httpx.get(f"{identity.url}/identity", timeout=10)
    v3 = httpx.get(f"{identity.url}/identity/v3", timeout=10)

    assert root.status_code == 300 and root.json()["versions"]["values"][0]["id"] == "v3.14"
    assert v3.status_code == 200
    assert v3.json()["version"]["links"] == [{"rel": "self", "href": f"{identity.url}/identity/v3/"}]


def test_a_password_token_is_201_with_the_subject_token_header_and_a_catalog(identity: Identity) -> None:
    resp = identity.post_token("alice", ALICE_PASSWORD)

    assert resp.status_code == 201, resp.text
    token = resp.headers["X-Subject-Token"]
    body = resp.json()["token"]
    assert body["user"]["name"] == "alice" and body["project"]["name"] == "demo"
    assert sorted(r["name"] for r in body["roles"]) == ["member", "reader"]
    compute = next(s for s in body["catalog"] if s["type"] == "compute")
    assert {e["url"] for e in compute["endpoints"]} == {f"{identity.url}/v2.1"}
    assert any(s["type"] == "image" for s in body["catalog"])

    check = httpx.get(f"{identity.url}/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=10)
    assert check.status_code == 200 and check.json()["token"]["audit_ids"] == body["audit_ids"]
    head = httpx.head(f"{identity.url}/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": "forged"}, timeout=10)
    assert head.status_code == 404
    assert identity.compute(token).status_code == 200


@pytest.mark.parametrize(("user", "password"), [("alice", "wrong-password"), ("nobody", ALICE_PASSWORD)], ids=["wrong-password", "unknown-user"])
def test_a_wrong_password_is_401_with_a_keystone_body(identity: Identity, user: str, password: str) -> None:
    resp = identity.post_token(user, password)

    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
    assert "X-Subject-Token" not in resp.headers


def test_the_compute_api_refuses_forged_altered_and_development_tokens(identity: Identity) -> None:
    real = identity.token()
    foreign_key = MultiFernet([Fernet(Fernet.generate_key())])
    forged = seal(foreign_key, new_claims("any", "any", ("admin", "member", "reader"), ("password",), utcnow(), 3600))
    altered = real[:-6] + ("AAAAAA" if not real.endswith("AAAAAA") else "BBBBBB")

    for token in (forged, altered, "admin:admin", "alice:demo"):
        resp = identity.compute(token)
        assert resp.status_code == 401, (token, resp.text)
        assert resp.json()["unauthorized"]["code"] == 401
    assert identity.compute(real).status_code == 200


def test_a_member_is_not_an_admin_and_a_removed_role_counts_at_once(identity: Identity) -> None:
    ok(novalog(identity.settings, "user", "create", "bob", "--password", "bob-secret-1", "--project", "demo", "--role", "reader"))
    token = identity.token("bob", "bob-secret-1")

    assert identity.compute(token, "/os-hypervisors").status_code == 403
    assert identity.compute(token).status_code == 200
    ok(novalog(identity.settings, "role", "remove", "--user", "bob", "--project", "demo", "reader"))
    assert identity.compute(token).status_code == 401
    assert identity.post_token("bob", "bob-secret-1").status_code == 401


def test_openstacksdk_boots_lists_and_deletes_a_server_from_clouds_yaml(identity: Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    import openstack

    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(identity.clouds_yaml()))
    conn = openstack.connect(cloud="novalog")
    try:
        flavor = conn.compute.find_flavor(SMALL_FLAVOR["name"], ignore_missing=False)
        assert flavor.id == SMALL_FLAVOR["id"]
        image = conn.image.find_image("cirros", ignore_missing=False)
        server = conn.compute.create_server(name="sdk-vm", flavor_id=flavor.id, image_id=image.id)
        server = conn.compute.wait_for_server(server, status="ACTIVE", interval=1, wait=120)
        listed = {s.id: s for s in conn.compute.servers()}
        assert listed[server.id].name == "sdk-vm" and listed[server.id].status == "ACTIVE"
        assert listed[server.id].project_id == conn.current_project_id
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=1, wait=120)
        assert server.id not in {s.id for s in conn.compute.servers()}
    finally:
        conn.close()


def test_the_openstack_cli_and_nova_list_servers_from_the_catalog(identity: Identity) -> None:
    client = ComputeClient(identity.url, identity.token())
    server_id = client.boot("cli-vm", SMALL_FLAVOR["id"], image=identity.image_id)
    wait_until(lambda: (client.show(server_id) or {}).get("status") == "ACTIVE", 60, "cli-vm ACTIVE")

    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}
    cli = subprocess.run([str(BIN / "openstack"), "--os-cloud", "novalog", "server", "list", "-f", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert {(s["ID"], s["Name"], s["Status"]) for s in json.loads(cli.stdout)} >= {(server_id, "cli-vm", "ACTIVE")}

    nova_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OS_")},
        "OS_AUTH_URL": f"{identity.url}/identity/v3", "OS_USERNAME": "alice", "OS_PASSWORD": ALICE_PASSWORD,
        "OS_PROJECT_NAME": "demo", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
    }
    nova = subprocess.run([str(BIN / "nova"), "list"], env=nova_env, capture_output=True, text=True, timeout=120)
    assert nova.returncode == 0, nova.stderr[-3000:]
    assert server_id in nova.stdout and "cli-vm" in nova.stdout and "ACTIVE" in nova.stdout
    client.delete(server_id)


def revoke(url: str, caller: str, subject: str) -> httpx.Response:
    return httpx.delete(f"{url}/identity/v3/auth/tokens", headers={"X-Auth-Token": caller, "X-Subject-Token": subject}, timeout=30)


def test_a_token_revoked_through_one_api_process_is_refused_by_another(identity: Identity) -> None:
    second = LocalStack(identity.settings.model_copy(update={"api_port": free_port()}))
    second.start("api-second", "api")
    try:
        second.wait_api(60)
        doomed, kept = identity.token(), identity.token()
        other_url = second.api_url
        wait_until(lambda: identity.compute(doomed).status_code == 200 and httpx.get(
            f"{other_url}/v2.1/servers", headers={"X-Auth-Token": doomed}, timeout=30).status_code == 200, 30, "both APIs take the token")

        assert revoke(identity.url, doomed, doomed).status_code == 204
        assert identity.compute(doomed).status_code == 401  # at once where it was revoked
        wait_until(lambda: httpx.get(f"{other_url}/v2.1/servers", headers={"X-Auth-Token": doomed}, timeout=30).status_code == 401,
                   15, "the other API process refuses the revoked token")
        check = httpx.get(f"{other_url}/identity/v3/auth/tokens", headers={"X-Auth-Token": kept, "X-Subject-Token": doomed}, timeout=30)
        assert check.status_code == 404 and check.json()["error"]["code"] == 404
        assert httpx.get(f"{other_url}/v2.1/servers", headers={"X-Auth-Token": kept}, timeout=30).status_code == 200
    finally:
        second.stop("api-second")


def test_openstack_token_revoke_revokes_the_token(identity: Identity) -> None:
    doomed = identity.token()
    assert identity.compute(doomed).status_code == 200
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}

    cli = subprocess.run([str(BIN / "openstack"), "--os-cloud", "novalog", "token", "revoke", doomed], env=env, capture_output=True, text=True, timeout=120)

    assert cli.returncode == 0, cli.stderr[-3000:]
    assert identity.compute(doomed).status_code == 401
    assert identity.compute(identity.token()).status_code == 200


def openstack(identity: Identity, cloud: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}
    return subprocess.run([str(BIN / "openstack"), "--os-cloud", cloud, *args, "-f", "json"], env=env, capture_output=True, text=True, timeout=120)


def test_the_openstack_cli_lists_users_projects_and_role_assignments_for_an_admin_only(identity: Identity) -> None:
    users = openstack(identity, "novalog-admin", "user", "list")
    projects = openstack(identity, "novalog-admin", "project", "list")
    assignments = openstack(identity, "novalog-admin", "role", "assignment", "list", "--names", "--project", "demo")

    assert users.returncode == 0, users.stderr[-3000:]
    assert {u["Name"] for u in json.loads(users.stdout)} >= {"admin", "alice"}
    assert projects.returncode == 0, projects.stderr[-3000:]
    assert {p["Name"] for p in json.loads(projects.stdout)} >= {"admin", "demo"}
    assert assignments.returncode == 0, assignments.stderr[-3000:]
    assert {(a["Role"], a["User"], a["Project"]) for a in json.loads(assignments.stdout)} >= {("member", "alice@Default", "demo@Default")}
    refused = openstack(identity, "novalog", "user", "list")
    assert refused.returncode != 0 and "identity:list_users" in refused.stderr and "403" in refused.stderr, refused.stderr[-3000:]


def test_rotation_keeps_issued_tokens_valid_and_seals_new_ones_with_the_new_key(identity: Identity) -> None:
    before = identity.token()
    ok(novalog(identity.settings, "token-keys", "rotate"))
    after = identity.token()

    assert identity.compute(before).status_code == 200
    assert identity.compute(after).status_code == 200
    keys = sorted(int(p.name) for p in identity.settings.token_keys().iterdir() if p.name.isdigit())
    assert keys == [1, 2]
    # Without key 1 (as if rotated out), the token it sealed is refused; the new one still works.
    (identity.settings.token_keys() / "1").unlink()
    assert identity.compute(before).status_code == 401
    assert identity.compute(after).status_code == 200


def test_an_expired_token_is_refused_with_401(identity: Identity) -> None:
    identity.restart_api(token_expiration=2)
    try:
        resp = identity.post_token("alice", ALICE_PASSWORD)
        token = resp.headers["X-Subject-Token"]
        assert identity.compute(token).status_code == 200
        time.sleep(2.5)
        expired = identity.compute(token)
        assert expired.status_code == 401 and expired.json()["unauthorized"]["code"] == 401
        check = httpx.get(f"{identity.url}/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=10)
        assert check.status_code == 401 and check.json()["error"]["title"] == "Unauthorized"
    finally:
        identity.restart_api(token_expiration=3600)
