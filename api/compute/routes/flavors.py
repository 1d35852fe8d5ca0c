"""Flavors, their extra specs (os-extra_specs) and access (os-flavor-access): catalog events."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from novalog.api import bodies, paging
from novalog.api.compute import body_types, commands, queries, views
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, BaseUrl, Ctx
from novalog.api.faults import BadRequest, Conflict, NotFound
from novalog.api.guards import Authorized
from novalog.events.records import utcnow
from novalog.events.state import FlavorState

router = APIRouter()


def _a_name(value: str) -> str:
    """Nova's `name` format: printable, and not starting or ending with whitespace."""
    if value != value.strip() or not value.isprintable():
        raise ValueError(f"{value!r} is not a 'name'")
    return value


def _swap(value: Any) -> Any:
    """Nova takes an empty string for no swap."""
    return 0 if value == "" else value


def _factor(value: Any) -> Any:
    """rxtx_factor also comes as a string of a decimal number ("1.5")."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        return float(value)
    return value


FlavorName = Annotated[bodies.Name, AfterValidator(_a_name)]
# Letters, digits, ". _-", not starting or ending with a space (Nova's `^(?! )[a-zA-Z0-9. _-]+(?<! )$`).
FlavorId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9._-]([a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$")]
Positive = Annotated[bodies.WholeNumber, Field(ge=1, le=body_types.MAX_INT)]
NonNegative = Annotated[bodies.WholeNumber, Field(ge=0, le=body_types.MAX_INT)]
Swap = Annotated[NonNegative, BeforeValidator(_swap)]
Factor = Annotated[
    float, BeforeValidator(_factor), Field(gt=0, le=3.40282e38),
    WithJsonSchema({"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$", "exclusiveMinimum": 0, "maximum": 3.40282e38}),
]


class NewFlavor(bodies.Body):
    """A flavor to create, as Nova takes it at 2.1 (the sizes also as strings of digits); only the wire names (aliases)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, strict=True)

    name: FlavorName
    id: FlavorId | None = None  # null or left out: a UUID is made
    ram: Positive
    vcpus: Positive
    disk: NonNegative
    # Left out: Nova's default; null is refused, as Nova refuses it.
    ephemeral: NonNegative = Field(None, alias="OS-FLV-EXT-DATA:ephemeral")  # type: ignore[assignment]
    swap: Swap = None  # type: ignore[assignment]
    rxtx_factor: Factor = None  # type: ignore[assignment]
    is_public: body_types.Boolean = Field(None, alias="os-flavor-access:is_public")  # type: ignore[assignment]


class FlavorCreate(bodies.Body):
    flavor: NewFlavor


def _short_enough(value: Any) -> Any:
    """A number is stored as its string, which Nova also holds to 255 characters."""
    if len(str(value)) > 255:
        raise ValueError(f"{value!r} is too long")
    return value


# Nova's extra spec key pattern `^[a-zA-Z0-9-_:. ]{1,255}$`, and values: a string of at most 255 characters, a number or a boolean.
SpecKey = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_:. -]{1,255}$")]
SpecValue = Annotated[Annotated[str, Field(max_length=255)] | int | float | bool, AfterValidator(_short_enough)]
ExtraSpecs = dict[SpecKey, SpecValue]


class ExtraSpecsCreate(bodies.Body):
    extra_specs: ExtraSpecs


class TenantAccess(bodies.Body):
    tenant: Annotated[str, Field(min_length=1, max_length=255)]


class FlavorAction(bodies.Body):
    """POST /flavors/{id}/action: exactly one of addTenantAccess, removeTenantAccess."""

    # Left out: not this action; null is refused, as Nova refuses it.
    addTenantAccess: TenantAccess = None  # type: ignore[assignment]
    removeTenantAccess: TenantAccess = None  # type: ignore[assignment]


def live_flavors(api: Api) -> list[FlavorState]:
    return api.backend.cache.flavors()


def find_flavor(api: Api, flavor_id: str) -> FlavorState:
    row = api.backend.cache.flavor(flavor_id)
    if row is None or row.deleted:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return row


def listed(request: Request, api: Api, ctx: RequestContext, base: str) -> tuple[list[Any], dict[str, Any]]:
    """The flavors the caller may see, filtered (`minRam`, `minDisk`, `is_public`) and paged (`limit`, `marker`)."""
    params = dict(request.query_params)
    rows = queries.select_flavors(api.backend.cache.flavors(), params, ctx.is_admin, ctx.project_id)
    return paging.page(rows, lambda r: r.flavor.id, params, f"{base}{request.url.path}", "flavors")


