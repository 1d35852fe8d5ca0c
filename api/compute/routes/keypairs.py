"""Key pairs (os-keypairs): tenant events, one writer per user and name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from novalog.api.compute import commands
from novalog.api.compute import tenant_commands
from novalog.api.compute import tenant_views
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import Forbidden, Conflict, NotFound
from novalog.events.state import KeypairState
from novalog.events.tenant import keypair_key

V2_10 = tenant_commands.V2_10


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    def owner(request: Request, ctx: RequestContext) -> str:
        """Whose key pairs: the caller's, or (2.10+) the `user_id` an admin names."""
        asked = request.query_params.get("user_id")
        return asked if asked and api.version(request) >= V2_10 else ctx.user_id

    def find(user_id: str, name: str) -> KeypairState:
        row = backend.cache.tenant.get(keypair_key(user_id, name))
        if not isinstance(row, KeypairState) or row.deleted:
            raise NotFound(f"Keypair {name} not found for user {user_id}")
        return row

    def authorize(rule: str, ctx: RequestContext, user_id: str) -> None:
        api.authorize(f"os_compute_api:os-keypairs:{rule}", ctx, ctx.project_id, user_id)

    @router.post("/v2.1/os-keypairs")
    def create_keypair(request: Request, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> JSONResponse:
        version = api.version(request)
        wanted = tenant_commands.parse_keypair(body, ctx, version)
        authorize("create", ctx, wanted.user_id)
        key = keypair_key(wanted.user_id, wanted.name)
        held = backend.cache.tenant.get(key)
        if isinstance(held, KeypairState) and not held.deleted:
            raise Conflict(f"Key pair '{wanted.name}' already exists.")
        private, out = tenant_commands.create_keypair(ctx, wanted)
        # The project's quota writer lets it through (and emits it) or refuses it (key_pairs).
        asked = commands.request_quota_gated(ctx, out.record, backend.quota_defaults)
        (asked_at,) = backend.log.append([asked])
        refusal = api.quota_decision(ctx.project_id, asked.record.envelope.event_id, asked_at).refusal
        if refusal:
            raise Forbidden(refusal)
        await_write(lambda: isinstance(r := backend.cache.tenant.get(key), KeypairState) and not r.deleted, key)
        row = backend.cache.tenant.get(key)
        if isinstance(row, KeypairState) and not row.deleted and row.keypair_id != out.record.keypair_id:
            # Another create of the name came first in the log: the single writer kept that one.
            raise Conflict(f"Key pair '{wanted.name}' already exists.")
        if not isinstance(row, KeypairState) or row.deleted:  # the table lags: answer from the create itself
            made = out.record
            row = KeypairState(made.keypair_id, made.user_id, made.name, made.public_key, made.fingerprint, made.envelope.occurred_at,
                               made.key_type)
        status = 201 if version >= tenant_commands.V2_2 else 200
        return JSONResponse(tenant_views.keypair_created(row, private, version), status_code=status)

    @router.get("/v2.1/os-keypairs")
    def list_keypairs(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        user_id = owner(request, ctx)
        authorize("index", ctx, user_id)
        prefix = keypair_key(user_id, "")
        rows = sorted(
            (r for k, r in list(backend.cache.tenant.items()) if k.startswith(prefix) and isinstance(r, KeypairState) and not r.deleted),
            key=lambda r: r.name,
        )
        return tenant_views.keypair_list(rows, api.version(request))

    @router.get("/v2.1/os-keypairs/{name}")
    def show_keypair(name: str, request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        user_id = owner(request, ctx)
        authorize("show", ctx, user_id)
        return tenant_views.keypair_detail(find(user_id, name), api.version(request))

    @router.delete("/v2.1/os-keypairs/{name}")
    def delete_keypair(name: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        user_id = owner(request, ctx)
        authorize("delete", ctx, user_id)
        find(user_id, name)
        out = tenant_commands.delete_keypair(ctx, user_id, name)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.tenant.get(out.key), "offset", -1) >= pos.offset, out.key)
        return Response(status_code=204 if api.version(request) >= tenant_commands.V2_2 else 202)

    return router
