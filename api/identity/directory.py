"""Keystone's admin reads of the identity table, decided over its rows: users, projects and role assignments.

Pure: the rows, the caller's grant and the query are arguments; the shapes
are Keystone v3's (`{"users": [...], "links": {...}}`, each entity with its
`links.self`). Only the Default domain exists, every user and project is
enabled, and roles are Keystone's three defaults (ids as the token body
names them: views.role_ref).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from novalog.api.identity import keystone
from novalog.api.identity.keystone import Grant, KeystoneError
from novalog.api.identity.views import DOMAIN, role_ref
from novalog.events.identity import ROLES, effective_roles
from novalog.events.state import ProjectState, UserState


def authorize(grant: Grant, rule: str, owner: bool = False) -> None:
    """Keystone's defaults for these reads: an admin, or (`owner`) the user or project the caller's token is for; else 403."""
    if "admin" not in grant.roles and not owner:
        raise KeystoneError(403, f"You are not authorized to perform the requested action: identity:{rule}.")


def collection(name: str, self_url: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Keystone list: the entities and the links (one page: no previous, no next)."""
    return {name: items, "links": {"self": self_url, "previous": None, "next": None}}


def user_view(base: str, user: UserState) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": user.user_id, "name": user.name, "domain_id": user.domain_id, "enabled": True,
        "password_expires_at": None, "options": {}, "links": {"self": f"{base}/identity/v3/users/{user.user_id}"},
    }
    if user.default_project_id:
        view["default_project_id"] = user.default_project_id
    return view


def project_view(base: str, project: ProjectState) -> dict[str, Any]:
    return {
        "id": project.project_id, "name": project.name, "domain_id": project.domain_id, "description": project.description,
        "enabled": True, "parent_id": project.domain_id, "is_domain": False, "tags": [], "options": {},
        "links": {"self": f"{base}/identity/v3/projects/{project.project_id}"},
    }


def matching(rows: Iterable[Any], name: str | None, domain_id: str | None) -> list[Any]:
    """Keystone's `name` and `domain_id` list filters (exact match), by name."""
    return sorted((r for r in rows if (name is None or r.name == name) and (domain_id is None or r.domain_id == domain_id)), key=lambda r: r.name)


def find_user(rows: Mapping[str, Any], user_id: str) -> UserState:
    user = keystone.user_by_id(rows, user_id)
    if user is None:
        raise KeystoneError(404, f"Could not find user: {user_id}.")
    return user


def find_project(rows: Mapping[str, Any], project_id: str) -> ProjectState:
    project = keystone.project_by_id(rows, project_id)
    if project is None:
        raise KeystoneError(404, f"Could not find project: {project_id}.")
    return project


@dataclass(frozen=True, slots=True)
class AssignmentQuery:
    """GET /v3/role_assignments's filters: `user.id`, `scope.project.id`, `role.id`; `effective` adds implied roles."""

    user_id: str | None = None
    project_id: str | None = None
    role_id: str | None = None
    effective: bool = False
    include_names: bool = False


def role_assignments(base: str, rows: Mapping[str, Any], query: AssignmentQuery) -> list[dict[str, Any]]:
    """Every (user, project, role) the query selects, as Keystone lists them: direct assignments, or with `effective` the implied ones too."""
    projects = {p.project_id: p for p in keystone.projects(rows)}
    found: list[dict[str, Any]] = []
    for user in sorted(keystone.users(rows), key=lambda u: u.name):
        if query.user_id is not None and user.user_id != query.user_id:
            continue
        for project_id, given in sorted(user.roles.items()):
            if query.project_id is not None and project_id != query.project_id:
                continue
            roles = effective_roles(given) if query.effective else tuple(r for r in ROLES if r in given)
            for role in roles:
                if query.role_id is None or role_ref(role)["id"] == query.role_id:
                    found.append(_assignment(base, user, project_id, projects.get(project_id), role, query))
    return found


def _assignment(base: str, user: UserState, project_id: str, project: ProjectState | None, role: str, query: AssignmentQuery) -> dict[str, Any]:
    ref = role_ref(role)
    entry: dict[str, Any] = {
        "role": {"id": ref["id"]}, "user": {"id": user.user_id}, "scope": {"project": {"id": project_id}},
        "links": {"assignment": f"{base}/identity/v3/projects/{project_id}/users/{user.user_id}/roles/{ref['id']}"},
    }
    if query.include_names:
        entry["role"]["name"] = role
        entry["user"].update(name=user.name, domain=DOMAIN)
        entry["scope"]["project"].update(name=project.name if project else "", domain=DOMAIN)
    return entry


def parse_flag(value: str | None) -> bool:
    """Keystone's query flags: present with no value, or a true value, is true."""
    return value is not None and value.lower() not in ("0", "false", "no", "off")
