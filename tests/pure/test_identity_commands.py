"""The identity command builders: one event per request, keyed by the name it is about; bad names and roles refused."""

from __future__ import annotations

import pytest

from builders import build_project_state, build_user_state
from novalog.api.identity import commands
from novalog.events import topics
from novalog.events.types import ProjectCreated, RoleAssigned, RoleUnassigned, UserCreated


def test_a_project_is_created_under_its_name_with_a_fresh_keystone_style_id() -> None:
    out = commands.create_project("demo", "the demo project")

    assert (out.topic, out.key) == (topics.IDENTITY_EVENTS, "project:default:demo")
    assert isinstance(out.record, ProjectCreated) and len(out.record.project_id) == 32
    assert commands.create_project("demo").record.project_id != out.record.project_id


def test_a_user_is_created_with_the_hash_it_is_given() -> None:
    out = commands.create_user("alice", "$argon2id$hash", "p-demo")

    assert out.key == "user:default:alice"
    assert isinstance(out.record, UserCreated)
    assert (out.record.password_hash, out.record.default_project_id) == ("$argon2id$hash", "p-demo")


def test_role_changes_are_keyed_by_the_user_and_name_the_project_by_id() -> None:
    user, project = build_user_state("alice", "u-alice"), build_project_state("demo", "p-demo")

    given, taken = commands.assign_role(user, project, "reader"), commands.unassign_role(user, project, "reader")

    assert given.key == taken.key == "user:default:alice"
    assert isinstance(given.record, RoleAssigned) and isinstance(taken.record, RoleUnassigned)
    assert (given.record.user_id, given.record.project_id, given.record.role) == ("u-alice", "p-demo", "reader")


@pytest.mark.parametrize("role", ["owner", "Admin", ""])
def test_only_the_known_roles_are_given(role: str) -> None:
    with pytest.raises(commands.InvalidIdentityRequest):
        commands.assign_role(build_user_state(), build_project_state(), role)


@pytest.mark.parametrize("name", ["", " ", " demo", "x" * 256])
def test_names_must_be_plain(name: str) -> None:
    with pytest.raises(commands.InvalidIdentityRequest):
        commands.create_project(name)
    with pytest.raises(commands.InvalidIdentityRequest):
        commands.create_user(name, "$argon2id$hash")
