"""The quota family: creates waiting for their project's quota, limits, and what is released.

On quota.events, keyed by project id: one writer decides each project's quota.
A request carries what it would create (builds, a key pair, a server group),
and the writer emits it when it fits, so a decision and what it lets through cannot part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope
from novalog.events.types.instance import InstanceBuildRequested
from novalog.events.types.tenant import KeypairCreated, ServerGroupCreated


@dataclass(frozen=True, slots=True)
class ServersRequested:
    """A create of one or more servers, waiting for its project's quota decision.

    The quota processor accepts between `min_count` and all of `builds`, or
    none (Nova's 403), and emits the accepted builds itself, so a decision
    and its builds cannot part. `default_limits` are the cluster's defaults
    the API had in force, so replaying the log decides the same.
    """

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    user_id: str
    reservation_id: str
    min_count: int
    builds: list[InstanceBuildRequested]
    default_limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuotaUpdated:
    """An admin set some of a project's limits (-1: unlimited); `reset` first drops every override (DELETE)."""

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    limits: dict[str, int] = field(default_factory=dict)
    reset: bool = False


@dataclass(frozen=True, slots=True)
class QuotaUsageReleased:
    """An instance is gone: what it used no longer counts against its project.

    It carries what the project's quota counted for the instance (vCPUs,
    RAM MiB, its server group); -1 on records written before it did.
    """

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    instance_id: str
    vcpus: int = -1
    ram: int = -1
    server_group: str | None = None


@dataclass(frozen=True, slots=True)
class KeypairRequested:
    """A key pair create, waiting for its user's key_pairs quota; the writer emits `keypair` if it fits.

    `project_id` is the quota writer's row: `user:<user id>` (events/tenant.py,
    Nova counts a user's key pairs whatever their project), with the limit in
    force for the caller's project in `default_limits`. Requests logged before
    named the project itself, whose row counted them then.
    """

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    keypair: KeypairCreated
    default_limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServerGroupRequested:
    """A server group create, waiting for its project's server_groups quota; the writer emits `group` if it fits."""

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    group: ServerGroupCreated
    default_limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TenantQuotaReleased:
    """A counted key pair or server group is gone (or was refused as a duplicate): its slot is free again."""

    FAMILY: ClassVar[str] = "quota"
    envelope: Envelope
    project_id: str
    key: str


QuotaEvent = (
    ServersRequested
    | QuotaUpdated
    | QuotaUsageReleased
    | KeypairRequested
    | ServerGroupRequested
    | TenantQuotaReleased
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(QuotaEvent)
