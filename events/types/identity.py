"""The identity family: projects, users, role assignments and token revocations.

On identity.events, keyed by name: `project:<domain>:<name>`, `user:<domain>:<name>`.
Keyed by name, so one writer folds every event of a name: a second create
of the same name meets the first and is refused (projections/identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, get_args

from novalog.events.records import Envelope


@dataclass(frozen=True, slots=True)
class ProjectCreated:
    """An admin created a project (Keystone's tenant) in a domain."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    project_id: str
    name: str
    domain_id: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class UserCreated:
    """An admin created a user; only the password's KDF hash is recorded, never the password."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    name: str
    domain_id: str
    password_hash: str
    default_project_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserPasswordChanged:
    """A user's password was replaced (its new KDF hash)."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    name: str
    domain_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class RoleAssigned:
    """An admin gave a user a role on a project (keyed by the user, whose row keeps its assignments)."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    user_name: str
    domain_id: str
    project_id: str
    role: str


@dataclass(frozen=True, slots=True)
class RoleUnassigned:
    """An admin took a role on a project away from a user."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    user_name: str
    domain_id: str
    project_id: str
    role: str


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    """A token was revoked (DELETE /v3/auth/tokens): refused everywhere from now until its own expiry.

    Named by the token's audit id, and keyed by its user (whose row keeps the
    revocations still in force), since a token is sealed and self-contained:
    nothing else names it.
    """

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    user_name: str
    domain_id: str
    audit_id: str
    expires_at: datetime


IdentityEvent = (
    ProjectCreated
    | UserCreated
    | UserPasswordChanged
    | RoleAssigned
    | RoleUnassigned
    | TokenRevoked
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(IdentityEvent)
