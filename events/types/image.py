"""The image family: Glance's image records.

On catalog.events, keyed `image:<id>`: images are catalog entities like flavors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope


@dataclass(frozen=True, slots=True)
class ImageCreated:
    """A user registered an image (Glance's POST /v2/images): its record only, status queued until its bits arrive."""

    FAMILY: ClassVar[str] = "image"
    envelope: Envelope
    image_id: str
    owner: str
    visibility: str
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImageUploaded:
    """The image's bits are in the store at `location`, with their size and hashes: the image is active."""

    FAMILY: ClassVar[str] = "image"
    envelope: Envelope
    image_id: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    location: str


@dataclass(frozen=True, slots=True)
class ImageUpdated:
    """A user changed an image's record (Glance's PATCH): its mutable fields as they are now."""

    FAMILY: ClassVar[str] = "image"
    envelope: Envelope
    image_id: str
    visibility: str
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImageDeleted:
    """A user deleted an image; its bits were removed from the store."""

    FAMILY: ClassVar[str] = "image"
    envelope: Envelope
    image_id: str


ImageEvent = ImageCreated | ImageUploaded | ImageUpdated | ImageDeleted

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(ImageEvent)
