"""Pure command builders for a server's metadata, its lock and its console: a checked request in, the event to append out."""

from __future__ import annotations

from novalog.api.context import RequestContext
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import InstanceState
from novalog.events.types.instance import (
    InstanceConsoleRequested,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceUnlocked,
)

PRODUCER = "novalog-api"


def _envelope(event_class: type, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_class, PRODUCER, request_id=ctx.request_id)


def set_metadata(ctx: RequestContext, row: InstanceState, metadata: dict[str, str], replace: bool) -> Outbound:
    """Metadata items merged into the server's (POST, PUT of one item) or made its whole metadata (PUT)."""
    event = InstanceMetadataSet(
        envelope=_envelope(InstanceMetadataSet, ctx), instance_id=row.instance_id, project_id=ctx.project_id,
        user_id=ctx.user_id, metadata=dict(metadata), replace=replace,
    )
    return Outbound.event(row.instance_id, event)


def delete_metadata(ctx: RequestContext, row: InstanceState, key: str) -> Outbound:
    event = InstanceMetadataDeleted(
        envelope=_envelope(InstanceMetadataDeleted, ctx), instance_id=row.instance_id, project_id=ctx.project_id, user_id=ctx.user_id, key=key,
    )
    return Outbound.event(row.instance_id, event)


def lock(ctx: RequestContext, row: InstanceState, reason: str | None) -> Outbound | None:
    """Nova's lock: by the "owner" (the server's own project) or an "admin"; None when the owner locks its locked server again."""
    is_owner = row.project_id == ctx.project_id
    if row.locked and is_owner:
        return None
    event = InstanceLocked(
        envelope=_envelope(InstanceLocked, ctx), instance_id=row.instance_id, project_id=ctx.project_id, user_id=ctx.user_id,
        locked_by="owner" if is_owner else "admin", reason=reason,
    )
    return Outbound.event(row.instance_id, event)


def locked_by_another(ctx: RequestContext, row: InstanceState) -> bool:
    """Nova's is_expected_locked_by, negated: the server was locked by the other kind of caller (owner vs admin)."""
    expected = "owner" if row.project_id == ctx.project_id else "admin"
    return row.locked_by is not None and row.locked_by != expected


def unlock(ctx: RequestContext, row: InstanceState) -> Outbound:
    event = InstanceUnlocked(envelope=_envelope(InstanceUnlocked, ctx), instance_id=row.instance_id, project_id=ctx.project_id, user_id=ctx.user_id)
    return Outbound.event(row.instance_id, event)


def ask_console(ctx: RequestContext, row: InstanceState, length: int | None) -> Outbound:
    """A console ask (its envelope's event id names it; the agent's answer carries that id back)."""
    event = InstanceConsoleRequested(
        envelope=_envelope(InstanceConsoleRequested, ctx), instance_id=row.instance_id, project_id=ctx.project_id, user_id=ctx.user_id,
        length=length,
    )
    return Outbound.event(row.instance_id, event)
