"""The OpenStack Compute v2.1 API (a subset) on FastAPI.

Routes parse, authorize, call a pure command builder, append its events,
wait for the write to show in the read cache, and answer with a view.
Errors of every kind leave as OpenStack fault bodies from one handler.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalog.api import commands, views
from novalog.api.context import RequestContext, context_from_token
from novalog.api.faults import ApiFault, BadRequest, Conflict, NotFound, fault_body
from novalog.events.actions import ADMIN_ONLY_MOVES, MOVE_ALLOWED, move_refusal, refusal
from novalog.events.outbound import Outbound
from novalog.events.records import utcnow
from novalog.events.state import FlavorState

log = logging.getLogger(__name__)
MAX_COUNT = 100  # instances in one multi-create (until quotas bound it)


class Appender(Protocol):
    def append(self, outs: Sequence[Outbound], timeout: float = 30.0) -> list[Any]: ...


class Cache(Protocol):
    instances: dict[str, Any]
    catalog: dict[str, Any]
    hosts: dict[str, Any]

    def wait_until(self, predicate: Any, timeout: float) -> bool: ...


@dataclass
class ApiBackend:
    """What the routes need from the outside: an event log to append to, a read cache, and settings."""

    log: Appender
    cache: Cache
    write_wait: float = 5.0
    service_down_time: float = 20.0
    allow_resize_to_same_host: bool = False


def base_url(request: Request) -> str:
    """The absolute root of this API as the client reached it (honouring X-Forwarded-*)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    return f"{proto}://{host}"


