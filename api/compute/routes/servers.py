"""Servers: create, list, show, delete, and their actions (power actions and moves)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from novalog.api.compute import commands
from novalog.api.image import catalog as image_catalog
from novalog.api import paging
from novalog.api.compute import queries
from novalog.api.compute import server_pages
from novalog.api.compute import tenant_commands
from novalog.api.compute import views
from novalog.api.paging import truthy
from novalog.api.context import RequestContext
from novalog.api.deps import Api, base_url
from novalog.api.faults import BadRequest, Conflict, Forbidden, NotFound
from novalog.api.microversion import Version
from novalog.api.policy import ACTION_RULES
from novalog.api.compute.routes.aggregates import availability_zones
from novalog.events.actions import MOVE_ALLOWED, move_refusal, refusal
from novalog.events.records import utcnow

# What Nova's 2.1 schema for POST /servers accepts; anything else is 400.
SERVER_CREATE_KEYS = frozenset({
    "name", "imageRef", "flavorRef", "adminPass", "metadata", "networks", "OS-DCF:diskConfig", "accessIPv4",
    "accessIPv6", "personality", "availability_zone", "key_name", "block_device_mapping", "block_device_mapping_v2",
    "config_drive", "security_groups", "user_data", "min_count", "max_count", "return_reservation_id",
})
EVACUATE_WITHOUT_BODY = Version(2, 14)
MAX_COUNT = 100  # instances in one multi-create (until quotas bound it)


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    find_server = api.find_server
    rendered = server_pages.RenderedServers()

    def servers_of(ctx: RequestContext, request: Request, rule: str) -> tuple[list[Any], dict[str, Any]]:
        """One page of the servers the caller may list, and the next-page link (Nova's filters, sorting, paging)."""
        api.authorize(rule, ctx)
        params = dict(request.query_params)
        all_tenants = truthy(params.get("all_tenants"))
        if all_tenants:
            api.authorize(f"{rule}:get_all_tenants", ctx)
        admin = api.allowed(f"{rule}:get_all_tenants", ctx)
        url, cache = f"{base_url(request)}{request.url.path}", backend.cache
        with cache.lock:
            chosen = queries.page_servers(cache.servers, cache.instances, params, ctx.project_id, all_tenants, admin)
        if chosen is not None:
            return chosen, paging.next_links(chosen, lambda r: r.instance_id, params, url, "servers")
        rows = queries.select_servers(list(cache.instances.values()), params, ctx.project_id, all_tenants, admin)
        return paging.page(rows, lambda r: r.instance_id, params, url, "servers")

    def extended(ctx: RequestContext) -> bool:
        return api.allowed("os_compute_api:os-extended-server-attributes", ctx)

    def counts(server: dict[str, Any]) -> tuple[int, int]:
        """min_count and max_count as Nova checks them: integers >= 1, min <= max."""
        values = {}
        for key in ("min_count", "max_count"):
            raw = server.get(key, 1)
            try:
                values[key] = int(raw)
            except (TypeError, ValueError):
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: {raw}.") from None
            if isinstance(raw, bool) or values[key] < 1 or str(values[key]) != str(raw).strip():
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: {raw}.")
        if "max_count" not in server:
            values["max_count"] = values["min_count"]
        if values["min_count"] > values["max_count"]:
            raise BadRequest("min_count must be <= max_count")
        if values["max_count"] > MAX_COUNT:
            raise BadRequest(f"max_count must be at most {MAX_COUNT}")
        return values["min_count"], values["max_count"]

    @router.get("/v2.1/servers")
    def list_servers(request: Request, ctx: RequestContext = Depends(context)) -> Response:
        rows, links = servers_of(ctx, request, "os_compute_api:servers:index")
        return JSONResponse({"servers": [views.server_brief(base_url(request), r) for r in rows], **links})

    @router.get("/v2.1/servers/detail")
    def list_servers_detail(request: Request, ctx: RequestContext = Depends(context)) -> Response:
        rows, links = servers_of(ctx, request, "os_compute_api:servers:detail")
        base, version, admin_view = base_url(request), api.version(request), extended(ctx)
        encoded = [rendered.detail(base, r, admin_view, version) for r in rows]
        return Response(server_pages.servers_body(encoded, links), media_type="application/json")

    @router.get("/v2.1/servers/{server_id}")
    def show_server(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        row = find_server(server_id, ctx, "os_compute_api:servers:show")
        # The view is JSON already: straight to the response, not through FastAPI's encoder and model check.
        return JSONResponse({"server": views.server_detail(base_url(request), row, extended(ctx), api.version(request))})

    @router.post("/v2.1/servers", status_code=202)
    def create_server(request: Request, response: Response, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:servers:create", ctx)
        server = body.get("server")
        if not isinstance(server, dict):
            raise BadRequest("Invalid input for field/attribute server.")
        commands.check_keys("server", server, SERVER_CREATE_KEYS)
        commands.check_keys("body", body, {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"})
        name = server.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadRequest("Invalid input for field/attribute name.")
        flavor_ref = server.get("flavorRef")
        if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool) or str(flavor_ref) == "":
            raise BadRequest("Invalid input for field/attribute flavorRef.")
        flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
        row = backend.cache.catalog.get(f"flavor:{flavor_id}")
        if row is None or row.deleted or not queries.flavor_visible(row, ctx.project_id, ctx.is_admin):
            raise BadRequest(f"Flavor {flavor_ref} could not be found.")
        user_data = server.get("user_data")
        if user_data is not None and not commands.valid_user_data(user_data):
            raise BadRequest("Invalid input for field/attribute user_data. Value: must be base64 encoded, at most 65535 bytes.")
        image_ref = server.get("imageRef")
        if image_ref is not None and not isinstance(image_ref, str):
            raise BadRequest("Invalid input for field/attribute imageRef.")
        image = image_catalog.boot_image(backend.cache.catalog, image_ref, ctx, backend.accepts_unknown_images) if image_ref else None
        zone, forced = server.get("availability_zone"), []
        if zone is not None:
            if not isinstance(zone, str) or not zone.strip():
                raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: {zone}.")
            zone, _, where = zone.partition(":")
            if where:
                # Nova's admin forms "zone:host" and "zone:host:node" (one node per host here): that host, no filters.
                api.authorize("os_compute_api:servers:create:forced_host", ctx)
                host = where.split(":")[0] or where.split(":")[-1]
                if host not in backend.cache.hosts:
                    raise BadRequest(f"Compute host {host} could not be found.")
                forced = [host]
            rows = backend.cache.aggregates.get("aggregates")
            known = availability_zones(list(rows.aggregates) if rows else [], backend.cache.hosts, backend.default_availability_zone)
            if zone and zone not in known:
                raise BadRequest("The requested availability zone is not available")
            zone = zone or None
        metadata = server.get("metadata", {})
        if not isinstance(metadata, dict):
            raise BadRequest("Invalid input for field/attribute metadata.")
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
        if not isinstance(hints, dict):
            raise BadRequest("Invalid input for field/attribute os:scheduler_hints.")
        hint_lists = {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in hints.items()}
        min_count, max_count = counts(server)
        group = tenant_commands.server_create_checks(backend.cache.tenant, list(backend.cache.instances.values()), ctx, server.get("key_name"), hint_lists)
        outs = commands.build_servers(ctx, body, row.flavor, hint_lists, min_count, max_count, instance_group=group,
            image_properties=image and image.properties, image_files=image and image.files, zone=zone, force_hosts=forced)
        # The project's quota processor decides how many may be built (and emits their builds).
        asked = commands.request_servers(ctx, [o.record for o in outs], min_count, backend.quota_defaults)
        reservation_id = asked.record.reservation_id
        (asked_at,) = backend.log.append([asked])
        answer = api.quota_decision(ctx.project_id, reservation_id, asked_at)
        if answer.refusal:
            raise Forbidden(answer.refusal)
        for instance_id in answer.accepted:
            await_write(lambda key=instance_id: key in backend.cache.instances, instance_id)
        instance_id = outs[-1].key  # the first instance of the request
        base = base_url(request)
        if paging.truthy(str(server.get("return_reservation_id", "false"))):
            return {"reservation_id": reservation_id}
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
    def delete_server(server_id: str, ctx: RequestContext = Depends(context)) -> Response:
        row = find_server(server_id, ctx, "os_compute_api:servers:delete")
        out = commands.delete_server(ctx, row.instance_id)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.instances.get(server_id), "offset", -1) >= pos.offset, server_id)
        return Response(status_code=204)

    @router.post("/v2.1/servers/{server_id}/action", status_code=202)
    def server_action(
        server_id: str, request: Request, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)
    ) -> Response:
        name = next(iter(body)) if len(body) == 1 else None
        row = find_server(server_id, ctx, ACTION_RULES.get(name or "", "os_compute_api:servers:show"))
        if name in MOVE_ALLOWED:
            return move_action(row, name, body[name], ctx, api.version(request))
        action, reboot_type = commands.parse_action(body)
        problem = refusal(action, reboot_type, row.instance_id, row.vm_state, row.task_state, row.host)
        if problem:
            raise Conflict(problem)
        out = commands.request_action(ctx, row.instance_id, action, reboot_type)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.instances.get(server_id), "offset", -1) >= pos.offset, server_id)
        return Response(status_code=202)

    def move_action(row: Any, name: str, args: Any, ctx: RequestContext, version: Version) -> Response:
        """resize, confirmResize, revertResize, migrate, os-migrateLive, evacuate: Nova's checks, then one event."""
        target = commands.parse_move(name, args, version)
        problem = move_refusal(name, row.instance_id, row.vm_state, row.task_state, row.host)
        if problem:
            raise Conflict(problem)
        if name in ("confirmResize", "revertResize"):
            out = commands.request_action(ctx, row.instance_id, name, None)
        else:
            flavor = row.flavor
            if name == "resize":
                flavor = resize_flavor(row, args["flavorRef"])
            if target is not None:
                check_target(row, name, target)
            if name == "evacuate" and row.host is not None and host_up(row.host):
                raise BadRequest(f"Compute service of {row.host} is still in use.")
            out = commands.request_move(ctx, row, name, flavor, target, backend.allow_resize_to_same_host)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.instances.get(row.instance_id), "offset", -1) >= pos.offset, row.instance_id)
        if name == "confirmResize":
            return Response(status_code=204)
        if name == "evacuate":  # below 2.14 Nova answers with the instance's new admin password
            if version >= EVACUATE_WITHOUT_BODY:
                return Response(status_code=200)
            return JSONResponse({"adminPass": uuid.uuid4().hex[:12]}, status_code=200)
        return Response(status_code=202)

    def resize_flavor(row: Any, flavor_ref: Any) -> Any:
        if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool):
            raise BadRequest("Invalid input for field/attribute flavorRef.")
        found = backend.cache.catalog.get(f"flavor:{str(flavor_ref).rstrip('/').rsplit('/', 1)[-1]}")
        if found is None or found.deleted or not queries.flavor_visible(found, row.project_id, False):
            raise BadRequest("Unable to locate requested flavor.")
        new = found.flavor
        if new.id == row.flavor.id:
            raise BadRequest("When resizing, instances must change flavor!")
        if new.disk < row.flavor.disk:
            raise BadRequest("Resize error: Unable to resize disk down.")
        return new

    def check_target(row: Any, name: str, target: str) -> None:
        if target not in backend.cache.hosts:
            message = f"Compute host {target} could not be found."
            raise NotFound(message) if name == "evacuate" else BadRequest(message)
        if target == row.host:
            if name == "evacuate":
                raise BadRequest("The target host can't be the same one.")
            raise BadRequest(f"Unable to migrate instance ({row.instance_id}) to current host ({row.host}).")

    def host_up(host: str) -> bool:
        state = backend.cache.hosts.get(host)
        return state is not None and views.host_is_up(state, utcnow(), backend.service_down_time)

    return router
