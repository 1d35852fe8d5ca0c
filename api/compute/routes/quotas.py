"""Quotas and limits: os-quota-sets (show, detail, defaults, update, revert) and /limits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from pydantic import BeforeValidator, Field, WithJsonSchema, create_model

from novalog.api import bodies
from novalog.api.compute import body_types, commands
from novalog.api.deps import Api, ApiDep, Ctx
from novalog.api.faults import BadRequest
from novalog.api.guards import AuthorizedOnProject
from novalog.events.quotas import DEFAULT_LIMITS, limits_of, usage_of
from novalog.events.state import QuotaState

# The keys of a quota set at 2.1 (the network ones are shown, not enforced).
QUOTA_KEYS = tuple(DEFAULT_LIMITS)

router = APIRouter()


def _signed(value: Any) -> Any:
    """Nova's quota values also come as strings of digits, with a sign ("-1")."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value


# A quota limit as Nova takes it: -1 (unlimited) up to its largest integer, an integer or its digits as a string.
Limit = Annotated[
    int, BeforeValidator(_signed), Field(ge=-1, le=body_types.MAX_INT),
    WithJsonSchema({"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": body_types.MAX_INT}),
]

# The limits a PUT may set (any of the quota set's keys) and `force` (set them below what is in use).
# A key left out is not given (`given()`); null is refused, as Nova refuses it.
# Built from QUOTA_KEYS at run time; mypy, which cannot read a model made so, sees the Body it is.
if TYPE_CHECKING:
    class QuotaSetUpdate(bodies.Body):
        """The new limits of a project; `force` sets them even below what it uses."""
else:
    QuotaSetUpdate = create_model(
        "QuotaSetUpdate",
        __base__=bodies.Body,
        __doc__="The new limits of a project; `force` sets them even below what it uses.",
        force=(body_types.Boolean, None),
        **{key: (Limit, None) for key in QUOTA_KEYS},
    )


class QuotaUpdate(bodies.Body):
    quota_set: QuotaSetUpdate


def defaults(api: Api) -> dict[str, int]:
    return {**DEFAULT_LIMITS, **api.backend.quota_defaults}


def quota_row(api: Api, project_id: str) -> QuotaState | None:
    return api.backend.cache.quota_row(project_id)


def limits(api: Api, project_id: str) -> dict[str, int]:
    """The limits in force for a project: the defaults, then its own."""
    return limits_of(quota_row(api, project_id), defaults(api))


def in_use(api: Api, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What a project uses of each quota (key pairs: the user's own, when named)."""
    used = usage_of(quota_row(api, project_id))
    cache = api.backend.cache
    used["server_groups"] = sum(1 for r in cache.server_groups() if r.project_id == project_id)
    # Key pairs are a user's: counted for the caller's own user.
    used["key_pairs"] = len(cache.keypairs(user_id)) if user_id else 0
    return {key: used.get(key, 0) for key in QUOTA_KEYS}


@router.get("/v2.1/os-quota-sets/{project_id}")
def show_quota(project_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-quota-sets:show", ctx, project_id)
    current = limits(api, project_id)
    return {"quota_set": {"id": project_id, **{key: current[key] for key in QUOTA_KEYS}}}


@router.get("/v2.1/os-quota-sets/{project_id}/defaults")
def show_defaults(project_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-quota-sets:defaults", ctx, project_id)
    return {"quota_set": {"id": project_id, **{key: defaults(api)[key] for key in QUOTA_KEYS}}}


@router.get("/v2.1/os-quota-sets/{project_id}/detail")
def show_detail(project_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-quota-sets:detail", ctx, project_id)
    current, used = limits(api, project_id), in_use(api, project_id, ctx.user_id if project_id == ctx.project_id else None)
    return {"quota_set": {"id": project_id, **{key: {"limit": current[key], "in_use": used[key], "reserved": 0} for key in QUOTA_KEYS}}}


@router.put("/v2.1/os-quota-sets/{project_id}", dependencies=[Depends(AuthorizedOnProject("os_compute_api:os-quota-sets:update"))])
def update_quota(project_id: str, body: Annotated[QuotaUpdate, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    changes = body.quota_set.given()
    force = changes.pop("force", False)
    if not force:
        used = in_use(api, project_id)
        for key, limit in changes.items():
            if limit != -1 and limit < used[key]:
                raise BadRequest(f"Quota limit {limit} for {key} must be greater than or equal to already used and reserved {used[key]}.")
    if changes:
        api.write(commands.update_quota(ctx, project_id, changes))
    current = limits(api, project_id)
    current.update(changes)  # answer with what was written even if the cache lags
    return {"quota_set": {key: current[key] for key in QUOTA_KEYS}}


@router.delete("/v2.1/os-quota-sets/{project_id}", status_code=202)
def revert_quota(project_id: str, api: ApiDep, ctx: Ctx) -> Response:
    api.authorize("os_compute_api:os-quota-sets:delete", ctx, project_id)
    api.write(commands.update_quota(ctx, project_id, {}, reset=True))
    return Response(status_code=202)


@router.get("/v2.1/limits")
def show_limits(api: ApiDep, ctx: Ctx, tenant_id: str | None = None) -> dict[str, Any]:
    api.authorize("os_compute_api:limits", ctx)
    project_id = ctx.project_id
    if tenant_id is not None:
        api.authorize("os_compute_api:os-used-limits", ctx)
        project_id = tenant_id
    current, used = limits(api, project_id), in_use(api, project_id, ctx.user_id if project_id == ctx.project_id else None)
    absolute = {
        "maxTotalInstances": current["instances"],
        "maxTotalCores": current["cores"],
        "maxTotalRAMSize": current["ram"],
        "maxServerMeta": current["metadata_items"],
        "maxImageMeta": current["metadata_items"],
        "maxPersonality": current["injected_files"],
        "maxPersonalitySize": current["injected_file_content_bytes"],
        "maxTotalKeypairs": current["key_pairs"],
        "maxServerGroups": current["server_groups"],
        "maxServerGroupMembers": current["server_group_members"],
        "maxTotalFloatingIps": current["floating_ips"],
        "maxSecurityGroups": current["security_groups"],
        "maxSecurityGroupRules": current["security_group_rules"],
        "totalInstancesUsed": used["instances"],
        "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": used["server_groups"],
        "totalFloatingIpsUsed": 0,
        "totalSecurityGroupsUsed": 0,
    }
    return {"limits": {"rate": [], "absolute": absolute}}
