"""Nova's default rules through oslo.policy: each role against each rule, on its own project's resources and another's."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from novalog.api.context import RequestContext
from novalog.api.faults import Forbidden
from novalog.api.policy import ACTION_RULES, ADMIN, ANYONE, API_RULES, MEMBER, OWNER, READER, Policy

# Keystone's implied roles: admin implies member implies reader.
ROLES = {"admin": ("admin", "member", "reader"), "member": ("member", "reader"), "reader": ("reader",), "none": ()}
LEVEL = {ADMIN: {"admin"}, MEMBER: {"admin", "member"}, READER: {"admin", "member", "reader"}}


def caller(role: str, project: str = "p1") -> RequestContext:
    return RequestContext(user_id=f"{role}-user", project_id=project, roles=ROLES[role], request_id="req-1")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy()


@pytest.mark.parametrize("rule", sorted(API_RULES))
@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("owner", ["own", "other"])
def test_the_default_matrix(policy: Policy, rule: str, role: str, owner: str) -> None:
    target = {"project_id": "p1" if owner == "own" else "p2", "user_id": "someone"}
    # Admin rules and the admin role reach every project; member and reader rules only their own.
    if API_RULES[rule] == ANYONE:  # limits, quota defaults, the zone list: every caller
        expected = True
    elif API_RULES[rule] == OWNER:  # a user's own resources (key pairs): the user, whatever the role, or an admin
        expected = role == "admin"  # the target's user is never the caller here; the owner is test_owner_rules'
    else:
        expected = role in LEVEL[API_RULES[rule]] and (owner == "own" or role == "admin")

    assert policy.allowed(rule, caller(role), target) is expected


@pytest.mark.parametrize("rule", sorted(r for r, check in API_RULES.items() if check == OWNER))
@pytest.mark.parametrize("role", sorted(ROLES))
def test_owner_rules(policy: Policy, rule: str, role: str) -> None:
    # The owner passes with any role (or none), in any project; nobody else but an admin.
    assert policy.allowed(rule, caller(role, "p9"), {"project_id": "p1", "user_id": f"{role}-user"})
    assert policy.allowed(rule, caller(role), {"project_id": "p1", "user_id": "someone"}) is (role == "admin")


def test_every_server_action_has_a_rule(policy: Policy) -> None:
    assert set(ACTION_RULES.values()) <= set(API_RULES)
    assert API_RULES[ACTION_RULES["evacuate"]] == ADMIN and API_RULES[ACTION_RULES["resize"]] == MEMBER


def test_a_refusal_is_nova_403(policy: Policy) -> None:
    with pytest.raises(Forbidden) as refused:
        policy.authorize("os_compute_api:os-services:list", caller("member"))
    assert (refused.value.status, refused.value.message) == (403, "Policy doesn't allow os_compute_api:os-services:list to be performed.")


def test_an_unknown_rule_is_a_programming_error(policy: Policy) -> None:
    with pytest.raises(KeyError):
        policy.allowed("os_compute_api:nonsense", caller("admin"))


def test_a_policy_file_overrides_a_default_and_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"os_compute_api:os-hypervisors:list": "role:reader"\n')
    overridden = Policy(path)
    assert overridden.allowed("os_compute_api:os-hypervisors:list", caller("reader"))
    assert not overridden.allowed("os_compute_api:os-services:list", caller("reader"))  # untouched default

    time.sleep(0.01)
    path.write_text('"os_compute_api:os-hypervisors:list": "!"\n')  # nobody
    future = time.time() + 5

    os.utime(path, (future, future))
    assert not overridden.allowed("os_compute_api:os-hypervisors:list", caller("admin"))
