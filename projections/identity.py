"""The identity table: users (with their password hash, role assignments and revoked tokens) and projects, a pure fold over identity.events."""

from __future__ import annotations

from datetime import datetime
from typing import TypeGuard, assert_never

from novalog.events.evolve import replace
from novalog.events.identity import project_key, user_key
from novalog.events.outbound import Outbound
from novalog.events.state import ProjectState, UserState
from novalog.events.types.identity import (
    IdentityEvent,
    ProjectCreated,
    RoleAssigned,
    RoleUnassigned,
    TokenRevoked,
    UserCreated,
    UserPasswordChanged,
)

Row = ProjectState | UserState


def key_of(event: IdentityEvent) -> str:
    """The name an event is about (its Kafka key): one writer per name keeps names unique."""
    match event:
        case ProjectCreated():
            return project_key(event.domain_id, event.name)
        case UserCreated() | UserPasswordChanged():
            return user_key(event.domain_id, event.name)
        case RoleAssigned() | RoleUnassigned() | TokenRevoked():
            return user_key(event.domain_id, event.user_name)
        case _:
            assert_never(event)


def handle(state: Row | None, event: IdentityEvent, offset: int) -> tuple[Row | None, list[Outbound]]:
    """The declared fold (projections/registry.py): `apply`, the row stamped with the event's log offset; it orders nothing.

    The offset moves even when the fold refuses a create, so the refused writer sees its turn came and went.
    """
    new = apply(state, event)
    return (None if new is None else replace(new, offset=offset)), []


def apply(state: Row | None, event: IdentityEvent) -> Row | None:
    """The row after the event.

    A create of a name that exists is refused: the row stays the first
    creator's, and a writer that sees another id there knows it lost. Events
    about another user id than the row's (a stale or forged key) change nothing.
    """
    match event:
        case ProjectCreated():
            if state is not None:
                return state
            return ProjectState(
                project_id=event.project_id, name=event.name, domain_id=event.domain_id,
                created_at=event.envelope.occurred_at, description=event.description,
            )
        case UserCreated():
            if state is not None:
                return state
            return UserState(
                user_id=event.user_id, name=event.name, domain_id=event.domain_id, password_hash=event.password_hash,
                created_at=event.envelope.occurred_at, default_project_id=event.default_project_id,
            )
        case UserPasswordChanged():
            if not _is_user(state, event.user_id):
                return state
            return replace(state, password_hash=event.password_hash, password_changed_at=event.envelope.occurred_at)
        case RoleAssigned():
            if not _is_user(state, event.user_id):
                return state
            roles = state.roles.get(event.project_id, [])
            if event.role in roles:
                return state
            return replace(state, roles={**state.roles, event.project_id: sorted([*roles, event.role])})
        case RoleUnassigned():
            if not _is_user(state, event.user_id):
                return state
            left = [r for r in state.roles.get(event.project_id, []) if r != event.role]
            rest = {p: r for p, r in state.roles.items() if p != event.project_id}
            return replace(state, roles={**rest, event.project_id: left} if left else rest)
        case TokenRevoked():
            if not _is_user(state, event.user_id):
                return state
            return replace(state, revoked=revocations_after(state.revoked, event))
        case _:
            assert_never(event)


def revocations_after(revoked: dict[str, int], event: TokenRevoked) -> dict[str, int]:
    """The revocations in force once `event` is folded: the new one, and the old ones whose token has not expired.

    "Expired" is judged at the event's own time, never a clock, so a replay
    keeps exactly the same rows; a revocation of a token already expired adds
    nothing (the token is refused anyway).
    """
    now = _ms(event.envelope.occurred_at)
    kept = {audit_id: expiry for audit_id, expiry in revoked.items() if expiry > now}
    expiry = _ms(event.expires_at)
    if expiry > now:
        kept[event.audit_id] = max(expiry, kept.get(event.audit_id, 0))
    return kept


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _is_user(state: Row | None, user_id: str) -> TypeGuard[UserState]:
    return isinstance(state, UserState) and state.user_id == user_id
