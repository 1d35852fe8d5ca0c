"""The compute hosts as Nova shows them: os-services and os-hypervisors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from novalog.api.compute import commands
from novalog.api.compute import views
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import BadRequest, NotFound
from novalog.api.microversion import Version
from novalog.events.records import utcnow

FORCE_DOWN = Version(2, 11)


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    @router.get("/v2.1/os-services")
    def list_services(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-services:list", ctx)
        host, binary = request.query_params.get("host"), request.query_params.get("binary")
        version = api.version(request)
        return {
            "services": [
                views.service_view(r, up, version) for r, up in hypervisor_rows()
                if (host is None or r.host == host) and (binary is None or binary == "nova-compute")
            ]
        }

    @router.put("/v2.1/os-services/{verb}")
    def update_service(
        verb: str, request: Request, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)
    ) -> dict[str, Any]:
        api.authorize("os_compute_api:os-services:update", ctx)
        verbs = ("enable", "disable", "disable-log-reason") + (("force-down",) if api.version(request) >= FORCE_DOWN else ())
        if verb not in verbs:
            raise NotFound(f"Unknown action {verb}")
        host, binary = body.get("host"), body.get("binary")
        if not isinstance(host, str) or not isinstance(binary, str):
            raise BadRequest("Invalid input: 'host' and 'binary' are required strings.")
        if binary != "nova-compute" or host not in backend.cache.hosts:
            raise NotFound(f"Compute host {host} could not be found.")
        row = backend.cache.hosts[host]
        if verb == "force-down":
            forced_down = body.get("forced_down")
            if not isinstance(forced_down, bool):
                raise BadRequest("Invalid input for field/attribute forced_down. Value: must be a boolean.")
            backend.log.append([commands.update_service(ctx, host, row.disabled, row.disabled_reason, forced_down)])
            await_write(lambda: (r := backend.cache.hosts.get(host)) is not None and r.forced_down == forced_down, host)
            return {"service": {"host": host, "binary": binary, "forced_down": forced_down}}
        reason = body.get("disabled_reason") if verb == "disable-log-reason" else None
        if verb == "disable-log-reason" and (not isinstance(reason, str) or not reason.strip() or len(reason) > 255):
            raise BadRequest("Invalid input for field/attribute disabled_reason.")
        disabled = verb != "enable"
        backend.log.append([commands.update_service(ctx, host, disabled, reason, row.forced_down)])
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

    @router.get("/v2.1/os-hypervisors")
    def list_hypervisors(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-hypervisors:list", ctx)
        return {"hypervisors": [views.hypervisor_brief(r, up) for r, up in hypervisor_rows()]}

    @router.get("/v2.1/os-hypervisors/detail")
    def list_hypervisors_detail(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-hypervisors:list-detail", ctx)
        return {"hypervisors": [views.hypervisor_detail(r, up) for r, up in hypervisor_rows()]}

    @router.get("/v2.1/os-hypervisors/statistics")
    def hypervisor_statistics(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-hypervisors:statistics", ctx)
        return {"hypervisor_statistics": views.hypervisor_statistics(hypervisor_rows())}

    @router.get("/v2.1/os-hypervisors/{hypervisor_id}")
    def show_hypervisor(hypervisor_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-hypervisors:show", ctx)
        for r, up in hypervisor_rows():
            if str(views.hypervisor_numeric_id(r.host)) == hypervisor_id:
                return {"hypervisor": views.hypervisor_detail(r, up)}
        raise NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")

    return router
