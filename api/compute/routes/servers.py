"""Servers: create, list, show, delete, and their actions (power actions, moves, rebuild, createImage, rescue)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from novalog.api import paging
from novalog.api.bodies import reference_id
from novalog.api.compute import commands, extra_actions, queries, server_pages, tenant_commands, views
from novalog.api.compute.routes import quotas, server_guest, server_metadata
from novalog.api.compute.routes.aggregates import availability_zones
from novalog.api.compute.server_bodies import ServerAction, ServerCreate, ServerSpec, ServerUpdate
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, BaseUrl, Ctx, Microversion, base_url
from novalog.api.faults import BadRequest, Conflict, Forbidden, NotFound
from novalog.api.guards import Authorized
from novalog.api.image import catalog as image_catalog
from novalog.api.microversion import Version
from novalog.api.policy import ACTION_RULES
from novalog.events.actions import MOVE_ALLOWED, move_refusal, refusal
from novalog.events.records import Flavor, utcnow
from novalog.events.state import InstanceState

EVACUATE_WITHOUT_BODY = Version(2, 14)

router = APIRouter()
# Each server's detail JSON, kept until its row changes (server_pages.py).
rendered = server_pages.RenderedServers()


def servers_of(api: Api, ctx: RequestContext, request: Request, rule: str) -> tuple[list[Any], dict[str, Any]]:
    """One page of the servers the caller may list, and the next-page link (Nova's filters, sorting, paging)."""
    api.authorize(rule, ctx)
    params = dict(request.query_params)
    all_tenants = paging.truthy(params.get("all_tenants"))
    if all_tenants:
        api.authorize(f"{rule}:get_all_tenants", ctx)
    admin = api.allowed(f"{rule}:get_all_tenants", ctx)
    url, cache = f"{base_url(request)}{request.url.path}", api.backend.cache
    with cache.lock:
        chosen = queries.page_servers(cache.servers, cache.instances, params, ctx.project_id, all_tenants, admin)
    if chosen is not None:
        return chosen, paging.next_links(chosen, lambda r: r.instance_id, params, url, "servers")
    rows = queries.select_servers(cache.instance_rows(), params, ctx.project_id, all_tenants, admin)
    return paging.page(rows, lambda r: r.instance_id, params, url, "servers")


def extended(api: Api, ctx: RequestContext) -> bool:
    return api.allowed("os_compute_api:os-extended-server-attributes", ctx)


@router.get("/v2.1/servers")
def list_servers(request: Request, api: ApiDep, ctx: Ctx, base: BaseUrl) -> Response:
    rows, links = servers_of(api, ctx, request, "os_compute_api:servers:index")
    return JSONResponse({"servers": [views.server_brief(base, r) for r in rows], **links})


@router.get("/v2.1/servers/detail")
def list_servers_detail(request: Request, api: ApiDep, ctx: Ctx, base: BaseUrl, version: Microversion) -> Response:
    rows, links = servers_of(api, ctx, request, "os_compute_api:servers:detail")
    admin_view = extended(api, ctx)
    encoded = [rendered.detail(base, r, admin_view, version, api.backend.instance_naming) for r in rows]
    return Response(server_pages.servers_body(encoded, links), media_type="application/json")


@router.get("/v2.1/servers/{server_id}")
def show_server(server_id: str, api: ApiDep, ctx: Ctx, base: BaseUrl, version: Microversion) -> Response:
    row = api.find_server(server_id, ctx, "os_compute_api:servers:show")
    # The view is JSON already: straight to the response, not through FastAPI's encoder and model check.
    return JSONResponse({"server": views.server_detail(base, row, extended(api, ctx), version, api.backend.instance_naming)})


@router.put("/v2.1/servers/{server_id}")
def update_server(server_id: str, body: Annotated[ServerUpdate, Body()], api: ApiDep, ctx: Ctx, base: BaseUrl, version: Microversion) -> Response:
    """Nova's update: 200 with the server's own fields (the extensions' only from 2.75, beyond this API's maximum)."""
    row = api.find_server(server_id, ctx, "os_compute_api:servers:update")
    out = commands.update_server(ctx, row, body.server.given())
    if out is not None:
        row = api.write(out) or commands.updated(row, out.record)
    return JSONResponse({"server": views.server_core(base, row, ctx.is_admin, version)})


def flavor_of(api: Api, ctx: RequestContext, flavor_ref: str | int) -> Flavor:
    """The flavor a create names, if the caller may use it; else Nova's 400."""
    row = api.backend.cache.flavor(reference_id(flavor_ref))
    if row is None or row.deleted or not queries.flavor_visible(row, ctx.project_id, ctx.is_admin):
        raise BadRequest(f"Flavor {flavor_ref} could not be found.")
    return row.flavor


def placement_of(api: Api, ctx: RequestContext, asked: str | None) -> tuple[str | None, list[str]]:
    """The zone a create asks for (None: any), and the host an admin forces with "zone:host" or "zone:host:node"."""
    if asked is None:
        return None, []
    zone, _, where = asked.partition(":")
    forced = []
    if where:  # one node per host here: that host, no filters
        api.authorize("os_compute_api:servers:create:forced_host", ctx)
        host = where.split(":")[0] or where.split(":")[-1]
        if not api.backend.cache.has_host(host):
            raise BadRequest(f"Compute host {host} could not be found.")
        forced = [host]
    known = availability_zones(api.backend.cache.aggregate_list(), api.backend.cache.host_names(), api.backend.default_availability_zone)
    if zone and zone not in known:
        raise BadRequest("The requested availability zone is not available")
    return zone or None, forced


def builds_of(api: Api, ctx: RequestContext, body: ServerCreate) -> tuple[list[Any], int]:
    """The InstanceBuildRequested records of a create (the first instance's last), and its min_count."""
    server: ServerSpec = body.server
    flavor = flavor_of(api, ctx, server.flavorRef)
    if problem := server_metadata.quota_refusal(len(server.metadata), quotas.limits(api, ctx.project_id)["metadata_items"]):
        raise Forbidden(problem)
    cache = api.backend.cache
    image = image_catalog.boot_image(cache, server.imageRef, ctx, api.backend.accepts_unknown_images) if server.imageRef else None
    zone, forced = placement_of(api, ctx, server.availability_zone)
    hints = body.hint_lists()
    min_count, max_count = server.counts()
    group = tenant_commands.server_create_checks(cache, cache.instance_rows(), ctx, server.key_name, hints)
    outs = commands.build_servers(ctx, body.given(), flavor, hints, min_count, max_count, instance_group=group,
                                  image_properties=image.properties if image else None, image_files=image.files if image else None,
                                  zone=zone, force_hosts=forced)
    return outs, min_count


@router.post("/v2.1/servers", status_code=202, dependencies=[Depends(Authorized("os_compute_api:servers:create"))])
def create_server(body: Annotated[ServerCreate, Body()], response: Response, api: ApiDep, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    outs, min_count = builds_of(api, ctx, body)
    # The project's quota processor decides how many may be built (and emits their builds).
    asked = commands.request_servers(ctx, [o.record for o in outs], min_count, api.backend.quota_defaults)
    reservation_id = asked.record.reservation_id
    answer = api.ask(asked, ctx.project_id, reservation_id)
    cache = api.backend.cache
    for instance_id in answer.accepted:
        api.await_write(lambda key=instance_id: cache.instance(key) is not None, instance_id)
    if body.server.return_reservation_id:
        return {"reservation_id": reservation_id}
    instance_id = outs[-1].key  # the first instance of the request
    response.headers["Location"] = f"{base}/v2.1/servers/{instance_id}"
    return {
        "server": {
            "id": instance_id,
            "links": views.links(base, "servers", instance_id),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
            "adminPass": uuid.uuid4().hex[:12],
        }
    }


@router.delete("/v2.1/servers/{server_id}", status_code=204)
def delete_server(server_id: str, api: ApiDep, ctx: Ctx) -> Response:
    row = api.server_to_change(server_id, ctx, "os_compute_api:servers:delete")
    api.write(commands.delete_server(ctx, row.instance_id))
    return Response(status_code=204)


async def action_server(server_id: str, request: Request, api: ApiDep, ctx: Ctx) -> InstanceState:
    """The server an action is for, checked against the action's rule before its body is (403 and 404 come first)."""
    try:
        asked = await request.json()
    except ValueError:
        asked = None
    name = next(iter(asked)) if isinstance(asked, dict) and len(asked) == 1 else ""
    if name in ACTION_RULES and name not in extra_actions.LOCK_FREE_ACTIONS:
        return api.server_to_change(server_id, ctx, ACTION_RULES[name])  # a locked server refuses it (409)
    return api.find_server(server_id, ctx, ACTION_RULES.get(name, "os_compute_api:servers:show"))


@router.post("/v2.1/servers/{server_id}/action", status_code=202)
def server_action(row: Annotated[InstanceState, Depends(action_server)], action: Annotated[ServerAction, Body()],
                  api: ApiDep, ctx: Ctx, version: Microversion, base: BaseUrl) -> Response:
    body = action.given()
    name = next(iter(body)) if len(body) == 1 else None
    if name in server_guest.NAMES:
        return server_guest.guest_action(api, row, name, body[name], ctx, base, version)
    if name in MOVE_ALLOWED:
        return move_action(api, row, name, body[name], ctx, version)
    if name == "lock":
        extra_actions.lock(api, row, body[name], ctx, version)
        return Response(status_code=202)
    if name == "unlock":
        extra_actions.unlock(api, row, ctx)
        return Response(status_code=202)
    if name == "os-getConsoleOutput":
        return JSONResponse(extra_actions.console_output(api, row, body[name], ctx), status_code=200)
    kind, reboot_type = commands.parse_action(body)
    problem = refusal(kind, reboot_type, row.instance_id, row.vm_state, row.task_state, row.host)
    if problem:
        raise Conflict(problem)
    api.write(commands.request_action(ctx, row.instance_id, kind, reboot_type))
    return Response(status_code=202)


def move_action(api: Api, row: Any, name: str, args: Any, ctx: RequestContext, version: Version) -> Response:
    """resize, confirmResize, revertResize, migrate, os-migrateLive, evacuate: Nova's checks, then one event."""
    target = commands.parse_move(name, args, version)
    problem = move_refusal(name, row.instance_id, row.vm_state, row.task_state, row.host)
    if problem:
        raise Conflict(problem)
    if name in ("confirmResize", "revertResize"):
        out = commands.request_action(ctx, row.instance_id, name, None)
    else:
        flavor = resize_flavor(api, row, args["flavorRef"]) if name == "resize" else row.flavor
        if target is not None:
            check_target(api, row, name, target)
        if name == "evacuate" and row.host is not None and host_up(api, row.host):
            raise BadRequest(f"Compute service of {row.host} is still in use.")
        out = commands.request_move(ctx, row, name, flavor, target, api.backend.allow_resize_to_same_host)
    api.write(out)
    if name == "confirmResize":
        return Response(status_code=204)
    if name == "evacuate":  # below 2.14 Nova answers with the instance's new admin password
        if version >= EVACUATE_WITHOUT_BODY:
            return Response(status_code=200)
        return JSONResponse({"adminPass": uuid.uuid4().hex[:12]}, status_code=200)
    return Response(status_code=202)


def resize_flavor(api: Api, row: Any, flavor_ref: str | int) -> Any:
    """The flavor a resize names (its body model has checked the ref's type), if it may be used; Nova's 400s otherwise."""
    found = api.backend.cache.flavor(reference_id(flavor_ref))
    if found is None or found.deleted or not queries.flavor_visible(found, row.project_id, False):
        raise BadRequest("Unable to locate requested flavor.")
    new = found.flavor
    if new.id == row.flavor.id:
        raise BadRequest("When resizing, instances must change flavor!")
    if new.disk < row.flavor.disk:
        raise BadRequest("Resize error: Unable to resize disk down.")
    return new


def check_target(api: Api, row: Any, name: str, target: str) -> None:
    if not api.backend.cache.has_host(target):
        message = f"Compute host {target} could not be found."
        raise NotFound(message) if name == "evacuate" else BadRequest(message)
    if target == row.host:
        if name == "evacuate":
            raise BadRequest("The target host can't be the same one.")
        raise BadRequest(f"Unable to migrate instance ({row.instance_id}) to current host ({row.host}).")


def host_up(api: Api, host: str) -> bool:
    state = api.backend.cache.host(host)
    return state is not None and views.host_is_up(state, utcnow(), api.backend.service_down_time)