@router.get("/v2.1/flavors")
def list_flavors(request: Request, api: ApiDep, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    rows, links = listed(request, api, ctx, base)
    return {"flavors": [views.flavor_brief(base, r) for r in rows], **links}


@router.get("/v2.1/flavors/detail")
def list_flavors_detail(request: Request, api: ApiDep, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    rows, links = listed(request, api, ctx, base)
    return {"flavors": [views.flavor_detail(base, r) for r in rows], **links}


@router.get("/v2.1/flavors/{flavor_id}")
def show_flavor(flavor_id: str, api: ApiDep, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    row = find_flavor(api, flavor_id)
    if not queries.flavor_visible(row, ctx.project_id, ctx.is_admin):
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return {"flavor": views.flavor_detail(base, row)}


@router.post("/v2.1/flavors", dependencies=[Depends(Authorized("os_compute_api:os-flavor-manage:create"))])
def create_flavor(body: Annotated[FlavorCreate, Body()], api: ApiDep, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    flavor, out = commands.create_flavor(ctx, body.flavor.given())
    existing = api.backend.cache.flavor(flavor.id)
    if existing is not None and not existing.deleted:
        raise Conflict(f"Flavor with ID {flavor.id} already exists.")
    if any(r.flavor.name == flavor.name for r in live_flavors(api)):
        raise Conflict(f"Flavor with name {flavor.name} already exists.")
    # The write is durable; if the projection lags, answer from the value written.
    row = api.write(out) or FlavorState(flavor=flavor, created_at=utcnow())
    return {"flavor": views.flavor_detail(base, row)}


@router.delete("/v2.1/flavors/{flavor_id}", status_code=202)
def delete_flavor(flavor_id: str, api: ApiDep, ctx: Ctx) -> Response:
    api.authorize("os_compute_api:os-flavor-manage:delete", ctx)
    find_flavor(api, flavor_id)
    api.write(commands.delete_flavor(ctx, flavor_id))
    return Response(status_code=202)


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
def list_extra_specs(flavor_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-flavor-extra-specs:index", ctx)
    return {"extra_specs": dict(find_flavor(api, flavor_id).flavor.extra_specs)}


@router.post("/v2.1/flavors/{flavor_id}/os-extra_specs", dependencies=[Depends(Authorized("os_compute_api:os-flavor-extra-specs:create"))])
def create_extra_specs(flavor_id: str, body: Annotated[ExtraSpecsCreate, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    find_flavor(api, flavor_id)
    if not body.extra_specs:  # nothing to set
        return {"extra_specs": {}}
    specs, out = commands.set_extra_specs(ctx, flavor_id, body.extra_specs)
    api.write(out)
    return {"extra_specs": specs}


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def show_extra_spec(flavor_id: str, key: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-flavor-extra-specs:show", ctx)
    specs = find_flavor(api, flavor_id).flavor.extra_specs
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return {key: specs[key]}


@router.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", dependencies=[Depends(Authorized("os_compute_api:os-flavor-extra-specs:update"))])
def update_extra_spec(flavor_id: str, key: str, body: Annotated[ExtraSpecs, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    if len(body) != 1:  # exactly one key, as Nova takes it
        raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. {body!r} has {'too many' if body else 'not enough'} properties")
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    find_flavor(api, flavor_id)
    specs, out = commands.set_extra_specs(ctx, flavor_id, body)
    api.write(out)
    return specs


@router.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def delete_extra_spec(flavor_id: str, key: str, api: ApiDep, ctx: Ctx) -> Response:
    api.authorize("os_compute_api:os-flavor-extra-specs:delete", ctx)
    if key not in find_flavor(api, flavor_id).flavor.extra_specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    api.write(commands.delete_extra_spec(ctx, flavor_id, key))
    return Response(status_code=200)


# --- flavor access (os-flavor-access) -------------------------------------


def access_view(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": project} for project in projects]}


@router.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
def list_access(flavor_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-flavor-access", ctx)
    row = find_flavor(api, flavor_id)
    if row.flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return access_view(row.flavor.id, row.projects)


@router.post("/v2.1/flavors/{flavor_id}/action")
def flavor_action(flavor_id: str, body: Annotated[FlavorAction, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    given = body.given()
    if len(given) != 1:
        raise BadRequest("There is either no action or more than one action in the request body.")
    adding = "addTenantAccess" in given
    project = (body.addTenantAccess or body.removeTenantAccess).tenant
    api.authorize(f"os_compute_api:os-flavor-access:{'add_tenant_access' if adding else 'remove_tenant_access'}", ctx)
    row = find_flavor(api, flavor_id)
    if row.flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if adding and project in row.projects:
        raise Conflict(f"Flavor access already exists for flavor {flavor_id} and project {project} combination.")
    if not adding and project not in row.projects:
        raise NotFound(f"Flavor access not found for {flavor_id} / {project} combination.")
    written = api.write(commands.flavor_access(ctx, flavor_id, project, adding))
    if written is not None:
        return access_view(written.flavor.id, written.projects)
    # The projection lags: answer with the list as the write leaves it.
    return access_view(row.flavor.id, [*row.projects, project] if adding else [p for p in row.projects if p != project])
