"""Pure reads of the image catalog (Glance v2): who sees an image, the list filters and paging, the image's shape,
and the image a server boots from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from novalog.api.bodies import reference_id
from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest
from novalog.events.records import ImageFiles
from novalog.events.state import ImageState

MAX_LIMIT = 1000  # Glance's api_limit_max
LIST_FILTERS = ("name", "status", "visibility", "owner", "disk_format", "container_format")


def visible(row: ImageState, ctx: RequestContext) -> bool:
    """Glance's rule: public and community images are everyone's, the others their owner project's (and any admin's)."""
    if row.status == "deleted":
        return False
    return ctx.is_admin or row.owner == ctx.project_id or row.visibility in ("public", "community")


def listed(row: ImageState, ctx: RequestContext, visibility: str | None) -> bool:
    """Whether a list shows the image: without a `visibility` filter, community images only when owned (Glance)."""
    if not visible(row, ctx):
        return False
    if visibility in (None, "all"):
        return visibility == "all" or row.visibility != "community" or row.owner == ctx.project_id
    return row.visibility == visibility


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(row: ImageState) -> dict[str, Any]:
    """The Glance v2 image: its core attributes, then its properties at the top level."""
    return {
        **row.properties,
        "id": row.image_id,
        "name": row.name,
        "status": row.status,
        "visibility": row.visibility,
        "protected": row.protected,
        "os_hidden": False,
        "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo,
        "os_hash_value": row.os_hash_value,
        "size": row.size,
        "virtual_size": None,
        "disk_format": row.disk_format,
        "container_format": row.container_format,
        "min_disk": row.min_disk,
        "min_ram": row.min_ram,
        "owner": row.owner,
        "tags": list(row.tags),
        "created_at": _stamp(row.created_at),
        "updated_at": _stamp(row.updated_at),
        "self": f"/v2/images/{row.image_id}",
        "file": f"/v2/images/{row.image_id}/file",
        "schema": "/v2/schemas/image",
    }


def _matches(row: ImageState, params: Mapping[str, str]) -> bool:
    for name in LIST_FILTERS:
        wanted = params.get(name)
        if wanted is not None and name != "visibility" and str(getattr(row, name)) != wanted:
            return False
    ids = params.get("id")
    if ids is not None:
        # `id=in:a,b` is how the CLI asks for the images of a server list; a plain id is one.
        wanted_ids = ids[3:].split(",") if ids.startswith("in:") else [ids]
        if row.image_id not in wanted_ids:
            return False
    return True


def select_images(rows: Iterable[Any], params: Mapping[str, str], ctx: RequestContext) -> list[ImageState]:
    """The images a list shows the caller, newest first (Glance's default sort: created_at desc, then id)."""
    visibility = params.get("visibility")
    if visibility is not None and visibility not in ("public", "private", "shared", "community", "all"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    chosen = [r for r in rows if isinstance(r, ImageState) and listed(r, ctx, visibility) and _matches(r, params)]
    return sorted(chosen, key=lambda r: (r.created_at, r.image_id), reverse=True)


def page(rows: list[ImageState], params: Mapping[str, str]) -> tuple[list[ImageState], str | None]:
    """One page after `marker` (an image id of the list), at most `limit` long, and Glance's `next` link when more follow."""
    raw = params.get("limit")
    try:
        limit = MAX_LIMIT if raw is None else int(raw)
    except ValueError:
        raise BadRequest(f"Invalid limit: {raw}") from None
    if limit < 0:
        raise BadRequest(f"Invalid limit: {raw}")
    limit = min(limit, MAX_LIMIT)
    marker = params.get("marker")
    start = 0
    if marker is not None:
        ids = [r.image_id for r in rows]
        if marker not in ids:
            raise BadRequest(f"Invalid marker. Image {marker} could not be found.")
        start = ids.index(marker) + 1
    chosen = rows[start:start + limit]
    if not chosen or start + limit >= len(rows):
        return chosen, None
    query = {k: v for k, v in params.items() if k != "marker"}
    return chosen, "/v2/images?" + urlencode({**query, "limit": limit, "marker": chosen[-1].image_id})


def image_id_of(image_ref: str) -> str:
    """An imageRef's image id: the ref itself, or the last part of an image URL."""
    return reference_id(image_ref)


@dataclass(frozen=True, slots=True)
class BootImage:
    """What a build takes from its image: the properties (for the scheduler) and the files (for a QEMU host)."""

    properties: dict[str, str]
    files: ImageFiles | None


class Images(Protocol):
    """Where images are looked up by id (the read model)."""

    def image(self, image_id: str) -> ImageState | None: ...


def boot_image(catalog: Images, image_ref: str, ctx: RequestContext, accept_unknown: bool) -> BootImage | None:
    """The image a server boots: an active image the caller can see (Nova's 400s otherwise).

    `accept_unknown` (noauth2 development mode only) lets a ref that names no
    image at all through as an opaque name, as before the catalog existed:
    None. The image's kernel_id and ramdisk_id properties name images whose
    files the guest boots directly.
    """
    row = catalog.image(image_id_of(image_ref))
    if row is None or not visible(row, ctx):
        if row is None and accept_unknown:
            return None
        raise BadRequest(f"Image {image_ref} could not be found.")
    if row.status != "active":
        raise BadRequest(f"Image {image_ref} is not active.")
    companions = {}
    for prop in ("kernel_id", "ramdisk_id"):
        ref = row.properties.get(prop)
        if ref:
            other = catalog.image(ref)
            if other is None or not visible(other, ctx) or other.status != "active":
                raise BadRequest(f"Image {ref} could not be found.")
            companions[prop] = other.location
    files = None
    if row.location is not None and row.disk_format is not None:
        files = ImageFiles(disk=row.location, disk_format=row.disk_format, kernel=companions.get("kernel_id"), ramdisk=companions.get("ramdisk_id"))
    return BootImage(properties=dict(row.properties), files=files)


_NULLABLE_STRING = {"type": ["null", "string"]}
# Glance's image schema, as far as this subset keeps images (GET /v2/schemas/image): clients read it to tell core
# attributes from properties.
IMAGE_SCHEMA: dict[str, Any] = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "properties": {
        "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": {**_NULLABLE_STRING, "maxLength": 255},
        "status": {"type": "string", "readOnly": True, "enum": ["queued", "saving", "active", "killed", "deleted", "pending_delete", "deactivated", "uploading", "importing"]},
        "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"]},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": {**_NULLABLE_STRING, "readOnly": True},
        "os_hash_algo": {**_NULLABLE_STRING, "readOnly": True},
        "os_hash_value": {**_NULLABLE_STRING, "readOnly": True},
        "owner": {**_NULLABLE_STRING},
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": {"type": ["null", "string"], "enum": [None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]},
        "disk_format": {"type": ["null", "string"], "enum": [None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
        "kernel_id": {**_NULLABLE_STRING, "is_base": False},
        "ramdisk_id": {**_NULLABLE_STRING, "is_base": False},
        "architecture": {"type": "string", "is_base": False},
        "hypervisor_type": {"type": "string", "is_base": False},
    },
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"}],
}
