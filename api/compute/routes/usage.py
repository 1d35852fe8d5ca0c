"""os-simple-tenant-usage: each project's server hours and what they held, from the instance table (compute/usage.py).

Served as Nova serves it below microversion 2.40: no paging (at most Nova's
max_limit servers per report), unknown query parameters ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from novalog.api.compute.usage import InvalidPeriod, Period, parse_query, tenant_usages
from novalog.api.deps import ApiDep, Ctx
from novalog.api.faults import BadRequest

router = APIRouter()


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}


# The query is read raw, as Nova reads it (first non-empty value), so the parameters are documented here for the OpenAPI document.
PERIOD_PARAMETERS = [
    _query("start", "period start, %Y-%m-%dT%H:%M:%S[.%f] or %Y-%m-%d %H:%M:%S.%f, UTC; default now"),
    _query("end", "period end, same formats; default now, and never later than now"),
]
DETAILED = _query("detailed", "1: list each project's servers (server_usages)")


def period(request: Request, now: datetime) -> tuple[Period, bool]:
    """The period asked for (and whether `detailed`); a bad time, or a start after the end, is Nova's 400."""
    try:
        return parse_query(request.url.query, now)
    except InvalidPeriod as exc:
        raise BadRequest(str(exc)) from None


@router.get("/v2.1/os-simple-tenant-usage", openapi_extra={"parameters": [*PERIOD_PARAMETERS, DETAILED]})
def list_usages(request: Request, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-simple-tenant-usage:list", ctx)
    now = datetime.now(UTC)
    span, detailed = period(request, now)
    rows = api.backend.cache.instance_rows()
    return {"tenant_usages": tenant_usages(rows, span, now, detailed=detailed)}


@router.get("/v2.1/os-simple-tenant-usage/{tenant_id}", openapi_extra={"parameters": PERIOD_PARAMETERS})
def show_usage(tenant_id: str, request: Request, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-simple-tenant-usage:show", ctx, tenant_id)
    now = datetime.now(UTC)
    span, _ = period(request, now)  # a project's report always lists its servers
    rows = api.backend.cache.instance_rows()
    usages = tenant_usages(rows, span, now, project_id=tenant_id)
    # No server in the period: an empty object, as Nova answers (not zeros).
    return {"tenant_usage": usages[0] if usages else {}}
