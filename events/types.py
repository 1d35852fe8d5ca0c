"""The events: frozen values named as past-tense facts, one per schema in schemas/.

Each class's Avro full name is `novalog.<family>.<ClassName>`; the family is
given by the `FAMILY` class variable. Where each one travels is in topics.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from novalog.events.records import Envelope, Fault, Flavor, PlacementTrace, RequestSpec, Resources


# --- instance lifecycle (novalog.instance.events, keyed by instance id) ---


@dataclass(frozen=True, slots=True)
class InstanceBuildRequested:
    """A user asked for a server (POST /servers).

    A multi-create (min_count/max_count) is one event per instance, each
    listing every instance of the request in `instance_ids`; the scheduler
    places them together when it handles the first one.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    image_ref: str
    availability_zone: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    scheduler_hints: dict[str, list[str]] = field(default_factory=dict)
    key_name: str | None = None
    reservation_id: str | None = None
    instance_ids: list[str] = field(default_factory=list)
    min_count: int = 1
    user_data: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceDeleteRequested:
    """A user asked for a server to be deleted."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class InstanceSchedulingFailed:
    """No host could take the instance within max_attempts ("No valid host")."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    fault: Fault
    attempts: int
    trace: PlacementTrace | None = None


@dataclass(frozen=True, slots=True)
class InstanceSpawned:
    """The hypervisor reported the guest started (from its lifecycle event)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    hypervisor_hostname: str
    domain_name: str
    power_state: int


@dataclass(frozen=True, slots=True)
class InstanceSpawnFailed:
    """The agent could not start the guest; its claim is released."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    fault: Fault


@dataclass(frozen=True, slots=True)
class InstancePowerStateChanged:
    """The hypervisor reported another lifecycle transition (stopped, suspended, crashed...)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    transition: str
    power_state: int


@dataclass(frozen=True, slots=True)
class InstanceDeleted:
    """The instance is gone: its guest removed (or it never had one)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceActionRequested:
    """A user asked for a power action on a server (reboot, os-stop, os-start, pause, unpause, suspend, resume)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    action: str
    project_id: str
    user_id: str
    reboot_type: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceActionFailed:
    """The hypervisor refused an action; the instance goes back to where it was."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    action: str
    fault: Fault


# --- placement (proposals and releases on host.events; decisions on instance.events) ---


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


# --- hosts (host.events and host.heartbeats, keyed by host name) ---


@dataclass(frozen=True, slots=True)
class HostCapacityReported:
    """An agent reported its host's inventory and what the hypervisor runs."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    cpu_info: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    running_vms: int = 0
    vcpus_in_use: int = 0
    memory_mb_in_use: int = 0
    reported_at: datetime | None = None
    supported_instances: list[list[str]] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)
    trust_level: str | None = None
    failed_builds: int = 0


@dataclass(frozen=True, slots=True)
class HostServiceUpdated:
    """An admin enabled or disabled a host's compute service, or forced it down (os-services)."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    disabled: bool
    disabled_reason: str | None = None
    forced_down: bool = False


@dataclass(frozen=True, slots=True)
class HostHeartbeatReported:
    """An agent is alive."""

    FAMILY: ClassVar[str] = "host"
    envelope: Envelope
    host: str
    interval_s: float


# --- catalog (catalog.events, keyed by entity id) ---


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
class FlavorDeleted:
    """An admin deleted a flavor."""

    FAMILY: ClassVar[str] = "catalog"
    envelope: Envelope
    flavor_id: str


# --- moves: resize, cold and live migration, evacuation (instance.events) ---


@dataclass(frozen=True, slots=True)
class InstanceMoveRequested:
    """A user or admin asked to move the instance to a new claim (Nova's resize, migrate, os-migrateLive, evacuate).

    `spec` is what the scheduler places: the new flavor, the migration id,
    the hosts to leave out (the source, unless a resize may stay) or the one
    host asked for.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    migration_id: str
    migration_type: str
    project_id: str
    user_id: str
    source_host: str
    spec: RequestSpec


@dataclass(frozen=True, slots=True)
class InstanceMoveProgressed:
    """An agent finished one step of a move on its host; `power_state` is the guest's there afterwards."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    migration_id: str
    step: str
    host: str
    power_state: int


