"""Host aggregates (os-aggregates) and availability zones (os-availability-zone).

Aggregate writes are events on aggregate.events under one key; the writer
there numbers the aggregates and refuses what Nova refuses. A route appends
its event, waits until the aggregates row has folded it, and answers with
the aggregate, or with the writer's refusal (400, 404 or 409 by its text).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import field_validator, model_validator

from novalog.api import bodies
from novalog.api.compute import formats, views
from novalog.api.compute.formats import HostName, MetadataKey, MetadataValue
from novalog.api.context import RequestContext
from novalog.api.deps import Api, ApiDep, Ctx
from novalog.api.faults import ApiFault, BadRequest, NotFound
from novalog.api.guards import Authorized
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, HostAggregate, utcnow
from novalog.events.types.aggregate import AggregateCreated, AggregateDeleted, AggregateHostAdded, AggregateHostRemoved, AggregateMetadataSet, AggregateUpdated

KEY = "aggregates"
AZ = "availability_zone"
# Each action's policy rule is os_compute_api:os-aggregates:<action>.
ACTIONS = ("add_host", "remove_host", "set_metadata")

router = APIRouter()

# Nova's name formats: the models show them, the routes check them (see `checked`).
AggregateName = Annotated[str, formats.shown(formats.NAME_PATTERN)]
PaddedName = Annotated[str, formats.shown(formats.PADDED_NAME_PATTERN)]
ZoneName = Annotated[str, formats.shown(formats.ZONE_PATTERN)]


class NewAggregate(bodies.Body):
    """Nova's 2.1 create: a name, and a zone (or null: none)."""

    name: AggregateName
    availability_zone: ZoneName | None = None


class AggregateCreate(bodies.Body):
    aggregate: NewAggregate


class AggregateChange(bodies.Body):
    """What an update changes: the name, the zone (null: none), or both; at least one of them."""

    name: PaddedName | None = None  # never null when given
    availability_zone: ZoneName | None = None

    @field_validator("name")
    @classmethod
    def _given_name(cls, name: str | None) -> str:
        if name is None:
            raise ValueError("None is not of type 'string'")
        return name

    @model_validator(mode="after")
    def _names_something(self) -> AggregateChange:
        if not self.model_fields_set:
            raise ValueError("{} is not valid under any of the given schemas")
        return self


class AggregateUpdate(bodies.Body):
    aggregate: AggregateChange


class HostRef(bodies.Body):
    host: HostName


class MetadataChange(bodies.Body):
    metadata: dict[MetadataKey, MetadataValue | None]


class AggregateAction(bodies.OpenBody):
    """One action per request; any other key is answered as Nova answers an unknown action."""

    add_host: HostRef | None = None  # each never null when given
    remove_host: HostRef | None = None
    set_metadata: MetadataChange | None = None

    @field_validator("add_host", "remove_host", "set_metadata")
    @classmethod
    def _given_action(cls, action: Any) -> Any:
        if action is None:
            raise ValueError("None is not of type 'object'")
        return action


def checked(value: str | None, field: str, pattern: str) -> str | None:
    """A name or zone in its Nova format, refused in the words this API has always used for it."""
    if value is not None and not formats.fits(value, pattern):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")
    return value


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


def availability_zones(aggregates: list[HostAggregate], hosts: Iterable[str], default_zone: str) -> dict[str, list[str]]:
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


def everything(api: Api) -> list[HostAggregate]:
    return api.backend.cache.aggregate_list()


def find(api: Api, aggregate_id: str) -> HostAggregate:
    found = next((a for a in everything(api) if str(a.id) == aggregate_id), None)
    if found is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return found


def write(api: Api, ctx: RequestContext, event_type: type, **fields: Any) -> None:
    """Append one aggregate event, wait until it is folded, and raise the writer's refusal if it refused it."""
    envelope = Envelope.new(event_type, "novalog-api", request_id=ctx.request_id)
    row = api.write(Outbound.event(KEY, event_type(envelope=envelope, **fields)))
    refusal = row.refusals.get(envelope.event_id) if row is not None else None
    if refusal:
        raise ApiFault(_status_of(refusal), refusal)


