"""The tenant table: key pairs (per user) and server groups (per project), a pure fold over tenant.events."""

from __future__ import annotations

from typing import assert_never

from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.state import KeypairState, ServerGroupState
from novalog.events.tenant import keypair_key, server_group_key
from novalog.events.types.quota import TenantQuotaReleased
from novalog.events.types.tenant import KeypairCreated, KeypairDeleted, ServerGroupCreated, ServerGroupDeleted, TenantEvent

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


def handle(state: Row | None, event: TenantEvent, offset: int) -> tuple[Row | None, list[Outbound]]:
    """The declared fold (projections/registry.py): `fold`, the row stamped with the event's log offset.

    The offset moves even when a create is refused, so the refused writer sees its turn came and went.
    """
    new, outs = fold(state, event)
    return (None if new is None else replace(new, offset=offset)), outs


def fold(state: Row | None, event: TenantEvent) -> tuple[Row | None, list[Outbound]]:
    """The row after the event, and the quota slot it frees: a counted create refused as a duplicate, or a delete."""
    new = apply(state, event)
    freed: tuple[str, str] | None = None
    match event:
        case KeypairCreated() if event.quota_project and (not isinstance(new, KeypairState) or new.keypair_id != event.keypair_id):
            freed = event.quota_project, key_of(event)
        case KeypairDeleted() if isinstance(state, KeypairState) and not state.deleted and state.quota_project:
            freed = state.quota_project, key_of(event)
        case ServerGroupDeleted() if isinstance(state, ServerGroupState) and not state.deleted and state.counted:
            freed = state.project_id, key_of(event)
    if freed is None:
        return new, []
    project, key = freed
    released = TenantQuotaReleased(
        envelope=event.envelope.caused(TenantQuotaReleased, "novalog-projections", salt=key, occurred_at=event.envelope.occurred_at),
        project_id=project,
        key=key,
    )
    return new, [Outbound.event(project, released)]


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
                fingerprint=event.fingerprint, created_at=at, key_type=event.key_type, quota_project=event.quota_project,
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
                user_id=event.user_id, created_at=at, rules=event.rules, counted=event.counted,
            )
        case ServerGroupDeleted():
            if not isinstance(state, ServerGroupState) or state.deleted:
                return state
            return replace(state, deleted=True)
        case _:
            assert_never(event)
