"""Pure command builders of rebuild, createImage and rescue: a checked request in, the events to append out."""

from __future__ import annotations

import uuid
from typing import Any

from novalog.api.bodies import reference_id
from novalog.api.context import RequestContext
from novalog.api.image.catalog import BootImage
from novalog.api.image.commands import ImageFields, create_image
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import InstanceState
from novalog.events.types.instance import InstanceRebuildRequested, InstanceRescueRequested, InstanceSnapshotRequested

PRODUCER = "novalog-api"
# The image properties a snapshot does not take from the instance's image (Nova's non_inheritable_image_properties).
NOT_INHERITED = frozenset({"cache_in_nova", "bittorrent", "img_signature_hash_method", "img_signature", "img_signature_key_type",
                           "img_signature_certificate_uuid", "image_type", "instance_uuid", "base_image_ref", "user_id", "owner_id"})
SNAPSHOT_FORMAT = "qcow2"  # what a QEMU host writes (Nova's libvirt driver keeps its qcow2 disks' format)


def _envelope(event_class: type, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_class, PRODUCER, request_id=ctx.request_id)


def new_password() -> str:
    """An admin password as Nova makes one when none is given (12 characters)."""
    return uuid.uuid4().hex[:12]


def request_rebuild(ctx: RequestContext, row: InstanceState, args: dict[str, Any], image: BootImage | None) -> Outbound:
    """Nova's rebuild: the new image (with what the catalog says of it), and the name and metadata when given."""
    event = InstanceRebuildRequested(
        envelope=_envelope(InstanceRebuildRequested, ctx),
        instance_id=row.instance_id,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        image_ref=reference_id(args["imageRef"]),
        name=args.get("name"),
        metadata={str(k): str(v) for k, v in args["metadata"].items()} if args.get("metadata") is not None else None,
        image_properties=image.properties if image else {},
        image_files=image.files if image else None,
        access_ip_v4=args.get("accessIPv4"),
        access_ip_v6=args.get("accessIPv6"),
    )
    return Outbound.event(row.instance_id, event)


def rebuilding(row: InstanceState, asked: InstanceRebuildRequested) -> InstanceState:
    """The instance as Nova's API leaves it on a rebuild: REBUILDING, with the new image, name and metadata."""
    return replace(
        row,
        task_state="rebuilding",
        image_ref=asked.image_ref,
        name=asked.name if asked.name is not None else row.name,
        metadata=asked.metadata if asked.metadata is not None else row.metadata,
        access_ip_v4=asked.access_ip_v4 if asked.access_ip_v4 is not None else row.access_ip_v4,
        access_ip_v6=asked.access_ip_v6 if asked.access_ip_v6 is not None else row.access_ip_v6,
    )


def snapshot_fields(ctx: RequestContext, row: InstanceState, name: str, metadata: dict[str, str] | None) -> ImageFields:
    """The new image's record as Nova's create_image makes it: private, the instance's image properties, and the snapshot's own."""
    properties = {k: v for k, v in row.image_properties.items() if k not in NOT_INHERITED and k not in ("kernel_id", "ramdisk_id")}
    properties.update({k: v for k, v in row.image_properties.items() if k in ("kernel_id", "ramdisk_id")})  # the guest boots them too
    properties.update({"image_type": "snapshot", "instance_uuid": row.instance_id, "user_id": ctx.user_id, "base_image_ref": row.image_ref})
    if ctx.project_id != row.project_id:
        properties["instance_owner"] = row.project_id
    properties.update({str(k): str(v) for k, v in (metadata or {}).items()})
    return ImageFields(
        name=name, visibility="private", disk_format=SNAPSHOT_FORMAT, container_format="bare", min_disk=row.flavor.disk, properties=properties,
    )


def request_snapshot(ctx: RequestContext, row: InstanceState, image_id: str, fields: ImageFields, image_file: str) -> tuple[Outbound, Outbound]:
    """The queued image record, then the request that the instance's host fill it."""
    event = InstanceSnapshotRequested(
        envelope=_envelope(InstanceSnapshotRequested, ctx),
        instance_id=row.instance_id,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        image_id=image_id,
        image_file=image_file,
        disk_format=fields.disk_format or SNAPSHOT_FORMAT,
    )
    return create_image(ctx, image_id, fields), Outbound.event(row.instance_id, event)


def request_rescue(ctx: RequestContext, instance_id: str, rescue: bool, image_ref: str | None = None, image: BootImage | None = None) -> Outbound:
    event = InstanceRescueRequested(
        envelope=_envelope(InstanceRescueRequested, ctx),
        instance_id=instance_id,
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        rescue=rescue,
        image_ref=image_ref,
        image_files=image.files if image else None,
    )
    return Outbound.event(instance_id, event)
