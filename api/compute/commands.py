"""Pure command builders: a validated request in, the events to append out."""

from __future__ import annotations

import uuid
from typing import Any

from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest
from novalog.api.microversion import Version
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.quotas import DEFAULT_LIMITS
from novalog.events.records import Envelope, Flavor, ImageFiles, InstanceGroup, RequestSpec
from novalog.events.state import InstanceState
from novalog.events.tenant import keypair_quota_key
from novalog.events.types.catalog import FlavorAccessAdded, FlavorAccessRemoved, FlavorCreated, FlavorDeleted, FlavorExtraSpecDeleted, FlavorExtraSpecsSet
from novalog.events.types.host import HostServiceUpdated
from novalog.events.types.instance import (
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceDeleteRequested,
    InstanceMoveRequested,
    InstanceUpdated,
)
from novalog.events.types.quota import KeypairRequested, QuotaUpdated, ServerGroupRequested, ServersRequested
from novalog.events.types.tenant import KeypairCreated

PRODUCER = "novalog-api"


def _envelope(event_class: type, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_class, PRODUCER, request_id=ctx.request_id)


def build_servers(
    ctx: RequestContext, body: dict[str, Any], flavor: Flavor, hints: dict[str, list[str]], min_count: int = 1, max_count: int = 1,
    instance_group: InstanceGroup | None = None,
    image_properties: dict[str, str] | None = None, image_files: ImageFiles | None = None,
    zone: str | None = None, force_hosts: list[str] | None = None,
) -> list[Outbound]:
    """One InstanceBuildRequested per instance of the request (Nova's multi-create names them name-1, name-2...).

    The first instance's event comes last: the scheduler places the whole
    request when it reads it, so every other instance is in the log by then.
    """
    server = body["server"]
    instance_ids = [str(uuid.uuid4()) for _ in range(max_count)]
    reservation_id = f"r-{uuid.uuid4().hex[:8]}"
    events = []
    for index, instance_id in enumerate(instance_ids):
        name = server["name"] if max_count == 1 else f"{server['name']}-{index + 1}"
        event = InstanceBuildRequested(
            envelope=_envelope(InstanceBuildRequested, ctx),
            instance_id=instance_id,
            name=name,
            project_id=ctx.project_id,
            user_id=ctx.user_id,
            flavor=flavor,
            image_ref=str(server.get("imageRef") or ""),
            availability_zone=zone if force_hosts else server.get("availability_zone"),
            metadata={str(k): str(v) for k, v in (server.get("metadata") or {}).items()},
            scheduler_hints=hints,
            key_name=server.get("key_name"),
            reservation_id=reservation_id,
            instance_ids=instance_ids if max_count > 1 else [],
            min_count=min_count,
            instance_group=instance_group,
            user_data=server.get("user_data"),
            image_properties=dict(image_properties or {}),
            image_files=image_files,
            force_hosts=list(force_hosts or []),
            access_ip_v4=server.get("accessIPv4"),
            access_ip_v6=server.get("accessIPv6"),
        )
        events.append(Outbound.event(instance_id, event))
    return [*events[1:], events[0]]


def request_servers(ctx: RequestContext, builds: list[InstanceBuildRequested], min_count: int, defaults: dict[str, int]) -> Outbound:
    """The create as the project's quota processor sees it: the builds, and the default limits in force."""
    event = ServersRequested(
        envelope=_envelope(ServersRequested, ctx),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        reservation_id=builds[0].reservation_id or f"r-{uuid.uuid4().hex[:8]}",
        min_count=min_count,
        builds=builds,
        default_limits={**DEFAULT_LIMITS, **defaults},
    )
    return Outbound.event(ctx.project_id, event)


def update_quota(ctx: RequestContext, project_id: str, limits: dict[str, int], reset: bool = False) -> Outbound:
    event = QuotaUpdated(envelope=_envelope(QuotaUpdated, ctx), project_id=project_id, limits=limits, reset=reset)
    return Outbound.event(project_id, event)


def delete_server(ctx: RequestContext, instance_id: str) -> Outbound:
    event = InstanceDeleteRequested(
        envelope=_envelope(InstanceDeleteRequested, ctx),
        instance_id=instance_id,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )
    return Outbound.event(instance_id, event)


