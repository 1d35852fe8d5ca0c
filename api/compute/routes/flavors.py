"""Flavors and their extra specs (os-extra_specs): catalog events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from novalog.api.compute import commands
from novalog.api import paging
from novalog.api.compute import queries
from novalog.api.compute import views
from novalog.api.context import RequestContext
from novalog.api.deps import Api, base_url
from novalog.api.faults import ApiFault, BadRequest, NotFound
from novalog.events.records import utcnow
from novalog.events.state import FlavorState


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    def flavors() -> list[Any]:
        return sorted((r for r in list(backend.cache.catalog.values()) if hasattr(r, "flavor") and not r.deleted), key=lambda r: r.flavor.id)

    def find_flavor(flavor_id: str) -> Any:
        row = backend.cache.catalog.get(f"flavor:{flavor_id}")
        if row is None or row.deleted:
            raise NotFound(f"Flavor {flavor_id} could not be found.")
        return row

    def listed(request: Request, ctx: RequestContext) -> tuple[list[Any], dict[str, Any]]:
        params = dict(request.query_params)
        rows = queries.select_flavors(list(backend.cache.catalog.values()), params, ctx.is_admin, ctx.project_id)
        return paging.page(rows, lambda r: r.flavor.id, params, f"{base_url(request)}{request.url.path}", "flavors")

    @router.get("/v2.1/flavors")
    def list_flavors(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        rows, links = listed(request, ctx)
        return {"flavors": [views.flavor_brief(base_url(request), r) for r in rows], **links}

    @router.get("/v2.1/flavors/detail")
    def list_flavors_detail(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        rows, links = listed(request, ctx)
        return {"flavors": [views.flavor_detail(base_url(request), r) for r in rows], **links}

    @router.get("/v2.1/flavors/{flavor_id}")
    def show_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        row = find_flavor(flavor_id)
        if not queries.flavor_visible(row, ctx.project_id, ctx.is_admin):
            raise NotFound(f"Flavor {flavor_id} could not be found.")
        return {"flavor": views.flavor_detail(base_url(request), row)}

    @router.post("/v2.1/flavors")
    def create_flavor(request: Request, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-manage:create", ctx)
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

    @router.delete("/v2.1/flavors/{flavor_id}", status_code=202)
    def delete_flavor(flavor_id: str, ctx: RequestContext = Depends(context)) -> Response:
        api.authorize("os_compute_api:os-flavor-manage:delete", ctx)
        find_flavor(flavor_id)
        out = commands.delete_flavor(ctx, flavor_id)
        catalog_write(out, lambda: backend.cache.catalog[out.key].deleted)
        return Response(status_code=202)

    @router.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
    def list_extra_specs(flavor_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-extra-specs:index", ctx)
        return {"extra_specs": dict(find_flavor(flavor_id).flavor.extra_specs)}

    @router.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
    def create_extra_specs(flavor_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-extra-specs:create", ctx)
        find_flavor(flavor_id)
        specs, out = commands.set_extra_specs(ctx, flavor_id, body)
        catalog_write(out, lambda: all(backend.cache.catalog[out.key].flavor.extra_specs.get(k) == v for k, v in specs.items()))
        return {"extra_specs": specs}

    @router.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def show_extra_spec(flavor_id: str, key: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-extra-specs:show", ctx)
        specs = find_flavor(flavor_id).flavor.extra_specs
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        return {key: specs[key]}

    @router.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def update_extra_spec(flavor_id: str, key: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-extra-specs:update", ctx)
        find_flavor(flavor_id)
        specs, out = commands.set_extra_specs(ctx, flavor_id, body, key)
        catalog_write(out, lambda: backend.cache.catalog[out.key].flavor.extra_specs.get(key) == specs[key])
        return specs

    @router.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
    def delete_extra_spec(flavor_id: str, key: str, ctx: RequestContext = Depends(context)) -> Response:
        api.authorize("os_compute_api:os-flavor-extra-specs:delete", ctx)
        if key not in find_flavor(flavor_id).flavor.extra_specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        out = commands.delete_extra_spec(ctx, flavor_id, key)
        catalog_write(out, lambda: key not in backend.cache.catalog[out.key].flavor.extra_specs)
        return Response(status_code=200)

    # --- flavor access (os-flavor-access) -------------------------------------

    def access_view(row: Any) -> dict[str, Any]:
        return {"flavor_access": [{"flavor_id": row.flavor.id, "tenant_id": project} for project in row.projects]}

    @router.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
    def list_access(flavor_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-flavor-access", ctx)
        row = find_flavor(flavor_id)
        if row.flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return access_view(row)

    @router.post("/v2.1/flavors/{flavor_id}/action")
    def flavor_action(flavor_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        if len(body) != 1 or next(iter(body)) not in ("addTenantAccess", "removeTenantAccess"):
            raise BadRequest("There is either no action or more than one action in the request body.")
        ((name, args),) = body.items()
        adding = name == "addTenantAccess"
        api.authorize(f"os_compute_api:os-flavor-access:{'add_tenant_access' if adding else 'remove_tenant_access'}", ctx)
        row = find_flavor(flavor_id)
        project = args.get("tenant") if isinstance(args, dict) else None
        if not isinstance(project, str) or not project.strip() or len(project) > 255:
            raise BadRequest(f"Invalid input for field/attribute {name}.")
        if row.flavor.is_public:
            raise ApiFault(409, "Can not add access to a public flavor.")
        if adding and project in row.projects:
            raise ApiFault(409, f"Flavor access already exists for flavor {flavor_id} and project {project} combination.")
        if not adding and project not in row.projects:
            raise NotFound(f"Flavor access not found for {flavor_id} / {project} combination.")
        out = commands.flavor_access(ctx, flavor_id, project, adding)
        catalog_write(out, lambda: (project in backend.cache.catalog[out.key].projects) == adding)
        return access_view(backend.cache.catalog[out.key])

    return router
