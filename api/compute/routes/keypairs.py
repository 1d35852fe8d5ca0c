"""Key pairs (os-keypairs): tenant events, one writer per user and name."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeGuard

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response

from novalog.api import bodies
from novalog.api.compute import commands, tenant_commands, tenant_views
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, Ctx, Microversion
from novalog.api.faults import Conflict, NotFound
from novalog.events.quotas import limits_of
from novalog.events.state import KeypairState
from novalog.events.tenant import keypair_key

V2_10 = tenant_commands.V2_10

router = APIRouter()


class Keypair(bodies.Body):
    """A key pair to create or import; `type` from 2.2 and `user_id` from 2.10 (refused below them)."""

    name: bodies.Name
    public_key: str | None = None
    type: Literal["ssh", "x509"] | None = None
    user_id: Annotated[str, bodies.Field(min_length=1, max_length=255)] | None = None


class KeypairCreate(bodies.Body):
    keypair: Keypair


def owner(request: Request, ctx: RequestContext, version: Microversion) -> str:
    """Whose key pairs: the caller's, or (2.10+) the `user_id` an admin names."""
    asked = request.query_params.get("user_id")
    return asked if asked and version >= V2_10 else ctx.user_id


def find(api: Api, user_id: str, name: str) -> KeypairState:
    row = api.backend.cache.keypair(user_id, name)
    if row is None or row.deleted:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return row


def authorize(api: Api, rule: str, ctx: RequestContext, user_id: str) -> None:
    api.authorize(f"os_compute_api:os-keypairs:{rule}", ctx, ctx.project_id, user_id)


def live(row: KeypairState | None) -> TypeGuard[KeypairState]:
    return row is not None and not row.deleted


@router.post("/v2.1/os-keypairs")
def create_keypair(body: Annotated[KeypairCreate, Body()], api: ApiDep, ctx: Ctx, version: Microversion) -> JSONResponse:
    wanted = tenant_commands.parse_keypair(body.given(), ctx, version)
    authorize(api, "create", ctx, wanted.user_id)
    key = keypair_key(wanted.user_id, wanted.name)
    cache = api.backend.cache
    if live(cache.keypair(wanted.user_id, wanted.name)):
        raise Conflict(f"Key pair '{wanted.name}' already exists.")
    private, out = tenant_commands.create_keypair(ctx, wanted)
    # The user's quota writer lets it through (and emits it) or refuses it, against the caller's project's key_pairs limit.
    in_force = limits_of(api.backend.cache.quota_row(ctx.project_id), api.backend.quota_defaults)
    asked = commands.request_quota_gated(ctx, out.record, in_force)
    api.ask(asked, asked.key, asked.record.envelope.event_id)
    api.await_write(lambda: live(cache.keypair(wanted.user_id, wanted.name)), key)
    row = cache.keypair(wanted.user_id, wanted.name)
    if live(row) and row.keypair_id != out.record.keypair_id:
        # Another create of the name came first in the log: the single writer kept that one.
        raise Conflict(f"Key pair '{wanted.name}' already exists.")
    if not live(row):  # the table lags: answer from the create itself
        made = out.record
        row = KeypairState(made.keypair_id, made.user_id, made.name, made.public_key, made.fingerprint, made.envelope.occurred_at,
                           made.key_type)
    status = 201 if version >= tenant_commands.V2_2 else 200
    return JSONResponse(tenant_views.keypair_created(row, private, version), status_code=status)


@router.get("/v2.1/os-keypairs")
def list_keypairs(request: Request, api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    user_id = owner(request, ctx, version)
    authorize(api, "index", ctx, user_id)
    rows = sorted(api.backend.cache.keypairs(user_id), key=lambda r: r.name)
    return tenant_views.keypair_list(rows, version)


@router.get("/v2.1/os-keypairs/{name}")
def show_keypair(name: str, request: Request, api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    user_id = owner(request, ctx, version)
    authorize(api, "show", ctx, user_id)
    return tenant_views.keypair_detail(find(api, user_id, name), version)


@router.delete("/v2.1/os-keypairs/{name}")
def delete_keypair(name: str, request: Request, api: ApiDep, ctx: Ctx, version: Microversion) -> Response:
    user_id = owner(request, ctx, version)
    authorize(api, "delete", ctx, user_id)
    find(api, user_id, name)
    api.write(tenant_commands.delete_keypair(ctx, user_id, name))
    return Response(status_code=204 if version >= tenant_commands.V2_2 else 202)
