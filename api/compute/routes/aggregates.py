"""Host aggregates (os-aggregates) and availability zones (os-availability-zone).

Aggregate writes are events on aggregate.events under one key; the writer
there numbers the aggregates and refuses what Nova refuses. A route appends
its event, waits until the aggregates row has folded it, and answers with
the aggregate, or with the writer's refusal (400, 404 or 409 by its text).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from novalog.api.compute import views
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import ApiFault, BadRequest, NotFound
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, HostAggregate, utcnow
from novalog.events.types import (
    AggregateCreated,
    AggregateDeleted,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    AggregateUpdated,
)

KEY = "aggregates"
AZ = "availability_zone"


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.replace(tzinfo=None).isoformat(timespec="microseconds")


def aggregate_view(aggregate: HostAggregate, full: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "availability_zone": aggregate.metadata.get(AZ),
        "created_at": _time(aggregate.created_at),
        "deleted": False,
        "deleted_at": None,
        "id": aggregate.id,
        "name": aggregate.name,
        "updated_at": _time(aggregate.updated_at),
    }
    if full:
        view["hosts"] = list(aggregate.hosts)
        view["metadata"] = dict(aggregate.metadata)
    return view


def _status_of(message: str) -> int:
    if "already" in message and "availability zone" not in message:
        return 409
    if "could not be found" in message or message.startswith("Cannot remove host"):
        return 404
    return 400


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")
    return value


def _zone(value: Any) -> str | None:
    if value is None:
        return None
    return _name(value, "availability_zone")


def availability_zones(aggregates: list[HostAggregate], hosts: Any, default_zone: str) -> dict[str, list[str]]:
    """Each zone and its hosts: the aggregates' zones, and the default zone for every host in none."""
    by_zone: dict[str, list[str]] = {}
    placed: set[str] = set()
    for aggregate in aggregates:
        zone = aggregate.metadata.get(AZ)
        if zone:
            members = by_zone.setdefault(zone, [])
            for host in aggregate.hosts:
                if host not in members:
                    members.append(host)
                placed.add(host)
    rest = sorted(h for h in hosts if h not in placed)
    if rest:
        by_zone.setdefault(default_zone, []).extend(rest)
    return by_zone


