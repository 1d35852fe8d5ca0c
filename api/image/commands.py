"""Pure command builders for the image catalog (Glance v2): a create body or a JSON patch in, the image event out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from novalog.api import bodies
from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest, Conflict, Forbidden
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import ImageState
from novalog.events.types.image import ImageCreated, ImageDeleted, ImageUpdated, ImageUploaded

PRODUCER = "novalog-api"
DiskFormat = Literal["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
ContainerFormat = Literal["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
Visibility = Literal["public", "private", "shared", "community"]
# Glance's attributes only the service sets.
READ_ONLY = frozenset(
    {"status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at",
     "self", "file", "schema", "direct_url", "locations", "location", "id", "owner", "stores"}
)
# Sent by some clients, kept by none here.
IGNORED = frozenset({"os_hidden"})
CORE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "protected", "tags")
UUID_PATTERN = r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
Size = Annotated[int, Field(ge=0)]
Tag = Annotated[str, Field(min_length=1, max_length=255)]
# The attributes that, when given, are never null, and what they are instead.
NOT_NULL = {"id": "string", "visibility": "string", "protected": "boolean", "os_hidden": "boolean",
            "min_disk": "integer", "min_ram": "integer", "tags": "array"}


class ImageCreate(bodies.OpenBody):
    """Glance's image create: the core attributes typed, any other key a string property (read-only ones are 403).

    An attribute given is never null, except `name` and the formats; the same
    model checks a core attribute's new value in a patch.
    """

    model_config = ConfigDict(
        extra="allow", strict=True, json_schema_extra={"additionalProperties": {"type": "string", "maxLength": 65535}},
    )

    id: Annotated[str, Field(pattern=UUID_PATTERN)] | None = None
    name: Annotated[str, Field(max_length=255)] | None = None
    visibility: Visibility | None = None
    protected: bool | None = None
    os_hidden: bool | None = None
    disk_format: DiskFormat | None = None
    container_format: ContainerFormat | None = None
    min_disk: Size | None = None
    min_ram: Size | None = None
    tags: list[Tag] | None = None

    @field_validator(*NOT_NULL)
    @classmethod
    def _given(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"None is not of type '{NOT_NULL[info.field_name or '']}'")
        return value


class PatchOperation(bodies.Body):
    """One change of Glance's openstack-images-v2.1-json-patch: a pointer to one attribute or property."""

    op: Literal["add", "replace", "remove"]
    path: Annotated[str, Field(pattern=r"^/[^/]+$")]
    value: Any = None  # required by add and replace


Patch = TypeAdapter(list[PatchOperation])


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


def _validated(model: Any, body: Any) -> Any:
    """The body as `model` (a model class or a TypeAdapter) reads it; 400 in Nova's validator's words if it does not fit."""
    return bodies.parse(model, body) if isinstance(model, type) else bodies.parse_as(model, body)


def _core(name: str, value: Any) -> Any:
    """A core attribute's value as Glance's schema takes it (tags without repeats); 400 otherwise."""
    checked = _validated(ImageCreate, {name: value}).given()[name]
    return list(dict.fromkeys(checked)) if name == "tags" else checked


def _property(name: str, value: Any) -> str:
    if not name or len(name) > 255:
        raise BadRequest(f"Invalid property name: {name!r}")
    if not isinstance(value, str) or len(value) > 65535:
        raise BadRequest(f"Invalid value for property {name}: {value!r} is not a string")
    return value


def parse_create(body: dict[str, Any]) -> tuple[str, ImageFields]:
    """The id (given as a UUID, or new) and fields of a POST /v2/images body; read-only attributes are 403, as Glance checks them first."""
    read_only = next((name for name in body if name in READ_ONLY and name != "id"), None)
    if read_only is not None:
        raise Forbidden(f"Attribute '{read_only}' is read-only.")
    given = _validated(ImageCreate, body).given()
    image_id = str(uuid.UUID(given.pop("id"))) if "id" in given else str(uuid.uuid4())
    fields = {name: _core(name, given.pop(name)) for name in CORE if name in given}
    properties = {name: _property(name, value) for name, value in given.items() if name not in IGNORED}
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


def apply_patch(row: ImageState, ops: Any) -> ImageFields:
    """The image's fields after a JSON patch (Glance's openstack-images-v2.1-json-patch: add, replace, remove).

    Read-only attributes are 403; replacing or removing a property the image
    does not have is 409; disk and container format change only while queued.
    """
    core: dict[str, Any] = {name: getattr(row, name) for name in CORE}
    core["tags"] = list(row.tags)
    properties = dict(row.properties)
    for op in _validated(Patch, ops):
        name = op.path[1:].replace("~1", "/").replace("~0", "~")
        if op.op != "remove" and "value" not in op.model_fields_set:
            raise BadRequest(f"Operation '{op.op}' of '/{name}' needs a value.")
        if name in READ_ONLY:
            raise Forbidden(f"Attribute '{name}' is read-only.")
        if name in CORE:
            core[name] = _patched_core(row, name, op, core[name])
        else:
            _patch_property(properties, name, op)
    return ImageFields(**core, properties=properties)


def _patched_core(row: ImageState, name: str, op: PatchOperation, current: Any) -> Any:
    if op.op == "remove":
        raise Forbidden(f"Attribute '{name}' cannot be removed.")
    if name in ("disk_format", "container_format") and row.status != "queued" and op.value != current:
        raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    return _core(name, op.value)


def _patch_property(properties: dict[str, str], name: str, op: PatchOperation) -> None:
    if op.op == "add":
        properties[name] = _property(name, op.value)
    elif name not in properties:
        raise Conflict(f"Property {name} does not exist.")
    elif op.op == "replace":
        properties[name] = _property(name, op.value)
    else:
        del properties[name]


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

