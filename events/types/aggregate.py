"""The aggregate family: host aggregates and availability zones.

On aggregate.events, all under one key: one writer numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope


@dataclass(frozen=True, slots=True)
class AggregateCreated:
    """An admin made a host aggregate (in an availability zone, if one is named)."""

    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str
    name: str
    availability_zone: str | None = None


@dataclass(frozen=True, slots=True)
class AggregateUpdated:
    """An admin renamed an aggregate or moved it to another availability zone (None: no zone)."""

    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str
    name: str
    availability_zone: str | None = None


@dataclass(frozen=True, slots=True)
class AggregateDeleted:
    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str


@dataclass(frozen=True, slots=True)
class AggregateHostAdded:
    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str
    host: str


@dataclass(frozen=True, slots=True)
class AggregateHostRemoved:
    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str
    host: str


@dataclass(frozen=True, slots=True)
class AggregateMetadataSet:
    """An admin set metadata keys of an aggregate; a None value removes the key (Nova's set_metadata)."""

    FAMILY: ClassVar[str] = "aggregate"
    envelope: Envelope
    aggregate_uuid: str
    metadata: dict[str, str | None] = field(default_factory=dict)


AggregateEvent = (
    AggregateCreated
    | AggregateUpdated
    | AggregateDeleted
    | AggregateHostAdded
    | AggregateHostRemoved
    | AggregateMetadataSet
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(AggregateEvent)
