"""The catalog family: flavors and who may use them.

On catalog.events, keyed `flavor:<id>`; images share the topic (image.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, get_args

from novalog.events.records import Envelope, Flavor


@dataclass(frozen=True, slots=True)
class FlavorCreated:
    """An admin created a flavor."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor: Flavor


@dataclass(frozen=True, slots=True)
class FlavorExtraSpecsSet:
    """An admin set extra specs on a flavor (added or replaced, key by key)."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str
    extra_specs: dict[str, str]


@dataclass(frozen=True, slots=True)
class FlavorExtraSpecDeleted:
    """An admin removed one extra spec from a flavor."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str
    key: str


@dataclass(frozen=True, slots=True)
class FlavorAccessAdded:
    """An admin let a project use a private flavor (os-flavor-access addTenantAccess)."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str
    project_id: str


@dataclass(frozen=True, slots=True)
class FlavorAccessRemoved:
    """An admin took a project's access to a private flavor away (removeTenantAccess)."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str
    project_id: str


@dataclass(frozen=True, slots=True)
class FlavorDeleted:
    """An admin deleted a flavor."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str


CatalogEvent = (
    FlavorCreated
    | FlavorExtraSpecsSet
    | FlavorExtraSpecDeleted
    | FlavorAccessAdded
    | FlavorAccessRemoved
    | FlavorDeleted
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(CatalogEvent)
