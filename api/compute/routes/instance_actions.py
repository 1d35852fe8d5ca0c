"""os-instance-actions: what was asked of a server and how it went, from the instance table's record of the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from novalog.api.deps import ApiDep, Ctx
from novalog.api.faults import NotFound

router = APIRouter()


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.replace(tzinfo=None).isoformat(timespec="microseconds")


def action_view(instance_id: str, action: Any) -> dict[str, Any]:
    return {
        "action": action.action,
        "request_id": action.request_id,
        "user_id": action.user_id,
        "project_id": action.project_id,
        "start_time": _time(action.start_time),
        "message": action.message,
        "instance_uuid": instance_id,
    }


def event_view(event: Any, with_traceback: bool) -> dict[str, Any]:
    view = {"event": event.event, "start_time": _time(event.start_time), "finish_time": _time(event.finish_time), "result": event.result}
    if with_traceback:
        view["traceback"] = event.traceback
    return view


@router.get("/v2.1/servers/{server_id}/os-instance-actions")
def list_actions(server_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    row = api.find_server(server_id, ctx, "os_compute_api:os-instance-actions:list")
    return {"instanceActions": [action_view(row.instance_id, a) for a in reversed(row.actions)]}


@router.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
def show_action(server_id: str, request_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    row = api.find_server(server_id, ctx, "os_compute_api:os-instance-actions:show")
    found = [a for a in row.actions if a.request_id == request_id]
    if not found:
        raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")
    action = found[-1]
    view = action_view(row.instance_id, action)
    if api.allowed("os_compute_api:os-instance-actions:events", ctx, row.project_id):
        view["events"] = [event_view(e, ctx.is_admin) for e in action.events]
    return {"instanceAction": view}
