"""The image rows of the catalog table: a pure fold over the image events (Glance's image records)."""

from __future__ import annotations

from typing import assert_never

from novalog.events.evolve import replace
from novalog.events.state import ImageState
from novalog.events.types.image import ImageCreated, ImageDeleted, ImageEvent, ImageUpdated, ImageUploaded


def apply(state: ImageState | None, event: ImageEvent) -> ImageState | None:
    """The image's row after the event.

    A create of a known id is a redelivery and changes nothing; bits arrive
    only once, on a queued image; nothing changes a deleted image.
    """
    at = event.envelope.occurred_at
    match event:
        case ImageCreated():
            if state is not None:
                return state
            return ImageState(
                image_id=event.image_id,
                owner=event.owner,
                visibility=event.visibility,
                created_at=at,
                updated_at=at,
                name=event.name,
                disk_format=event.disk_format,
                container_format=event.container_format,
                min_disk=event.min_disk,
                min_ram=event.min_ram,
                protected=event.protected,
                properties=event.properties,
                tags=event.tags,
            )
        case ImageUploaded():
            if state is None or state.status != "queued":
                return state
            return replace(
                state,
                status="active",
                updated_at=at,
                size=event.size,
                checksum=event.checksum,
                os_hash_algo=event.os_hash_algo,
                os_hash_value=event.os_hash_value,
                location=event.location,
            )
        case ImageUpdated():
            if state is None or state.status == "deleted":
                return state
            return replace(
                state,
                updated_at=at,
                name=event.name,
                visibility=event.visibility,
                disk_format=event.disk_format,
                container_format=event.container_format,
                min_disk=event.min_disk,
                min_ram=event.min_ram,
                protected=event.protected,
                properties=event.properties,
                tags=event.tags,
            )
        case ImageDeleted():
            if state is None or state.status == "deleted":
                return state
            return replace(state, status="deleted", updated_at=at, location=None)
        case _:
            assert_never(event)