@router.get("/v2.1/os-aggregates")
def list_aggregates(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-aggregates:index", ctx)
    return {"aggregates": [aggregate_view(a) for a in sorted(everything(api), key=lambda a: a.id)]}


@router.post("/v2.1/os-aggregates", dependencies=[Depends(Authorized("os_compute_api:os-aggregates:create"))])
def create_aggregate(body: Annotated[AggregateCreate, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    name = checked(body.aggregate.name, "name", formats.NAME_PATTERN) or ""
    zone, new_uuid = checked(body.aggregate.availability_zone, AZ, formats.ZONE_PATTERN), str(uuid.uuid4())
    write(api, ctx, AggregateCreated, aggregate_uuid=new_uuid, name=name, availability_zone=zone)
    made = next((a for a in everything(api) if a.uuid == new_uuid), None)
    if made is None:  # the cache lags: answer from what was written
        made = HostAggregate(0, new_uuid, name, utcnow(), [], {AZ: zone} if zone else {})
    return {"aggregate": aggregate_view(made, full=False)}


@router.get("/v2.1/os-aggregates/{aggregate_id}")
def show_aggregate(aggregate_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-aggregates:show", ctx)
    return {"aggregate": aggregate_view(find(api, aggregate_id))}


@router.put("/v2.1/os-aggregates/{aggregate_id}", dependencies=[Depends(Authorized("os_compute_api:os-aggregates:update"))])
def update_aggregate(aggregate_id: str, body: Annotated[AggregateUpdate, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    aggregate = find(api, aggregate_id)
    change = body.aggregate.given()
    name = checked(change["name"], "name", formats.PADDED_NAME_PATTERN) if "name" in change else aggregate.name
    zone = checked(change[AZ], AZ, formats.ZONE_PATTERN) if AZ in change else aggregate.metadata.get(AZ)
    write(api, ctx, AggregateUpdated, aggregate_uuid=aggregate.uuid, name=name, availability_zone=zone)
    return {"aggregate": aggregate_view(find(api, aggregate_id))}


@router.delete("/v2.1/os-aggregates/{aggregate_id}")
def delete_aggregate(aggregate_id: str, api: ApiDep, ctx: Ctx) -> Response:
    api.authorize("os_compute_api:os-aggregates:delete", ctx)
    aggregate = find(api, aggregate_id)
    write(api, ctx, AggregateDeleted, aggregate_uuid=aggregate.uuid)
    return Response(status_code=200)


async def action_authorized(request: Request, api: ApiDep, ctx: Ctx) -> None:
    """The action's own rule, checked before its body is: a caller without it is 403 whatever it sent.

    A body that names no action, or several, or an unknown one, is left to
    the route's 400.
    """
    try:
        sent = await request.json()
    except ValueError:
        return
    if isinstance(sent, dict) and len(sent) == 1 and (action := next(iter(sent))) in ACTIONS:
        api.authorize(f"os_compute_api:os-aggregates:{action}", ctx)


@router.post("/v2.1/os-aggregates/{aggregate_id}/action", dependencies=[Depends(action_authorized)])
def aggregate_action(aggregate_id: str, body: Annotated[AggregateAction, Body()], api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    given = body.given()
    if len(given) != 1:
        raise BadRequest("There is either no action or more than one action in the request body.")
    (action,) = given
    if action not in ACTIONS:
        raise BadRequest(f"There is no such action: {action}")
    aggregate = find(api, aggregate_id)
    if body.set_metadata is not None:
        write(api, ctx, AggregateMetadataSet, aggregate_uuid=aggregate.uuid, metadata=body.set_metadata.metadata)
    elif body.add_host is not None:
        if not api.backend.cache.has_host(body.add_host.host):
            raise NotFound(f"Compute host {body.add_host.host} could not be found.")
        write(api, ctx, AggregateHostAdded, aggregate_uuid=aggregate.uuid, host=body.add_host.host)
    elif body.remove_host is not None:
        write(api, ctx, AggregateHostRemoved, aggregate_uuid=aggregate.uuid, host=body.remove_host.host)
    return {"aggregate": aggregate_view(find(api, aggregate_id))}


# --- availability zones ------------------------------------------------


def zones(api: Api) -> dict[str, list[str]]:
    backend = api.backend
    return availability_zones(everything(api), backend.cache.host_names(), backend.default_availability_zone)


def up(api: Api, host: str) -> bool:
    backend = api.backend
    row = backend.cache.host(host)
    return row is not None and views.host_is_up(row, utcnow(), backend.service_down_time)


def zone_hosts(api: Api, hosts: list[str]) -> dict[str, Any] | None:
    """Each host of a zone with its nova-compute service's state (None for a zone without hosts)."""
    detail = {}
    for host in hosts:
        row = api.backend.cache.host(host)
        beat = row.last_heartbeat_at if row is not None else None
        detail[host] = {"nova-compute": {"available": up(api, host), "active": row is not None and not row.disabled, "updated_at": _time(beat)}}
    return detail or None


@router.get("/v2.1/os-availability-zone")
def list_zones(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-availability-zone:list", ctx)
    return {
        "availabilityZoneInfo": [
            {"zoneName": zone, "zoneState": {"available": any(up(api, h) for h in hosts)}, "hosts": None}
            for zone, hosts in sorted(zones(api).items())
        ]
    }


@router.get("/v2.1/os-availability-zone/detail")
def list_zones_detail(api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("os_compute_api:os-availability-zone:detail", ctx)
    return {
        "availabilityZoneInfo": [
            {"zoneName": zone, "zoneState": {"available": any(up(api, h) for h in hosts)}, "hosts": zone_hosts(api, hosts)}
            for zone, hosts in sorted(zones(api).items())
        ]
    }
