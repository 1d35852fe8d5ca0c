"""Server groups (os-server-groups): tenant events; members are the live instances that joined at create."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from novalog.api import paging
from novalog.api.compute import commands, tenant_commands, tenant_views
from novalog.api.compute.tenant_commands import ServerGroupCreate
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, Ctx, Microversion
from novalog.api.faults import NotFound
from novalog.api.guards import Authorized
from novalog.api.microversion import Version
from novalog.events.state import ServerGroupState

RULE = "os_compute_api:os-server-groups"

router = APIRouter()


def view(api: Api, row: ServerGroupState, version: Version) -> dict[str, Any]:
    members = tenant_commands.members(row.group_id, api.backend.cache.instance_rows())
    return tenant_views.server_group(row, members, version)


def find(api: Api, group_id: str, ctx: RequestContext, rule: str) -> ServerGroupState:
    """The group, if the caller's project holds it (an admin: any); else 404 as Nova."""
    row = api.backend.cache.server_group(group_id)
    if row is None or row.deleted or (row.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Instance group {group_id} could not be found.")
    api.authorize(f"{RULE}:{rule}", ctx, row.project_id, row.user_id)
    return row


@router.post("/v2.1/os-server-groups", dependencies=[Depends(Authorized(f"{RULE}:create"))])
def create_server_group(body: Annotated[ServerGroupCreate, Body()], api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    out = tenant_commands.create_server_group(ctx, body.given(), version)
    # The project's quota writer lets it through (and emits it) or refuses it (server_groups).
    asked = commands.request_quota_gated(ctx, out.record, api.backend.quota_defaults)
    api.ask(asked, ctx.project_id, asked.record.envelope.event_id)
    cache = api.backend.cache
    api.await_write(lambda: cache.server_group(out.record.group_id) is not None, out.key)
    row = cache.server_group(out.record.group_id)
    if row is None:  # the projection lags: answer from the event itself
        event = out.record
        row = ServerGroupState(event.group_id, event.name, event.policy, event.project_id, event.user_id, event.envelope.occurred_at)
    return {"server_group": view(api, row, version)}


@router.get("/v2.1/os-server-groups")
def list_server_groups(request: Request, api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    api.authorize(f"{RULE}:index", ctx)
    all_projects = paging.truthy(request.query_params.get("all_projects"))
    if all_projects:
        api.authorize(f"{RULE}:index:all_projects", ctx)
    rows = sorted(
        (r for r in api.backend.cache.server_groups() if all_projects or r.project_id == ctx.project_id),
        key=lambda r: (r.created_at, r.group_id),
    )
    offset, limit = _window(request)
    return {"server_groups": [view(api, r, version) for r in rows[offset : None if limit is None else offset + limit]]}


@router.get("/v2.1/os-server-groups/{group_id}")
def show_server_group(group_id: str, api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    return {"server_group": view(api, find(api, group_id, ctx, "show"), version)}


@router.delete("/v2.1/os-server-groups/{group_id}", status_code=204)
def delete_server_group(group_id: str, api: ApiDep, ctx: Ctx) -> Response:
    find(api, group_id, ctx, "delete")
    api.write(tenant_commands.delete_server_group(ctx, group_id))
    return Response(status_code=204)


def _window(request: Request) -> tuple[int, int | None]:
    """Nova's `offset` and `limit` on the list (non-negative integers; anything else is ignored)."""
    values = []
    for name in ("offset", "limit"):
        raw = request.query_params.get(name, "")
        values.append(int(raw) if raw.isdigit() else None)
    return values[0] or 0, values[1]
