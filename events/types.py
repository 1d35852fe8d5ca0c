"""The events: frozen values named as past-tense facts, one per schema in schemas/.

Each class's Avro full name is `novalog.<family>.<ClassName>`; the family is
given by the `FAMILY` class variable. Where each one travels is in topics.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from novalog.events.records import Envelope, Fault, Flavor, ImageFiles, InstanceGroup, PlacementTrace, RequestSpec, Resources


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
    # The image's properties (for ImagePropertiesFilter) and its files (for a QEMU host), from the image catalog.
    image_properties: dict[str, str] = field(default_factory=dict)
    image_files: ImageFiles | None = None
    # An admin's "zone:host" form: the scheduler proposes that host without running the filters (Nova's force_hosts).
    force_hosts: list[str] = field(default_factory=list)
    # The server group of the `group` hint as the API found it: its policy, rules and live members.
    instance_group: InstanceGroup | None = None


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


# --- host aggregates and availability zones (aggregate.events, all under one key: one writer numbers them) ---


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


# --- quotas (quota.events, keyed by project id: one writer decides each project's quota) ---


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


# --- key pairs and server groups (tenant.events, keyed `keypair:<user_id>:<name>`, `server_group:<id>`) ---
# A key pair is keyed by its owner and name, so one writer folds every create
# of a name: a second create meets the first and is refused (projections/tenant.py).


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


# --- quota-gated creates of key pairs and server groups (quota.events, keyed by project id) ---


@dataclass(frozen=True, slots=True)
class KeypairRequested:
    """A key pair create, waiting for its project's key_pairs quota; the writer emits `keypair` if it fits."""

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
    image_files: ImageFiles | None = None


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
    image_files: ImageFiles | None = None


@dataclass(frozen=True, slots=True)
class InstanceDeleteOrdered:
    """The host's agent is to remove this instance's guest and release its claim."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    claim_id: str | None = None


# --- images (catalog.events, keyed `image:<id>`; Glance's image records) ---


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
    KeypairRequested,
    ServerGroupRequested,
    TenantQuotaReleased,
    FlavorAccessAdded,
    FlavorAccessRemoved,
    AggregateCreated,
    AggregateUpdated,
    AggregateDeleted,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    ServersRequested,
    QuotaUpdated,
    QuotaUsageReleased,
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
    ImageCreated,
    ImageUploaded,
    ImageUpdated,
    ImageDeleted,
    KeypairCreated,
    KeypairDeleted,
    ServerGroupCreated,
    ServerGroupDeleted,
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
ImageEvent = ImageCreated | ImageUploaded | ImageUpdated | ImageDeleted
CatalogEvent = FlavorCreated | FlavorDeleted | FlavorExtraSpecsSet | FlavorExtraSpecDeleted | FlavorAccessAdded | FlavorAccessRemoved | ImageEvent
AgentCommand = InstanceSpawnOrdered | InstanceDeleteOrdered | InstanceActionOrdered | InstanceMoveOrdered
IdentityEvent = ProjectCreated | UserCreated | UserPasswordChanged | RoleAssigned | RoleUnassigned
QuotaEvent = ServersRequested | QuotaUpdated | QuotaUsageReleased | KeypairRequested | ServerGroupRequested | TenantQuotaReleased
TenantEvent = KeypairCreated | KeypairDeleted | ServerGroupCreated | ServerGroupDeleted
AggregateEvent = AggregateCreated | AggregateUpdated | AggregateDeleted | AggregateHostAdded | AggregateHostRemoved | AggregateMetadataSet
