"""The tenant family: key pairs and server groups.

On tenant.events, keyed `keypair:<user_id>:<name>` and `server_group:<id>`.
A key pair is keyed by its owner and name, so one writer folds every create
of a name: a second create meets the first and is refused (projections/tenant.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope


@dataclass(frozen=True, slots=True)
class KeypairCreated:
    """A user created or imported a key pair; only its public part is recorded (a generated private key is returned once, never logged)."""

    FAMILY: ClassVar[str] = "tenant"
    envelope: Envelope
    keypair_id: int
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    key_type: str = "ssh"
    # The project whose key_pairs quota counts it (set by the quota writer that let it through).
    quota_project: str | None = None


@dataclass(frozen=True, slots=True)
class KeypairDeleted:
    """A user (or an admin) deleted a key pair."""

    FAMILY: ClassVar[str] = "tenant"
    envelope: Envelope
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ServerGroupCreated:
    """A user created a server group with one policy (affinity, anti-affinity, soft-affinity, soft-anti-affinity)."""

    FAMILY: ClassVar[str] = "tenant"
    envelope: Envelope
    group_id: str
    name: str
    policy: str
    project_id: str
    user_id: str
    rules: dict[str, str] = field(default_factory=dict)
    counted: bool = False  # let through by its project's quota writer (server_groups)


@dataclass(frozen=True, slots=True)
class ServerGroupDeleted:
    """A user deleted a server group; its members stay where they run."""

    FAMILY: ClassVar[str] = "tenant"
    envelope: Envelope
    group_id: str


TenantEvent = KeypairCreated | KeypairDeleted | ServerGroupCreated | ServerGroupDeleted

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(TenantEvent)
