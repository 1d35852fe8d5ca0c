"""The placement family: a scheduler's proposal, the host-state processor's decision, the release.

Proposals and releases travel on host.events, keyed by host; a decision
travels on instance.events, keyed by the instance it places (topics.py says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, get_args

from novalog.events.records import Envelope, PlacementTrace, RequestSpec, Resources


@dataclass(frozen=True, slots=True)
class PlacementProposed:
    """A scheduler proposes a host; the host-state processor decides the claim."""

    FAMILY: ClassVar[str] = "placement"
    envelope: Envelope
    claim_id: str
    instance_id: str
    host: str
    scheduler: str
    resources: Resources
    spec: RequestSpec
    trace: PlacementTrace | None = None


@dataclass(frozen=True, slots=True)
class ClaimAccepted:
    """The host had room: the claim counts against it until released."""

    FAMILY: ClassVar[str] = "placement"
    envelope: Envelope
    claim_id: str
    instance_id: str
    host: str
    resources: Resources
    spec: RequestSpec


@dataclass(frozen=True, slots=True)
class ClaimRejected:
    """The host had no room left for the proposal; the scheduler may retry elsewhere."""

    FAMILY: ClassVar[str] = "placement"
    envelope: Envelope
    claim_id: str
    instance_id: str
    host: str
    reason: str
    spec: RequestSpec


@dataclass(frozen=True, slots=True)
class ClaimReleased:
    """The instance left the host (deleted or failed): its claim no longer counts."""

    FAMILY: ClassVar[str] = "placement"
    envelope: Envelope
    claim_id: str
    instance_id: str
    host: str


PlacementEvent = PlacementProposed | ClaimAccepted | ClaimRejected | ClaimReleased

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(PlacementEvent)
