"""Password authentication and the token check over real identity rows and keys (no HTTP, no broker)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from builders import NOW, build_project_state, build_user_state
from novalog.api.faults import Unauthorized
from novalog.api.identity import views as keystone_views
from novalog.api.identity.auth import IdentityService
from novalog.api.identity.keystone import KeystoneError, parse_auth
from novalog.api.identity.passwords import hash_password
from novalog.api.identity.token_keys import KeyRepository, KeyRing

PASSWORD = "alice-pass"
HASH = hash_password(PASSWORD)


def rows() -> dict[str, Any]:
    demo, other = build_project_state("demo", "p-demo"), build_project_state("other", "p-other")
    alice = build_user_state("alice", "u-alice", password_hash=HASH, default_project_id="p-demo", roles={"p-demo": ["member"]})
    root = build_user_state("root", "u-root", password_hash=HASH, roles={"p-other": ["admin"]})
    return {"project:default:demo": demo, "project:default:other": other, "user:default:alice": alice, "user:default:root": root}


def password_body(user: dict[str, Any], password: str = PASSWORD, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {**user, "password": password}}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


ALICE = {"name": "alice", "domain": {"name": "Default"}}
DEMO = {"project": {"name": "demo", "domain": {"id": "default"}}}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path: Path, clock: Clock) -> IdentityService:
    repo = KeyRepository(tmp_path / "keys")
    repo.setup()
    return IdentityService(KeyRing(repo), rows(), token_expiration=600, strategy="keystone", clock=clock)


def test_a_project_scoped_token_names_the_user_the_project_and_the_implied_roles(service: IdentityService) -> None:
    token, claims, grant = service.issue(password_body(ALICE, scope=DEMO))

    body = keystone_views.token_body("http://api", claims, grant)["token"]
    assert (claims.user_id, claims.project_id, claims.roles) == ("u-alice", "p-demo", ("member", "reader"))
    assert body["project"] == {"id": "p-demo", "name": "demo", "domain": {"id": "default", "name": "Default"}}
    assert [r["name"] for r in body["roles"]] == ["member", "reader"]
    assert (body["issued_at"], body["expires_at"]) == ("2024-01-01T12:00:00.000000Z", "2024-01-01T12:10:00.000000Z")
    assert body["methods"] == ["password"] and body["audit_ids"] == [claims.audit_id]
    compute = next(s for s in body["catalog"] if s["type"] == "compute")
    assert {(e["interface"], e["url"], e["region"]) for e in compute["endpoints"]} == {
        ("public", "http://api/v2.1", "RegionOne"), ("internal", "http://api/v2.1", "RegionOne"), ("admin", "http://api/v2.1", "RegionOne"),
    }
    assert {s["type"] for s in body["catalog"]} == {"compute", "image", "identity"}
    assert service.validate(token)[0] == claims


def test_scope_by_project_id_and_user_by_id(service: IdentityService) -> None:
    _, claims, _ = service.issue(password_body({"id": "u-alice"}, scope={"project": {"id": "p-demo"}}))

    assert claims.project_id == "p-demo"


def test_without_a_scope_the_default_project_is_used_when_the_user_has_a_role_there(service: IdentityService) -> None:
    _, claims, _ = service.issue(password_body(ALICE))

    assert claims.project_id == "p-demo"


def test_without_a_scope_or_default_project_the_token_is_unscoped_without_a_catalog(service: IdentityService) -> None:
    token, claims, grant = service.issue(password_body({"name": "root", "domain": {"id": "default"}}))

    body = keystone_views.token_body("http://api", claims, grant)["token"]
    assert claims.project_id is None and "catalog" not in body and "project" not in body
    with pytest.raises(Unauthorized):  # the compute API wants a project
        service.context(token, "req-1")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(password_body(ALICE, "wrong"), 401, id="wrong-password"),
        pytest.param(password_body({"name": "mallory", "domain": {"name": "Default"}}), 401, id="unknown-user"),
        pytest.param(password_body({"name": "alice", "domain": {"name": "Other"}}), 401, id="unknown-domain"),
        pytest.param(password_body(ALICE, scope={"project": {"name": "other", "domain": {"name": "Default"}}}), 401, id="no-role-there"),
        pytest.param(password_body(ALICE, scope={"project": {"name": "nope", "domain": {"name": "Default"}}}), 401, id="unknown-project"),
        pytest.param(password_body(ALICE, scope={"domain": {"id": "default"}}), 401, id="domain-scope"),
        pytest.param({"auth": {"identity": {"methods": ["totp"]}}}, 401, id="unsupported-method"),
        pytest.param({"auth": {}}, 400, id="no-identity"),
        pytest.param([], 400, id="not-an-object"),
        pytest.param({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice"}}}}}, 400, id="no-password"),
    ],
)
def test_refusals_are_keystone_errors(service: IdentityService, body: Any, status: int) -> None:
    with pytest.raises(KeystoneError) as caught:
        service.issue(body)

    assert caught.value.status == status
    assert caught.value.body()["error"]["code"] == status
    assert caught.value.body()["error"]["title"] == {400: "Bad Request", 401: "Unauthorized"}[status]


def test_the_compute_context_carries_the_project_and_roles(service: IdentityService) -> None:
    token, _, _ = service.issue(password_body(ALICE, scope=DEMO))

    ctx = service.context(token, "req-1")

    assert (ctx.user_id, ctx.project_id, ctx.roles, ctx.is_admin) == ("u-alice", "p-demo", ("member", "reader"), False)


def test_an_expired_token_is_refused_by_the_compute_context_and_by_validation(service: IdentityService, clock: Clock) -> None:
    token, _, _ = service.issue(password_body(ALICE, scope=DEMO))
    clock.now = NOW + timedelta(seconds=600)

    with pytest.raises(Unauthorized):
        service.context(token, "req-1")
    with pytest.raises(KeystoneError) as caught:
        service.validate(token, status=404)
    assert caught.value.status == 404


@pytest.mark.parametrize("token", [None, "", "alice:demo", "admin:admin", "gAAAAABforged"])
def test_keystone_mode_trusts_no_development_token(service: IdentityService, token: str | None) -> None:
    with pytest.raises(Unauthorized):
        service.context(token, "req-1")


def test_noauth2_trusts_user_project_and_still_reads_real_tokens(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "keys")
    repo.setup()
    dev = IdentityService(KeyRing(repo), rows(), strategy="noauth2", clock=lambda: NOW)
    token, _, _ = dev.issue(password_body(ALICE, scope=DEMO))

    assert dev.context("admin:admin", "r").is_admin
    assert (dev.context("bob:proj", "r").user_id, dev.context("bob:proj", "r").project_id) == ("bob", "proj")
    assert dev.context(token, "r").project_id == "p-demo"


def test_a_removed_role_counts_at_once_for_tokens_already_issued(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "keys")
    repo.setup()
    table = rows()
    service = IdentityService(KeyRing(repo), table, clock=lambda: NOW)
    token, _, _ = service.issue(password_body(ALICE, scope=DEMO))

    table["user:default:alice"] = build_user_state("alice", "u-alice", password_hash=HASH, roles={})

    with pytest.raises(Unauthorized):
        service.context(token, "req-1")


def test_a_token_can_be_rescoped_within_its_project_but_not_out_of_it(service: IdentityService) -> None:
    token, _, _ = service.issue(password_body(ALICE, scope=DEMO))
    by_token = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}, "scope": DEMO}}

    assert service.issue(by_token)[1].project_id == "p-demo"
    with pytest.raises(KeystoneError):
        service.issue({**by_token, "auth": {**by_token["auth"], "scope": {"project": {"id": "p-other"}}}})


def test_parse_reads_clouds_yaml_style_requests() -> None:
    request = parse_auth(password_body(ALICE, scope=DEMO))

    assert (request.user_name, request.project_name, request.scoped) == ("alice", "demo", True)


def test_without_keys_issuing_is_unavailable(tmp_path: Path) -> None:
    service = IdentityService(KeyRing(KeyRepository(tmp_path / "none")), rows())

    with pytest.raises(KeystoneError) as caught:
        service.issue(password_body(ALICE, scope=DEMO))
    assert caught.value.status == 503