def update_server(ctx: RequestContext, row: InstanceState, server: dict[str, Any]) -> Outbound | None:
    """The InstanceUpdated of a PUT /servers/{id} body's `server` (its model checked it), or None when it changes nothing.

    Nova's update: `name`, `accessIPv4`, `accessIPv6` replace the row's;
    `OS-DCF:diskConfig` is accepted and, with no disk to repartition here, kept MANUAL.
    """
    changes = {"name": server.get("name"), "access_ip_v4": server.get("accessIPv4"), "access_ip_v6": server.get("accessIPv6")}
    if all(value is None or value == getattr(row, field) for field, value in changes.items()):
        return None
    event = InstanceUpdated(envelope=_envelope(InstanceUpdated, ctx), instance_id=row.instance_id, project_id=row.project_id,
                            user_id=ctx.user_id, **changes)
    return Outbound.event(row.instance_id, event)


def updated(row: InstanceState, event: InstanceUpdated) -> InstanceState:
    """The row as the update leaves it: what the API answers with when the table has not folded the update yet."""
    changes = {"name": event.name, "access_ip_v4": event.access_ip_v4, "access_ip_v6": event.access_ip_v6}
    return replace(row, **{field: value for field, value in changes.items() if value is not None})


def create_flavor(ctx: RequestContext, spec: dict[str, Any]) -> tuple[Flavor, Outbound]:
    """A FlavorCreated from a POST /flavors body's `flavor`, under Nova's names, its values checked (routes/flavors.py)."""
    flavor = Flavor(
        id=str(spec.get("id") or uuid.uuid4()),
        name=spec["name"],
        vcpus=spec["vcpus"],
        ram=spec["ram"],
        disk=spec["disk"],
        ephemeral=spec.get("OS-FLV-EXT-DATA:ephemeral", 0),
        swap=spec.get("swap", 0),
        rxtx_factor=float(spec.get("rxtx_factor", 1.0)),
        is_public=spec.get("os-flavor-access:is_public", True),
        description=spec.get("description"),
    )
    event = FlavorCreated(envelope=_envelope(FlavorCreated, ctx), flavor=flavor)
    return flavor, Outbound.event(f"flavor:{flavor.id}", event)


ACTION_NAMES = {"os-stop": "stop", "os-start": "start", "reboot": "reboot", "pause": "pause", "unpause": "unpause", "suspend": "suspend", "resume": "resume"}


def parse_action(body: dict[str, Any]) -> tuple[str, str | None]:
    """The action a POST /servers/{id}/action body asks for, and the reboot type; anything else is 400."""
    if len(body) != 1:
        raise BadRequest("There is either no action or more than one action in the request body.")
    ((name, args),) = body.items()
    if name not in ACTION_NAMES:
        raise BadRequest(f"There is no such action: {name}")
    reboot_type = None
    if name == "reboot":
        if not isinstance(args, dict) or str(args.get("type", "")).upper() not in ("SOFT", "HARD"):
            raise BadRequest("Invalid input for field/attribute type. Value: must be SOFT or HARD.")
        reboot_type = str(args["type"]).upper()
    elif args is not None and not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}.")
    return ACTION_NAMES[name], reboot_type


def request_action(ctx: RequestContext, instance_id: str, action: str, reboot_type: str | None) -> Outbound:
    event = InstanceActionRequested(
        envelope=_envelope(InstanceActionRequested, ctx),
        instance_id=instance_id,
        action=action,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        reboot_type=reboot_type,
    )
    return Outbound.event(instance_id, event)


def update_service(ctx: RequestContext, host: str, disabled: bool, reason: str | None, forced_down: bool = False) -> Outbound:
    """An admin's enable/disable/force-down of a host's compute service (os-services): the whole new service state."""
    event = HostServiceUpdated(
        envelope=_envelope(HostServiceUpdated, ctx), host=host, disabled=disabled, disabled_reason=reason, forced_down=forced_down
    )
    return Outbound.event(host, event)


def set_extra_specs(ctx: RequestContext, flavor_id: str, specs: dict[str, Any]) -> tuple[dict[str, str], Outbound]:
    """Extra specs to set (checked by routes/flavors.py); values become strings as Nova stores them."""
    clean = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in specs.items()}
    event = FlavorExtraSpecsSet(envelope=_envelope(FlavorExtraSpecsSet, ctx), flavor_id=flavor_id, extra_specs=clean)
    return clean, Outbound.event(f"flavor:{flavor_id}", event)


def delete_extra_spec(ctx: RequestContext, flavor_id: str, key: str) -> Outbound:
    event = FlavorExtraSpecDeleted(envelope=_envelope(FlavorExtraSpecDeleted, ctx), flavor_id=flavor_id, key=key)
    return Outbound.event(f"flavor:{flavor_id}", event)