def create_app(backend: ApiBackend) -> FastAPI:
    app = FastAPI(title="novalog compute API", version="2.1", openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.state.backend = backend

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Response:
        rid = f"req-{uuid.uuid4()}"
        request.state.request_id = rid
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error in %s %s (%s)", request.method, request.url.path, rid)
            response = JSONResponse(fault_body(500, "Unexpected API Error. Please report this at the project's issue tracker."), status_code=500)
        response.headers["x-openstack-request-id"] = rid
        response.headers["x-compute-request-id"] = rid
        if request.url.path.startswith("/v2.1/"):
            response.headers["OpenStack-API-Version"] = "compute 2.1"
            response.headers["X-OpenStack-Nova-API-Version"] = "2.1"
            response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        return response

    @app.exception_handler(ApiFault)
    async def on_fault(request: Request, exc: ApiFault) -> JSONResponse:
        return JSONResponse(fault_body(exc.status, exc.message), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(fault_body(exc.status_code, message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(fault_body(400, f"Invalid input: {exc.errors()[0].get('msg', 'malformed request')}"), status_code=400)

    def await_write(predicate: Any, key: str) -> None:
        if not backend.cache.wait_until(predicate, backend.write_wait):
            log.warning("read-your-writes: %s not in the read cache after %s s (projection lagging?)", key, backend.write_wait)

    def context(request: Request) -> RequestContext:
        return context_from_token(request.headers.get("x-auth-token"), request.state.request_id)

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("Malformed request body") from None
        if not isinstance(body, dict):
            raise BadRequest("Malformed request body: a JSON object is required")
        return body

    @app.get("/")
    def versions(request: Request) -> dict[str, Any]:
        return {"versions": [views.version_doc(base_url(request))]}

    @app.get("/v2.1", include_in_schema=False)
    def version_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{base_url(request)}/v2.1/", status_code=302)

    @app.get("/v2.1/")
    def version(request: Request) -> dict[str, Any]:
        return {"version": views.version_doc(base_url(request))}

    # --- flavors ---------------------------------------------------------

    def flavors() -> list[Any]:
        return sorted((r for r in list(backend.cache.catalog.values()) if hasattr(r, "flavor") and not r.deleted), key=lambda r: r.flavor.id)

    def find_flavor(flavor_id: str) -> Any:
        row = backend.cache.catalog.get(f"flavor:{flavor_id}")
        if row is None or row.deleted:
            raise NotFound(f"Flavor {flavor_id} could not be found.")
        return row

    @app.get("/v2.1/flavors")
    def list_flavors(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"flavors": [views.flavor_brief(base_url(request), r) for r in flavors()]}

    @app.get("/v2.1/flavors/detail")
    def list_flavors_detail(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"flavors": [views.flavor_detail(base_url(request), r) for r in flavors()]}

    @app.get("/v2.1/flavors/{flavor_id}")
    def show_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"flavor": views.flavor_detail(base_url(request), find_flavor(flavor_id))}

    @app.post("/v2.1/flavors")
    def create_flavor(request: Request, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        flavor, out = commands.create_flavor(ctx, body)
        existing = backend.cache.catalog.get(f"flavor:{flavor.id}")
        if existing is not None and not existing.deleted:
            raise ApiFault(409, f"Flavor with ID {flavor.id} already exists.")
        if any(r.flavor.name == flavor.name for r in flavors()):
            raise ApiFault(409, f"Flavor with name {flavor.name} already exists.")
        (pos,) = backend.log.append([out])
        key = out.key
        await_write(lambda: getattr(backend.cache.catalog.get(key), "offset", -1) >= pos.offset, key)
        # The write is durable; if the projection lags, answer from the value written.
        row = backend.cache.catalog.get(key) or FlavorState(flavor=flavor, created_at=utcnow(), offset=pos.offset)
        return {"flavor": views.flavor_detail(base_url(request), row)}

    def catalog_write(out: Any, done: Any) -> None:
        """Append a catalog event and wait until the read cache shows its effect."""
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.catalog.get(out.key), "offset", -1) >= pos.offset and done(), out.key)

    @app.delete("/v2.1/flavors/{flavor_id}", status_code=202)
    def delete_flavor(flavor_id: str, ctx: RequestContext = Depends(context)) -> Response:
        ctx.require_admin()
        find_flavor(flavor_id)
        out = commands.delete_flavor(ctx, flavor_id)
        catalog_write(out, lambda: backend.cache.catalog[out.key].deleted)
        return Response(status_code=202)

    @app.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
    def list_extra_specs(flavor_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"extra_specs": dict(find_flavor(flavor_id).flavor.extra_specs)}

    @app.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
    def create_extra_specs(flavor_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        find_flavor(flavor_id)
        specs, out = commands.set_extra_specs(ctx, flavor_id, body)
        catalog_write(out, lambda: all(backend.cache.catalog[out.key].flavor.extra_specs.get(k) == v for k, v in specs.items()))
        return {"extra_specs": specs}

    @app.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def show_extra_spec(flavor_id: str, key: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        specs = find_flavor(flavor_id).flavor.extra_specs
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        return {key: specs[key]}

    @app.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def update_extra_spec(flavor_id: str, key: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        find_flavor(flavor_id)
        specs, out = commands.set_extra_specs(ctx, flavor_id, body, key)
        catalog_write(out, lambda: backend.cache.catalog[out.key].flavor.extra_specs.get(key) == specs[key])
        return specs

    @app.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def delete_extra_spec(flavor_id: str, key: str, ctx: RequestContext = Depends(context)) -> Response:
        ctx.require_admin()
        if key not in find_flavor(flavor_id).flavor.extra_specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        out = commands.delete_extra_spec(ctx, flavor_id, key)
        catalog_write(out, lambda: key not in backend.cache.catalog[out.key].flavor.extra_specs)
        return Response(status_code=200)

    # --- servers ---------------------------------------------------------

    def visible(row: Any, ctx: RequestContext) -> bool:
        return row.vm_state != "deleted" and (row.project_id == ctx.project_id)

    def find_server(server_id: str, ctx: RequestContext) -> Any:
        row = backend.cache.instances.get(server_id)
        if row is None or row.vm_state == "deleted" or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Instance {server_id} could not be found.")
        return row

    def servers_of(ctx: RequestContext, all_tenants: bool) -> list[Any]:
        rows = [r for r in list(backend.cache.instances.values()) if r.vm_state != "deleted"]
        if not (all_tenants and ctx.is_admin):
            rows = [r for r in rows if visible(r, ctx)]
        return sorted(rows, key=lambda r: (r.created_at, r.instance_id), reverse=True)

    def truthy(value: str | None) -> bool:
        return value is not None and value.lower() in ("1", "true", "yes", "")

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

    @app.get("/v2.1/servers")
    def list_servers(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        rows = servers_of(ctx, truthy(request.query_params.get("all_tenants")))
        return {"servers": [views.server_brief(base_url(request), r) for r in rows]}

    @app.get("/v2.1/servers/detail")
    def list_servers_detail(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        rows = servers_of(ctx, truthy(request.query_params.get("all_tenants")))
        return {"servers": [views.server_detail(base_url(request), r, ctx.is_admin) for r in rows]}

    @app.get("/v2.1/servers/{server_id}")
    def show_server(server_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"server": views.server_detail(base_url(request), find_server(server_id, ctx), ctx.is_admin)}

    @app.post("/v2.1/servers", status_code=202)
    def create_server(request: Request, response: Response, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        server = body.get("server")
        if not isinstance(server, dict):
            raise BadRequest("Invalid input for field/attribute server.")
        name = server.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadRequest("Invalid input for field/attribute name.")
        flavor_ref = server.get("flavorRef")
        if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool) or str(flavor_ref) == "":
            raise BadRequest("Invalid input for field/attribute flavorRef.")
        flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
        row = backend.cache.catalog.get(f"flavor:{flavor_id}")
        if row is None or row.deleted:
            raise BadRequest(f"Flavor {flavor_ref} could not be found.")
        image_ref = server.get("imageRef")
        if image_ref is not None and not isinstance(image_ref, str):
            raise BadRequest("Invalid input for field/attribute imageRef.")
        metadata = server.get("metadata", {})
        if not isinstance(metadata, dict):
            raise BadRequest("Invalid input for field/attribute metadata.")
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
        if not isinstance(hints, dict):
            raise BadRequest("Invalid input for field/attribute os:scheduler_hints.")
        hint_lists = {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in hints.items()}
        min_count, max_count = counts(server)
        outs = commands.build_servers(ctx, body, row.flavor, hint_lists, min_count, max_count)
        positions = backend.log.append(outs)
        for out, pos in zip(outs, positions):
            await_write(lambda key=out.key, at=pos.offset: getattr(backend.cache.instances.get(key), "offset", -1) >= at, out.key)
        instance_id = outs[-1].key  # the first instance of the request
        base = base_url(request)
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

    @app.delete("/v2.1/servers/{server_id}", status_code=204)
    def delete_server(server_id: str, ctx: RequestContext = Depends(context)) -> Response:
        row = find_server(server_id, ctx)
        out = commands.delete_server(ctx, row.instance_id)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.instances.get(server_id), "offset", -1) >= pos.offset, server_id)
        return Response(status_code=204)

    @app.post("/v2.1/servers/{server_id}/action", status_code=202)
    def server_action(server_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> Response:
        row = find_server(server_id, ctx)
        if len(body) == 1 and next(iter(body)) in MOVE_ALLOWED:
            return move_action(row, *next(iter(body.items())), ctx)
        action, reboot_type = commands.parse_action(body)
        problem = refusal(action, reboot_type, row.instance_id, row.vm_state, row.task_state, row.host)
        if problem:
            raise Conflict(problem)
        out = commands.request_action(ctx, row.instance_id, action, reboot_type)
        (pos,) = backend.log.append([out])
        await_write(lambda: getattr(backend.cache.instances.get(server_id), "offset", -1) >= pos.offset, server_id)
        return Response(status_code=202)

    def move_action(row: Any, name: str, args: Any, ctx: RequestContext) -> Response:
        """resize, confirmResize, revertResize, migrate, os-migrateLive, evacuate: Nova's checks, then one event."""
        if name in ADMIN_ONLY_MOVES:
            ctx.require_admin()
        target = commands.parse_move(name, args)
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
        if name == "evacuate":  # Nova 2.1 answers with the instance's new admin password
            return JSONResponse({"adminPass": uuid.uuid4().hex[:12]}, status_code=200)
        return Response(status_code=202)

    def resize_flavor(row: Any, flavor_ref: Any) -> Any:
        if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool):
            raise BadRequest("Invalid input for field/attribute flavorRef.")
        found = backend.cache.catalog.get(f"flavor:{str(flavor_ref).rstrip('/').rsplit('/', 1)[-1]}")
        if found is None or found.deleted:
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

    # --- services --------------------------------------------------------

    @app.get("/v2.1/os-services")
    def list_services(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        host, binary = request.query_params.get("host"), request.query_params.get("binary")
        return {
            "services": [
                views.service_view(r, up) for r, up in hypervisor_rows()
                if (host is None or r.host == host) and (binary is None or binary == "nova-compute")
            ]
        }

    @app.put("/v2.1/os-services/{verb}")
    def update_service(verb: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        if verb not in ("enable", "disable", "disable-log-reason"):
            raise NotFound(f"Unknown action {verb}")
        host, binary = body.get("host"), body.get("binary")
        if not isinstance(host, str) or not isinstance(binary, str):
            raise BadRequest("Invalid input: 'host' and 'binary' are required strings.")
        if binary != "nova-compute" or host not in backend.cache.hosts:
            raise NotFound(f"Compute host {host} could not be found.")
        reason = body.get("disabled_reason") if verb == "disable-log-reason" else None
        if verb == "disable-log-reason" and (not isinstance(reason, str) or not reason.strip() or len(reason) > 255):
            raise BadRequest("Invalid input for field/attribute disabled_reason.")
        disabled = verb != "enable"
        backend.log.append([commands.update_service(ctx, host, disabled, reason)])
        await_write(lambda: (r := backend.cache.hosts.get(host)) is not None and r.disabled == disabled and r.disabled_reason == reason, host)
        service = {"host": host, "binary": binary, "status": "disabled" if disabled else "enabled"}
        if verb == "disable-log-reason":
            service["disabled_reason"] = reason
        return {"service": service}

    # --- hypervisors -----------------------------------------------------

    def hypervisor_rows() -> list[tuple[Any, bool]]:
        now = utcnow()
        rows = sorted(list(backend.cache.hosts.values()), key=lambda r: r.host)
        return [(r, views.host_is_up(r, now, backend.service_down_time)) for r in rows if r.capacity_reported_at is not None]

    @app.get("/v2.1/os-hypervisors")
    def list_hypervisors(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        return {"hypervisors": [views.hypervisor_brief(r, up) for r, up in hypervisor_rows()]}

    @app.get("/v2.1/os-hypervisors/detail")
    def list_hypervisors_detail(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        return {"hypervisors": [views.hypervisor_detail(r, up) for r, up in hypervisor_rows()]}

    @app.get("/v2.1/os-hypervisors/{hypervisor_id}")
    def show_hypervisor(hypervisor_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        ctx.require_admin()
        for r, up in hypervisor_rows():
            if str(views.hypervisor_numeric_id(r.host)) == hypervisor_id:
                return {"hypervisor": views.hypervisor_detail(r, up)}
        raise NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")

    return app
