"""The compute hosts as Nova shows them: os-services and os-hypervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from novalog.api import bodies
from novalog.api.compute import body_types, commands, views
from novalog.api.deps import Api, ApiDep, Ctx, Microversion
from novalog.api.faults import BadRequest, NotFound
from novalog.api.guards import Authorized
from novalog.api.microversion import Version
from novalog.events.records import utcnow

FORCE_DOWN = Version(2, 11)

router = APIRouter()


class ServiceUpdate(bodies.Body):
    """PUT /os-services/{enable,disable,disable-log-reason,force-down}: which service, and (by verb) why or whether forced down (2.11)."""

    host: bodies.Name
    binary: bodies.Name
    # Left out: not given; null is refused, as Nova refuses it.
    disabled_reason: bodies.Name = None  # type: ignore[assignment]
    forced_down: body_types.Boolean = None  # type: ignore[assignment]


def hypervisor_rows(api: Api) -> list[tuple[Any, bool]]:
    """The hosts that have reported their capacity, by name, each with whether its service is up."""
    now = utcnow()
    rows = api.backend.cache.host_rows()
    return [(r, views.host_is_up(r, now, api.backend.service_down_time)) for r in rows if r.capacity_reported_at is not None]


@router.get("/v2.1/os-services")
def list_services(api: ApiDep, ctx: Ctx, version: Microversion, host: str | None = None, binary: str | None = None) -> dict[str, Any]:
    api.authorize("os_compute_api:os-services:list", ctx)
    return {
        "services": [
            views.service_view(r, up, version) for r, up in hypervisor_rows(api)
            if (host is None or r.host == host) and (binary is None or binary == "nova-compute")
        ]
    }


@router.put("/v2.1/os-services/{verb}", dependencies=[Depends(Authorized("os_compute_api:os-services:update"))])
def update_service(verb: str, body: Annotated[ServiceUpdate, Body()], api: ApiDep, ctx: Ctx, version: Microversion) -> dict[str, Any]:
    verbs = ("enable", "disable", "disable-log-reason") + (("force-down",) if version >= FORCE_DOWN else ())
    if verb not in verbs:
        raise NotFound(f"Unknown action {verb}")
    given = body.given()
    if "forced_down" in given and version < FORCE_DOWN:  # Nova takes the key from 2.11 on
        raise BadRequest(f"Invalid input for field/attribute body. Value: {given}. Additional properties are not allowed ('forced_down' was unexpected)")
    host, binary = body.host, body.binary
    row = api.backend.cache.host(host)
    if binary != "nova-compute" or row is None:
        raise NotFound(f"Compute host {host} could not be found.")
    if verb == "force-down":
        forced_down = body.forced_down
        if forced_down is None:
            raise BadRequest("Missing forced_down field")
        api.write(commands.update_service(ctx, host, row.disabled, row.disabled_reason, forced_down), until=lambda r: r.forced_down == forced_down)
        return {"service": {"host": host, "binary": binary, "forced_down": forced_down}}
    # The model types the reason as given; left out, it is None (see ServiceUpdate).
    given_reason: str | None = body.disabled_reason
    reason = given_reason if verb == "disable-log-reason" else None
    if verb == "disable-log-reason":
        if reason is None:
            raise BadRequest("Missing disabled reason field")
        if not reason.strip():
            raise BadRequest(f"Invalid input for field/attribute disabled_reason. Value: {reason}. {reason!r} is blank")
    disabled = verb != "enable"
    api.write(commands.update_service(ctx, host, disabled, reason, row.forced_down),
              until=lambda r: r.disabled == disabled and r.disabled_reason == reason)
    service = {"host": host, "binary": binary, "status": "disabled" if disabled else "enabled"}
    if reason is not None:
        service["disabled_reason"] = reason
    return {"service": service}


# --- hypervisors -----------------------------------------------------


@router.get("/v2.1/os-hypervisors")
def list_hypervisors(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-hypervisors:list", ctx)
    return {"hypervisors": [views.hypervisor_brief(r, up) for r, up in hypervisor_rows(api)]}


@router.get("/v2.1/os-hypervisors/detail")
def list_hypervisors_detail(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-hypervisors:list-detail", ctx)
    return {"hypervisors": [views.hypervisor_detail(r, up) for r, up in hypervisor_rows(api)]}


@router.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-hypervisors:statistics", ctx)
    return {"hypervisor_statistics": views.hypervisor_statistics(hypervisor_rows(api))}


@router.get("/v2.1/os-hypervisors/{hypervisor_id}")
def show_hypervisor(hypervisor_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-hypervisors:show", ctx)
    for r, up in hypervisor_rows(api):
        if str(views.hypervisor_numeric_id(r.host)) == hypervisor_id:
            return {"hypervisor": views.hypervisor_detail(r, up)}
    raise NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")