def delete_flavor(ctx: RequestContext, flavor_id: str) -> Outbound:
    return Outbound.event(f"flavor:{flavor_id}", FlavorDeleted(envelope=_envelope(FlavorDeleted, ctx), flavor_id=flavor_id))


MIGRATION_TYPES = {"resize": "resize", "migrate": "migration", "os-migrateLive": "live-migration", "evacuate": "evacuation"}


def parse_move(name: str, args: Any, version: Version = Version(2, 1)) -> str | None:
    """The target host a move body names (None: the scheduler picks), after Nova's 2.1 body checks; bad bodies are 400."""
    match name:
        case "migrate" | "confirmResize" | "revertResize":
            if args is not None:
                raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. {args!r} is not of type 'null'")
            return None
        case "resize":
            if not isinstance(args, dict) or "flavorRef" not in args:
                raise BadRequest("Invalid input for field/attribute resize. Value: flavorRef is a required property")
            return None
        case "os-migrateLive":
            if not isinstance(args, dict) or "block_migration" not in args:
                raise BadRequest("Invalid input for field/attribute os-migrateLive. Value: 'block_migration' is a required property")
            if not isinstance(args["block_migration"], bool) and args["block_migration"] != "auto":
                raise BadRequest("Invalid input for field/attribute block_migration. Value: must be a boolean or 'auto'.")
        case "evacuate":
            if not isinstance(args, dict):
                raise BadRequest("Invalid input for field/attribute evacuate. Value: must be an object")
            if version >= Version(2, 14) and "onSharedStorage" in args:
                raise BadRequest("Invalid input for field/attribute evacuate. Additional properties are not allowed ('onSharedStorage' was unexpected)")
            shared = args.get("onSharedStorage", False)
            if not isinstance(shared, bool):
                raise BadRequest("Invalid input for field/attribute onSharedStorage. Value: must be a boolean.")
    host = args.get("host")
    if host is not None and (not isinstance(host, str) or not host.strip() or len(host) > 255):
        raise BadRequest(f"Invalid input for field/attribute host. Value: {host}.")
    return host


def request_move(
    ctx: RequestContext, row: InstanceState, api_name: str, flavor: Flavor, target_host: str | None, allow_same_host: bool
) -> Outbound:
    """An InstanceMoveRequested for the instance `row`: the scheduler's spec leaves the source out
    (unless a resize may stay, Nova's allow_resize_to_same_host) or names the host asked for."""
    migration_type = MIGRATION_TYPES[api_name]
    stay = migration_type == "resize" and allow_same_host
    migration_id = str(uuid.uuid4())
    spec = RequestSpec(
        instance_id=row.instance_id,
        project_id=row.project_id,
        user_id=row.user_id,
        flavor=flavor,
        image_ref=row.image_ref,
        image_properties=row.image_properties,
        availability_zone=row.availability_zone,
        ignore_hosts=[] if stay or row.host is None else [row.host],
        migration_id=migration_id,
        requested_host=target_host,
    )
    event = InstanceMoveRequested(
        envelope=_envelope(InstanceMoveRequested, ctx),
        instance_id=row.instance_id,
        migration_id=migration_id,
        migration_type=migration_type,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        source_host=row.host or "",
        spec=spec,
    )
    return Outbound.event(row.instance_id, event)


def flavor_access(ctx: RequestContext, flavor_id: str, project_id: str, adding: bool) -> Outbound:
    """An admin opens a private flavor to a project, or closes it."""
    kind = FlavorAccessAdded if adding else FlavorAccessRemoved
    event = kind(envelope=_envelope(kind, ctx), flavor_id=flavor_id, project_id=project_id)
    return Outbound.event(f"flavor:{flavor_id}", event)


def request_quota_gated(ctx: RequestContext, created: Any, defaults: dict[str, int]) -> Outbound:
    """A key pair or server group create, handed to its quota writer (which emits it if it fits).

    A server group counts against the caller's project. A key pair counts
    against its user (Nova's key_pairs is per user), in the user's own row:
    `defaults` are then the limits in force for the caller's project.
    """
    limits = {**DEFAULT_LIMITS, **defaults}
    if isinstance(created, KeypairCreated):
        scope = keypair_quota_key(created.user_id)
        event: Any = KeypairRequested(envelope=_envelope(KeypairRequested, ctx), project_id=scope, keypair=created, default_limits=limits)
        return Outbound.event(scope, event)
    event = ServerGroupRequested(envelope=_envelope(ServerGroupRequested, ctx), project_id=ctx.project_id, group=created, default_limits=limits)
    return Outbound.event(ctx.project_id, event)
