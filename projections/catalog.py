"""The catalog table: a pure fold over catalog.events (flavors here, images in images.py)."""

from __future__ import annotations

from typing import assert_never

from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.state import FlavorState, ImageState
from novalog.events.types.catalog import (
    CatalogEvent,
    FlavorAccessAdded,
    FlavorAccessRemoved,
    FlavorCreated,
    FlavorDeleted,
    FlavorExtraSpecDeleted,
    FlavorExtraSpecsSet,
)
from novalog.events.types.image import ImageCreated, ImageDeleted, ImageEvent, ImageUpdated, ImageUploaded
from novalog.projections import images

# What the table folds: flavors and images, both catalog entities on catalog.events.
Folded = CatalogEvent | ImageEvent


def key_of(event: Folded) -> str:
    """The catalog entity an event is about (its Kafka key)."""
    match event:
        case FlavorCreated():
            return f"flavor:{event.flavor.id}"
        case FlavorDeleted() | FlavorExtraSpecsSet() | FlavorExtraSpecDeleted() | FlavorAccessAdded() | FlavorAccessRemoved():
            return f"flavor:{event.flavor_id}"
        case ImageCreated() | ImageUploaded() | ImageUpdated() | ImageDeleted():
            return f"image:{event.image_id}"
        case _:
            assert_never(event)


def handle(state: FlavorState | ImageState | None, event: Folded, offset: int) -> tuple[FlavorState | ImageState | None, list[Outbound]]:
    """The declared fold (projections/registry.py): `apply`, the row stamped with the event's log offset; it orders nothing."""
    new = apply(state, event)
    return (None if new is None else replace(new, offset=offset)), []


def apply(state: FlavorState | ImageState | None, event: Folded) -> FlavorState | ImageState | None:
    """The entity's row after the event; a re-created flavor id starts afresh."""
    if isinstance(event, ImageCreated | ImageUploaded | ImageUpdated | ImageDeleted):
        return images.apply(state if isinstance(state, ImageState) else None, event)
    assert not isinstance(state, ImageState), "a flavor's key never holds an image"
    match event:
        case FlavorCreated():
            if state is not None and not state.deleted:
                return state
            return FlavorState(flavor=event.flavor, created_at=event.envelope.occurred_at)
        case FlavorDeleted():
            return None if state is None else replace(state, deleted=True)
        case FlavorExtraSpecsSet():
            if state is None or state.deleted:
                return state
            specs = {**state.flavor.extra_specs, **event.extra_specs}
            return replace(state, flavor=replace(state.flavor, extra_specs=specs))
        case FlavorExtraSpecDeleted():
            if state is None or state.deleted:
                return state
            specs = {k: v for k, v in state.flavor.extra_specs.items() if k != event.key}
            return replace(state, flavor=replace(state.flavor, extra_specs=specs))
        case FlavorAccessAdded():
            if state is None or state.deleted or event.project_id in state.projects:
                return state
            return replace(state, projects=[*state.projects, event.project_id])
        case FlavorAccessRemoved():
            if state is None or state.deleted:
                return state
            return replace(state, projects=[p for p in state.projects if p != event.project_id])
        case _:
            assert_never(event)
