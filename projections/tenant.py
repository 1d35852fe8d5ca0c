"""The tenant table: key pairs (per user) and server groups (per project), a pure fold over tenant.events."""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from novalog.events.tenant import keypair_key, server_group_key
from novalog.events.state import KeypairState, ServerGroupState
from novalog.events.types import KeypairCreated, KeypairDeleted, ServerGroupCreated, ServerGroupDeleted, TenantEvent

Row = KeypairState | ServerGroupState


def key_of(event: TenantEvent) -> str:
    """The entity an event is about (its Kafka key): a key pair by owner and name, so names are unique per user."""
    match event:
        case KeypairCreated() | KeypairDeleted():
            return keypair_key(event.user_id, event.name)
        case ServerGroupCreated() | ServerGroupDeleted():
            return server_group_key(event.group_id)
        case _:
            assert_never(event)


def apply(state: Row | None, event: TenantEvent) -> Row | None:
    """The row after the event.

    A create of a key pair name its user still holds is refused: the row
    stays the first creator's, and a writer that finds another id there knows
    it lost (Nova's 409). A deleted name may be created again, afresh.
    """
    at = event.envelope.occurred_at
    match event:
        case KeypairCreated():
            if isinstance(state, KeypairState) and not state.deleted:
                return state
            return KeypairState(
                keypair_id=event.keypair_id, user_id=event.user_id, name=event.name, public_key=event.public_key,
                fingerprint=event.fingerprint, created_at=at, key_type=event.key_type,
            )
        case KeypairDeleted():
            if not isinstance(state, KeypairState) or state.deleted:
                return state
            return replace(state, deleted=True, deleted_at=at)
        case ServerGroupCreated():
            if state is not None:
                return state  # group ids are never reused
            return ServerGroupState(
                group_id=event.group_id, name=event.name, policy=event.policy, project_id=event.project_id,
                user_id=event.user_id, created_at=at, rules=event.rules,
            )
        case ServerGroupDeleted():
            if not isinstance(state, ServerGroupState) or state.deleted:
                return state
            return replace(state, deleted=True)
        case _:
            assert_never(event)
