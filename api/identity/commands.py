"""Pure command builders for the identity store: a validated request in, the event to append out.

Passwords arrive here already hashed; only the hash is ever recorded.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from novalog.events.identity import DEFAULT_DOMAIN_ID, ROLES, project_key, user_key
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import ProjectState, UserState
from novalog.events.types.identity import ProjectCreated, RoleAssigned, RoleUnassigned, TokenRevoked, UserCreated, UserPasswordChanged

PRODUCER = "novalog-identity"


class InvalidIdentityRequest(ValueError):
    """A name or role the identity store does not take."""


def _name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or name != name.strip():
        raise InvalidIdentityRequest(f"invalid {what} name {name!r}: 1 to 255 characters, no surrounding spaces")
    return name


def _role(role: str) -> str:
    if role not in ROLES:
        raise InvalidIdentityRequest(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def _envelope(event_class: type) -> Envelope:
    return Envelope.new(event_class, PRODUCER)


def create_project(name: str, description: str | None = None) -> Outbound:
    event = ProjectCreated(_envelope(ProjectCreated), uuid.uuid4().hex, _name(name, "project"), DEFAULT_DOMAIN_ID, description)
    return Outbound.event(project_key(DEFAULT_DOMAIN_ID, name), event)


def create_user(name: str, password_hash: str, default_project_id: str | None = None) -> Outbound:
    event = UserCreated(_envelope(UserCreated), uuid.uuid4().hex, _name(name, "user"), DEFAULT_DOMAIN_ID, password_hash, default_project_id)
    return Outbound.event(user_key(DEFAULT_DOMAIN_ID, name), event)


def change_password(user: UserState, password_hash: str) -> Outbound:
    event = UserPasswordChanged(_envelope(UserPasswordChanged), user.user_id, user.name, user.domain_id, password_hash)
    return Outbound.event(user_key(user.domain_id, user.name), event)


def assign_role(user: UserState, project: ProjectState, role: str) -> Outbound:
    event = RoleAssigned(_envelope(RoleAssigned), user.user_id, user.name, user.domain_id, project.project_id, _role(role))
    return Outbound.event(user_key(user.domain_id, user.name), event)


def unassign_role(user: UserState, project: ProjectState, role: str) -> Outbound:
    event = RoleUnassigned(_envelope(RoleUnassigned), user.user_id, user.name, user.domain_id, project.project_id, _role(role))
    return Outbound.event(user_key(user.domain_id, user.name), event)


def revoke_token(user: UserState, audit_id: str, expires_at: datetime, request_id: str | None = None) -> Outbound:
    """Revoke the user's token of this audit id until the token's own expiry (then the revocation has nothing left to refuse)."""
    event = TokenRevoked(Envelope.new(TokenRevoked, PRODUCER, request_id=request_id), user.user_id, user.name, user.domain_id, audit_id, expires_at)
    return Outbound.event(user_key(user.domain_id, user.name), event)
