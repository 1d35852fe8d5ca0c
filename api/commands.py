"""Pure command builders: a validated request in, the events to append out."""

from __future__ import annotations

import uuid
from typing import Any

from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, Flavor
from novalog.events.types import FlavorCreated, InstanceBuildRequested, InstanceDeleteRequested

PRODUCER = "novalog-api"


def _envelope(event_type: str, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_type, PRODUCER, request_id=ctx.request_id)


def build_server(ctx: RequestContext, body: dict[str, Any], flavor: Flavor, hints: dict[str, list[str]]) -> tuple[str, Outbound]:
    """The InstanceBuildRequested for one new server, and its id."""
    server = body["server"]
    instance_id = str(uuid.uuid4())
    event = InstanceBuildRequested(
        envelope=_envelope("InstanceBuildRequested", ctx),
        instance_id=instance_id,
        name=server["name"],
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        flavor=flavor,
        image_ref=str(server.get("imageRef") or ""),
        availability_zone=server.get("availability_zone"),
        metadata={str(k): str(v) for k, v in (server.get("metadata") or {}).items()},
        scheduler_hints=hints,
        key_name=server.get("key_name"),
    )
    return instance_id, Outbound.event(instance_id, event)


def delete_server(ctx: RequestContext, instance_id: str) -> Outbound:
    event = InstanceDeleteRequested(
        envelope=_envelope("InstanceDeleteRequested", ctx),
        instance_id=instance_id,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )
    return Outbound.event(instance_id, event)


def create_flavor(ctx: RequestContext, body: dict[str, Any]) -> tuple[Flavor, Outbound]:
    """A FlavorCreated from a POST /flavors body; bad values are 400."""
    spec = body.get("flavor")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input for field/attribute flavor.")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name.")
    sizes = {}
    for field, minimum in (("ram", 1), ("vcpus", 1), ("disk", 0), ("OS-FLV-EXT-DATA:ephemeral", 0), ("swap", 0)):
        value = spec.get(field, 0 if minimum == 0 else None)
        if value == "" and field == "swap":
            value = 0
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.") from None
        if isinstance(value, bool) or number < minimum or str(number) != str(value).strip():
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")
        sizes[field] = number
    flavor_id = spec.get("id") or str(uuid.uuid4())
    flavor = Flavor(
        id=str(flavor_id),
        name=name,
        vcpus=sizes["vcpus"],
        ram=sizes["ram"],
        disk=sizes["disk"],
        ephemeral=sizes["OS-FLV-EXT-DATA:ephemeral"],
        swap=sizes["swap"],
        rxtx_factor=float(spec.get("rxtx_factor", 1.0)),
        is_public=bool(spec.get("os-flavor-access:is_public", True)),
        description=spec.get("description"),
    )
    event = FlavorCreated(envelope=_envelope("FlavorCreated", ctx), flavor=flavor)
    return flavor, Outbound.event(f"flavor:{flavor.id}", event)