@dataclass(frozen=True, slots=True)
class InstanceMoveFailed:
    """An agent could not carry out a step of a move; the fault says why."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    migration_id: str
    step: str
    host: str
    fault: Fault


# --- agent commands (novalog.agent.<host>, keyed by instance id) ---


@dataclass(frozen=True, slots=True)
class InstanceActionOrdered:
    """The host's agent is to carry out a power action on the instance's guest."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    action: str
    reboot_type: str | None = None



@dataclass(frozen=True, slots=True)
class InstanceSpawnOrdered:
    """The host's agent is to start this instance under the accepted claim."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    claim_id: str
    name: str
    flavor: Flavor
    image_ref: str
    project_id: str


@dataclass(frozen=True, slots=True)
class InstanceMoveOrdered:
    """The host's agent is to carry out one step of a move (see projections/instances.py for the steps).

    `flavor` is what the guest is to run with after the step, `claim_id` the
    claim it runs under on this host, `power_on` whether it ends running.
    """

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    migration_id: str
    migration_type: str
    step: str
    source_host: str
    dest_host: str
    claim_id: str
    name: str
    flavor: Flavor
    image_ref: str
    project_id: str
    power_on: bool = True


@dataclass(frozen=True, slots=True)
class InstanceDeleteOrdered:
    """The host's agent is to remove this instance's guest and release its claim."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    claim_id: str | None = None


# --- identity (identity.events, keyed by name: `project:<domain>:<name>`, `user:<domain>:<name>`) ---
# Keyed by name, so one writer folds every event of a name: a second create
# of the same name meets the first and is refused (projections/identity.py).


@dataclass(frozen=True, slots=True)
class ProjectCreated:
    """An admin created a project (Keystone's tenant) in a domain."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    project_id: str
    name: str
    domain_id: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class UserCreated:
    """An admin created a user; only the password's KDF hash is recorded, never the password."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    name: str
    domain_id: str
    password_hash: str
    default_project_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserPasswordChanged:
    """A user's password was replaced (its new KDF hash)."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    name: str
    domain_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class RoleAssigned:
    """An admin gave a user a role on a project (keyed by the user, whose row keeps its assignments)."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    user_name: str
    domain_id: str
    project_id: str
    role: str


@dataclass(frozen=True, slots=True)
class RoleUnassigned:
    """An admin took a role on a project away from a user."""

    FAMILY: ClassVar[str] = "identity"
    envelope: Envelope
    user_id: str
    user_name: str
    domain_id: str
    project_id: str
    role: str


EVENT_TYPES: tuple[type, ...] = (
    InstanceBuildRequested,
    InstanceDeleteRequested,
    InstanceSchedulingFailed,
    InstanceSpawned,
    InstanceSpawnFailed,
    InstancePowerStateChanged,
    InstanceDeleted,
    PlacementProposed,
    ClaimAccepted,
    ClaimRejected,
    ClaimReleased,
    HostCapacityReported,
    HostHeartbeatReported,
    FlavorCreated,
    FlavorDeleted,
    InstanceSpawnOrdered,
    InstanceDeleteOrdered,
    InstanceActionRequested,
    InstanceActionFailed,
    InstanceActionOrdered,
    HostServiceUpdated,
    FlavorExtraSpecsSet,
    FlavorExtraSpecDeleted,
    InstanceMoveRequested,
    InstanceMoveProgressed,
    InstanceMoveFailed,
    InstanceMoveOrdered,
    ProjectCreated,
    UserCreated,
    UserPasswordChanged,
    RoleAssigned,
    RoleUnassigned,
)

InstanceEvent = (
    InstanceBuildRequested
    | InstanceDeleteRequested
    | InstanceSchedulingFailed
    | InstanceSpawned
    | InstanceSpawnFailed
    | InstancePowerStateChanged
    | InstanceDeleted
    | ClaimAccepted
    | ClaimRejected
    | InstanceActionRequested
    | InstanceActionFailed
    | InstanceMoveRequested
    | InstanceMoveProgressed
    | InstanceMoveFailed
)
HostEvent = HostCapacityReported | HostHeartbeatReported | PlacementProposed | ClaimReleased | HostServiceUpdated
CatalogEvent = FlavorCreated | FlavorDeleted | FlavorExtraSpecsSet | FlavorExtraSpecDeleted
AgentCommand = InstanceSpawnOrdered | InstanceDeleteOrdered | InstanceActionOrdered | InstanceMoveOrdered
IdentityEvent = ProjectCreated | UserCreated | UserPasswordChanged | RoleAssigned | RoleUnassigned
