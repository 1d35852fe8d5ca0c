"""Quotas and limits: os-quota-sets (show, detail, defaults, update, revert) and /limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from novalog.api.compute import commands
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import BadRequest
from novalog.events.quotas import DEFAULT_LIMITS, limits_of, usage_of
from novalog.events.state import KeypairState, ServerGroupState

# The keys of a quota set at 2.1 (the network ones are shown, not enforced).
QUOTA_KEYS = tuple(DEFAULT_LIMITS)


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    def defaults() -> dict[str, int]:
        return {**DEFAULT_LIMITS, **backend.quota_defaults}

    def quota_row(project_id: str) -> Any:
        return backend.cache.quotas.get(project_id)

    def in_use(project_id: str, user_id: str | None = None) -> dict[str, int]:
        row = quota_row(project_id)
        used = usage_of(row)
        tenant = list(backend.cache.tenant.values())
        used["server_groups"] = sum(1 for r in tenant if isinstance(r, ServerGroupState) and r.project_id == project_id and not r.deleted)
        # Key pairs are a user's: counted for the caller's own user.
        used["key_pairs"] = sum(1 for r in tenant if isinstance(r, KeypairState) and r.user_id == user_id and not r.deleted) if user_id else 0
        return {key: used.get(key, 0) for key in QUOTA_KEYS}

    @router.get("/v2.1/os-quota-sets/{project_id}")
    def show_quota(project_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-quota-sets:show", ctx, project_id)
        limits = limits_of(quota_row(project_id), defaults())
        return {"quota_set": {"id": project_id, **{key: limits[key] for key in QUOTA_KEYS}}}

    @router.get("/v2.1/os-quota-sets/{project_id}/defaults")
    def show_defaults(project_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-quota-sets:defaults", ctx, project_id)
        return {"quota_set": {"id": project_id, **{key: defaults()[key] for key in QUOTA_KEYS}}}

    @router.get("/v2.1/os-quota-sets/{project_id}/detail")
    def show_detail(project_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-quota-sets:detail", ctx, project_id)
        limits, used = limits_of(quota_row(project_id), defaults()), in_use(project_id, ctx.user_id if project_id == ctx.project_id else None)
        return {"quota_set": {"id": project_id, **{key: {"limit": limits[key], "in_use": used[key], "reserved": 0} for key in QUOTA_KEYS}}}

    @router.put("/v2.1/os-quota-sets/{project_id}")
    def update_quota(project_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-quota-sets:update", ctx, project_id)
        changes = body.get("quota_set")
        if not isinstance(changes, dict) or not changes:
            raise BadRequest("Invalid input for field/attribute quota_set.")
        force = changes.pop("force", False)
        if not isinstance(force, bool | str):
            raise BadRequest("Invalid input for field/attribute force.")
        limits: dict[str, int] = {}
        for key, value in changes.items():
            if key not in QUOTA_KEYS:
                raise BadRequest(f"Invalid input for field/attribute quota_set. Additional properties are not allowed ('{key}' was unexpected)")
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}.") from None
            if isinstance(value, bool) or number < -1 or str(number) != str(value).strip():
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}.")
            limits[key] = number
        used = in_use(project_id)
        if not (force is True or str(force).lower() == "true"):
            for key, limit in limits.items():
                if limit != -1 and limit < used.get(key, 0):
                    raise BadRequest(f"Quota limit {limit} for {key} must be greater than or equal to already used and reserved {used[key]}.")
        (pos,) = backend.log.append([commands.update_quota(ctx, project_id, limits)])
        await_write(lambda: (r := quota_row(project_id)) is not None and r.offset >= pos.offset, project_id)
        current = limits_of(quota_row(project_id), defaults())
        current.update(limits)  # answer with what was written even if the cache lags
        return {"quota_set": {key: current[key] for key in QUOTA_KEYS}}

    @router.delete("/v2.1/os-quota-sets/{project_id}", status_code=202)
    def revert_quota(project_id: str, ctx: RequestContext = Depends(context)) -> Response:
        api.authorize("os_compute_api:os-quota-sets:delete", ctx, project_id)
        (pos,) = backend.log.append([commands.update_quota(ctx, project_id, {}, reset=True)])
        await_write(lambda: (r := quota_row(project_id)) is not None and r.offset >= pos.offset, project_id)
        return Response(status_code=202)

    @router.get("/v2.1/limits")
    def show_limits(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:limits", ctx)
        project_id = ctx.project_id
        if "tenant_id" in request.query_params:
            api.authorize("os_compute_api:os-used-limits", ctx)
            project_id = request.query_params["tenant_id"]
        limits, used = limits_of(quota_row(project_id), defaults()), in_use(project_id, ctx.user_id if project_id == ctx.project_id else None)
        absolute = {
            "maxTotalInstances": limits["instances"],
            "maxTotalCores": limits["cores"],
            "maxTotalRAMSize": limits["ram"],
            "maxServerMeta": limits["metadata_items"],
            "maxImageMeta": limits["metadata_items"],
            "maxPersonality": limits["injected_files"],
            "maxPersonalitySize": limits["injected_file_content_bytes"],
            "maxTotalKeypairs": limits["key_pairs"],
            "maxServerGroups": limits["server_groups"],
            "maxServerGroupMembers": limits["server_group_members"],
            "maxTotalFloatingIps": limits["floating_ips"],
            "maxSecurityGroups": limits["security_groups"],
            "maxSecurityGroupRules": limits["security_group_rules"],
            "totalInstancesUsed": used["instances"],
            "totalCoresUsed": used["cores"],
            "totalRAMUsed": used["ram"],
            "totalServerGroupsUsed": used["server_groups"],
            "totalFloatingIpsUsed": 0,
            "totalSecurityGroupsUsed": 0,
        }
        return {"limits": {"rate": [], "absolute": absolute}}

    return router