def zone_of_host(aggregates: list[HostAggregate], host: str, default_zone: str) -> str:
    return next((z for a in aggregates if host in a.hosts and (z := a.metadata.get(AZ))), default_zone)


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    await_write, context, json_body = api.await_write, api.context, api.json_body

    def everything() -> list[HostAggregate]:
        row = backend.cache.aggregates.get(KEY)
        return list(row.aggregates) if row is not None else []

    def find(aggregate_id: str) -> HostAggregate:
        found = next((a for a in everything() if str(a.id) == aggregate_id), None)
        if found is None:
            raise NotFound(f"Aggregate {aggregate_id} could not be found.")
        return found

    def write(ctx: RequestContext, event_type: type, **fields: Any) -> None:
        """Append one aggregate event, wait until it is folded, and raise the writer's refusal if it refused it."""
        envelope = Envelope.new(event_type, "novalog-api", request_id=ctx.request_id)
        record = event_type(envelope=envelope, **fields)
        (pos,) = backend.log.append([Outbound.event(KEY, record)])
        await_write(lambda: (r := backend.cache.aggregates.get(KEY)) is not None and r.offset >= pos.offset, KEY)
        row = backend.cache.aggregates.get(KEY)
        refusal = row.refusals.get(envelope.event_id) if row is not None else None
        if refusal:
            raise ApiFault(_status_of(refusal), refusal)

    @router.get("/v2.1/os-aggregates")
    def list_aggregates(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-aggregates:index", ctx)
        return {"aggregates": [aggregate_view(a) for a in sorted(everything(), key=lambda a: a.id)]}

    @router.post("/v2.1/os-aggregates")
    def create_aggregate(body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-aggregates:create", ctx)
        spec = body.get("aggregate")
        if not isinstance(spec, dict) or set(spec) - {"name", "availability_zone"}:
            raise BadRequest("Invalid input for field/attribute aggregate.")
        name, zone, new_uuid = _name(spec.get("name")), _zone(spec.get("availability_zone")), str(uuid.uuid4())
        write(ctx, AggregateCreated, aggregate_uuid=new_uuid, name=name, availability_zone=zone)
        made = next((a for a in everything() if a.uuid == new_uuid), None)
        if made is None:  # the cache lags: answer from what was written
            made = HostAggregate(0, new_uuid, name, utcnow(), [], {AZ: zone} if zone else {})
        return {"aggregate": aggregate_view(made, full=False)}

    @router.get("/v2.1/os-aggregates/{aggregate_id}")
    def show_aggregate(aggregate_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-aggregates:show", ctx)
        return {"aggregate": aggregate_view(find(aggregate_id))}

    @router.put("/v2.1/os-aggregates/{aggregate_id}")
    def update_aggregate(aggregate_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-aggregates:update", ctx)
        aggregate = find(aggregate_id)
        spec = body.get("aggregate")
        if not isinstance(spec, dict) or not spec or set(spec) - {"name", "availability_zone"}:
            raise BadRequest("Invalid input for field/attribute aggregate.")
        name = _name(spec["name"]) if "name" in spec else aggregate.name
        zone = _zone(spec["availability_zone"]) if "availability_zone" in spec else aggregate.metadata.get(AZ)
        write(ctx, AggregateUpdated, aggregate_uuid=aggregate.uuid, name=name, availability_zone=zone)
        return {"aggregate": aggregate_view(find(aggregate_id))}

    @router.delete("/v2.1/os-aggregates/{aggregate_id}")
    def delete_aggregate(aggregate_id: str, ctx: RequestContext = Depends(context)) -> Response:
        api.authorize("os_compute_api:os-aggregates:delete", ctx)
        aggregate = find(aggregate_id)
        write(ctx, AggregateDeleted, aggregate_uuid=aggregate.uuid)
        return Response(status_code=200)

    @router.post("/v2.1/os-aggregates/{aggregate_id}/action")
    def aggregate_action(aggregate_id: str, body: dict[str, Any] = Depends(json_body), ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        if len(body) != 1:
            raise BadRequest("There is either no action or more than one action in the request body.")
        ((name, args),) = body.items()
        rules = {"add_host": "add_host", "remove_host": "remove_host", "set_metadata": "set_metadata"}
        if name not in rules:
            raise BadRequest(f"There is no such action: {name}")
        api.authorize(f"os_compute_api:os-aggregates:{rules[name]}", ctx)
        aggregate = find(aggregate_id)
        if not isinstance(args, dict):
            raise BadRequest(f"Invalid input for field/attribute {name}.")
        if name == "set_metadata":
            metadata = args.get("metadata")
            if not isinstance(metadata, dict) or any(not isinstance(k, str) or not k or len(k) > 255 for k in metadata):
                raise BadRequest("Invalid input for field/attribute metadata.")
            if any(v is not None and (isinstance(v, dict | list) or len(str(v)) > 255) for v in metadata.values()):
                raise BadRequest("Invalid input for field/attribute metadata.")
            clean = {k: None if v is None else str(v) for k, v in metadata.items()}
            write(ctx, AggregateMetadataSet, aggregate_uuid=aggregate.uuid, metadata=clean)
        else:
            host = args.get("host")
            if not isinstance(host, str) or not host:
                raise BadRequest("Invalid input for field/attribute host.")
            if name == "add_host" and host not in backend.cache.hosts:
                raise NotFound(f"Compute host {host} could not be found.")
            event = AggregateHostAdded if name == "add_host" else AggregateHostRemoved
            write(ctx, event, aggregate_uuid=aggregate.uuid, host=host)
        return {"aggregate": aggregate_view(find(aggregate_id))}

    # --- availability zones ------------------------------------------------

    def zones() -> dict[str, list[str]]:
        return availability_zones(everything(), backend.cache.hosts, backend.default_availability_zone)

    def up(host: str) -> bool:
        row = backend.cache.hosts.get(host)
        return row is not None and views.host_is_up(row, utcnow(), backend.service_down_time)

    @router.get("/v2.1/os-availability-zone")
    def list_zones(ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-availability-zone:list", ctx)
        return {
            "availabilityZoneInfo": [
                {"zoneName": zone, "zoneState": {"available": any(up(h) for h in hosts)}, "hosts": None}
                for zone, hosts in sorted(zones().items())
            ]
        }

    @router.get("/v2.1/os-availability-zone/detail")
    def list_zones_detail(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("os_compute_api:os-availability-zone:detail", ctx)
        info = []
        for zone, hosts in sorted(zones().items()):
            detail = {}
            for host in hosts:
                row = backend.cache.hosts.get(host)
                beat = row.last_heartbeat_at if row is not None else None
                detail[host] = {
                    "nova-compute": {
                        "available": up(host),
                        "active": row is not None and not row.disabled,
                        "updated_at": _time(beat),
                    }
                }
            info.append({"zoneName": zone, "zoneState": {"available": any(up(h) for h in hosts)}, "hosts": detail or None})
        return {"availabilityZoneInfo": info}

    return router
