"""Server metadata (`/servers/{id}/metadata`): list, merge (POST), replace (PUT), and one item's show, set and delete.

Nova's rules: keys of 1 to 255 characters of `[a-zA-Z0-9-_:. ]`, values of
at most 255; at most the project's `metadata_items` quota of items on one
server (403); a change only while the server is active, paused, suspended or
stopped with no task under way (409), and not while it is locked (409,
`Api.server_to_change`). A change is an instance event, folded into the
server's row (projections/instance_extras.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import Field

from novalog.api import bodies
from novalog.api.compute import server_commands
from novalog.api.compute.formats import MetadataKey, MetadataValue
from novalog.api.compute.routes.quotas import limits
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, Ctx
from novalog.api.faults import BadRequest, Conflict, Forbidden, NotFound
from novalog.events.state import InstanceState

router = APIRouter()
ROOT = "os_compute_api:server-metadata"
# Where Nova lets a server's metadata change (its check_instance_state on update/delete_instance_metadata).
CHANGEABLE = ("active", "paused", "suspended", "stopped")

Metadata = dict[MetadataKey, MetadataValue]


class MetadataBody(bodies.Body):
    metadata: Metadata


class MetaItem(bodies.Body):
    meta: Annotated[Metadata, Field(min_length=1, max_length=1)]


def state_refusal(row: InstanceState, action: str) -> str | None:
    """Nova's 409 for a metadata change in a state that forbids it ("update metadata", "delete metadata")."""
    if row.vm_state not in CHANGEABLE:
        return f"Cannot '{action}' instance {row.instance_id} while it is in vm_state {row.vm_state}"
    if row.task_state is not None:
        return f"Cannot '{action}' instance {row.instance_id} while it is in task_state {row.task_state}"
    return None


def quota_refusal(count: int, limit: int) -> str | None:
    """Nova's 403 when one server would hold more metadata items than its project's `metadata_items` (-1: no limit)."""
    if 0 <= limit < count:
        return f"Maximum number of metadata items exceeds {limit}"
    return None


def changed(api: Api, ctx: RequestContext, server_id: str, rule: str, metadata: dict[str, str], replace: bool) -> dict[str, str]:
    """Set metadata items on the server (merged, or as its whole metadata) after Nova's checks; the metadata it then has."""
    row = api.server_to_change(server_id, ctx, f"{ROOT}:{rule}")
    if problem := state_refusal(row, "update metadata"):
        raise Conflict(problem)
    after = dict(metadata) if replace else {**row.metadata, **metadata}
    if problem := quota_refusal(len(after), limits(api, row.project_id)["metadata_items"]):
        raise Forbidden(problem)
    api.write(server_commands.set_metadata(ctx, row, metadata, replace))
    return after


@router.get("/v2.1/servers/{server_id}/metadata")
def list_metadata(server_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    row = api.find_server(server_id, ctx, f"{ROOT}:index")
    return {"metadata": dict(row.metadata)}


@router.post("/v2.1/servers/{server_id}/metadata")
def merge_metadata(server_id: str, body: Annotated[MetadataBody, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    return {"metadata": changed(api, ctx, server_id, "create", body.metadata, replace=False)}


@router.put("/v2.1/servers/{server_id}/metadata")
def replace_metadata(server_id: str, body: Annotated[MetadataBody, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    return {"metadata": changed(api, ctx, server_id, "update_all", body.metadata, replace=True)}


@router.get("/v2.1/servers/{server_id}/metadata/{key}")
def show_metadata_item(server_id: str, key: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    row = api.find_server(server_id, ctx, f"{ROOT}:show")
    if key not in row.metadata:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: row.metadata[key]}}


@router.put("/v2.1/servers/{server_id}/metadata/{key}")
def set_metadata_item(server_id: str, key: str, body: Annotated[MetaItem, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.find_server(server_id, ctx, f"{ROOT}:update")  # another project's server is 404 before the body's key is judged
    if key not in body.meta:
        raise BadRequest("Request body and URI mismatch")
    changed(api, ctx, server_id, "update", body.meta, replace=False)
    return {"meta": body.meta}


@router.delete("/v2.1/servers/{server_id}/metadata/{key}", status_code=204)
def delete_metadata_item(server_id: str, key: str, api: ApiDep, ctx: Ctx) -> Response:
    row = api.find_server(server_id, ctx, f"{ROOT}:delete")
    if key not in row.metadata:
        raise NotFound("Metadata item was not found")
    api.server_to_change(server_id, ctx, f"{ROOT}:delete")
    if problem := state_refusal(row, "delete metadata"):
        raise Conflict(problem)
    api.write(server_commands.delete_metadata(ctx, row, key))
    return Response(status_code=204)
