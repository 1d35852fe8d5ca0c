"""Pure command builders for the image catalog (Glance v2): a create body or a JSON patch in, the image event out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest, Conflict, Forbidden
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import ImageState
from novalog.events.types import ImageCreated, ImageDeleted, ImageUpdated, ImageUploaded

PRODUCER = "novalog-api"
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
# Glance's attributes only the service sets.
READ_ONLY = frozenset(
    {"status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at",
     "self", "file", "schema", "direct_url", "locations", "location", "id", "owner", "stores"}
)
# Sent by some clients, kept by none here.
IGNORED = frozenset({"os_hidden"})
CORE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "protected", "tags")


def key(image_id: str) -> str:
    return f"image:{image_id}"


def _envelope(event_class: type, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_class, PRODUCER, request_id=ctx.request_id)


@dataclass(frozen=True, slots=True)
class ImageFields:
    """An image's user-settable fields, checked."""

    name: str | None = None
    visibility: str = "shared"  # Glance's default since Ocata
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def _check(name: str, value: Any) -> Any:
    """A core field's value as Glance's schema takes it; 400 otherwise."""
    bad = BadRequest(f"Invalid value for {name}: {value!r}")
    match name:
        case "name":
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise bad
        case "visibility":
            if value not in VISIBILITIES:
                raise bad
        case "disk_format":
            if value is not None and value not in DISK_FORMATS:
                raise bad
        case "container_format":
            if value is not None and value not in CONTAINER_FORMATS:
                raise bad
        case "min_disk" | "min_ram":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad
        case "protected":
            if not isinstance(value, bool):
                raise bad
        case "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
                raise bad
            return list(dict.fromkeys(value))
    return value


def _property(name: str, value: Any) -> str:
    if not name or len(name) > 255:
        raise BadRequest(f"Invalid property name: {name!r}")
    if not isinstance(value, str) or len(value) > 65535:
        raise BadRequest(f"Invalid value for property {name}: {value!r} is not a string")
    return value


def parse_create(body: dict[str, Any]) -> tuple[str, ImageFields]:
    """The id (given as a UUID, or new) and fields of a POST /v2/images body; read-only attributes are 403."""
    fields: dict[str, Any] = {}
    properties: dict[str, str] = {}
    image_id = str(uuid.uuid4())
    for name, value in body.items():
        if name == "id":
            try:
                image_id = str(uuid.UUID(str(value)))
            except ValueError:
                raise BadRequest(f"Invalid value for id: {value!r} is not a UUID") from None
        elif name in READ_ONLY:
            raise Forbidden(f"Attribute '{name}' is read-only.")
        elif name in IGNORED:
            continue
        elif name in CORE:
            fields[name] = _check(name, value)
        else:
            properties[name] = _property(name, value)
    return image_id, ImageFields(**fields, properties=properties)


def create_image(ctx: RequestContext, image_id: str, fields: ImageFields) -> Outbound:
    event = ImageCreated(
        envelope=_envelope(ImageCreated, ctx), image_id=image_id, name=fields.name, owner=ctx.project_id,
        visibility=fields.visibility, disk_format=fields.disk_format, container_format=fields.container_format,
        min_disk=fields.min_disk, min_ram=fields.min_ram, protected=fields.protected, properties=fields.properties, tags=fields.tags,
    )
    return Outbound.event(key(image_id), event)


def fields_of(row: ImageState) -> ImageFields:
    return ImageFields(
        name=row.name, visibility=row.visibility, disk_format=row.disk_format, container_format=row.container_format,
        min_disk=row.min_disk, min_ram=row.min_ram, protected=row.protected, properties=dict(row.properties), tags=list(row.tags),
    )


def _pointer(op: dict[str, Any]) -> str:
    path = op.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1 or len(path) < 2:
        raise BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    return path[1:].replace("~1", "/").replace("~0", "~")


def apply_patch(row: ImageState, ops: Any) -> ImageFields:
    """The image's fields after a JSON patch (Glance's openstack-images-v2.1-json-patch: add, replace, remove).

    Read-only attributes are 403; replacing or removing a property the image
    does not have is 409; disk and container format change only while queued.
    """
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    core: dict[str, Any] = {name: getattr(row, name) for name in CORE}
    core["tags"] = list(row.tags)
    properties = dict(row.properties)
    for op in ops:
        verb, name = op.get("op"), _pointer(op)
        if verb not in ("add", "replace", "remove"):
            raise BadRequest(f"Unable to find '{verb}' in JSON Schema change: operations are add, replace, remove.")
        if verb != "remove" and "value" not in op:
            raise BadRequest(f"Operation '{verb}' of '/{name}' needs a value.")
        if name in READ_ONLY:
            raise Forbidden(f"Attribute '{name}' is read-only.")
        if name in CORE:
            if verb == "remove":
                raise Forbidden(f"Attribute '{name}' cannot be removed.")
            if name in ("disk_format", "container_format") and row.status != "queued" and op["value"] != core[name]:
                raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
            core[name] = _check(name, op["value"])
        elif verb == "add":
            properties[name] = _property(name, op["value"])
        elif name not in properties:
            raise Conflict(f"Property {name} does not exist.")
        elif verb == "replace":
            properties[name] = _property(name, op["value"])
        else:
            del properties[name]
    return ImageFields(**core, properties=properties)


def update_image(ctx: RequestContext, image_id: str, fields: ImageFields) -> Outbound:
    event = ImageUpdated(
        envelope=_envelope(ImageUpdated, ctx), image_id=image_id, name=fields.name, visibility=fields.visibility,
        disk_format=fields.disk_format, container_format=fields.container_format, min_disk=fields.min_disk,
        min_ram=fields.min_ram, protected=fields.protected, properties=fields.properties, tags=fields.tags,
    )
    return Outbound.event(key(image_id), event)


def check_uploadable(row: ImageState) -> None:
    """Bits go only to a queued image whose formats are set (Glance's 409 and 400)."""
    if row.status != "queued":
        raise Conflict(f"Image {row.image_id} is {row.status}: only a queued image takes data.")
    if row.disk_format is None or row.container_format is None:
        raise BadRequest("Properties disk_format, container_format must be set prior to saving data.")


def uploaded(ctx: RequestContext, image_id: str, size: int, checksum: str, algo: str, value: str, location: str) -> Outbound:
    event = ImageUploaded(
        envelope=_envelope(ImageUploaded, ctx), image_id=image_id, size=size, checksum=checksum,
        os_hash_algo=algo, os_hash_value=value, location=location,
    )
    return Outbound.event(key(image_id), event)


def delete_image(ctx: RequestContext, row: ImageState) -> Outbound:
    if row.protected:
        raise Forbidden(f"Image {row.image_id} is protected and cannot be deleted.")
    return Outbound.event(key(row.image_id), ImageDeleted(envelope=_envelope(ImageDeleted, ctx), image_id=row.image_id))

