"""The projections' current values, published on the compacted state topics.

These are the tables' rows: the projections fold events into them, and any
reader (scheduler, API read cache, analytics) decodes them with the same
schemas. `offset` is the source-log position of the last event folded in,
which is how a writer waits for its own write to show (read-your-writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from novalog.events.records import Claim, Fault, Flavor, HostAggregate, ImageFiles, InstanceAction, Migration, Port, SecurityGroupRule, Subnet


@dataclass(frozen=True, slots=True)
class HostState:
    """One compute host: its inventory, accepted claims and liveness."""

    FAMILY: ClassVar[str] = "state"
    host: str
    hypervisor_type: str = ""
    hypervisor_version: int = 0
    hypervisor_hostname: str = ""
    cpu_info: str = "{}"
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    claims: list[Claim] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    running_vms: int = 0
    vcpus_in_use: int = 0
    memory_mb_in_use: int = 0
    capacity_reported_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    heartbeat_interval_s: float = 0.0
    disabled: bool = False
    disabled_reason: str | None = None
    supported_instances: list[list[str]] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)
    trust_level: str | None = None
    failed_builds: int = 0
    forced_down: bool = False


@dataclass(frozen=True, slots=True)
class InstanceState:
    """One instance as Nova shows it: vm_state, task_state, power_state, host, fault."""

    FAMILY: ClassVar[str] = "state"
    instance_id: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    image_ref: str
    created_at: datetime
    updated_at: datetime
    vm_state: str = "building"
    task_state: str | None = None
    power_state: int = 0
    availability_zone: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None
    host: str | None = None
    hypervisor_hostname: str | None = None
    domain_name: str | None = None
    claim_id: str | None = None
    attempts: int = 0
    fault: Fault | None = None
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    request_id: str | None = None
    offset: int = -1
    # The move in progress, or the last one (its status says which).
    migration: Migration | None = None
    # The request that built it (Nova's reservation id, the position in a multi-create) and its user data.
    reservation_id: str | None = None
    launch_index: int = 0
    user_data: str | None = None
    locked: bool = False
    # What was asked of it, oldest first (os-instance-actions).
    actions: list[InstanceAction] = field(default_factory=list)
    # What the image catalog said at create: the properties a move's scheduling needs again, the files a QEMU host boots.
    image_properties: dict[str, str] = field(default_factory=dict)
    image_files: ImageFiles | None = None
    # The server group it joined at create (the `group` hint); it leaves the group when deleted.
    server_group: str | None = None
    # What its project's quota counted for it at create, [vcpus, ram MiB] (its flavor then; a resize
    # does not change it), given back when it is deleted; empty on rows written before it was kept.
    quota_counted: list[int] = field(default_factory=list)
    # Its build request's offset in its partition of instance.events, kept by the table at the build: with the
    # partition, the instance's number (Nova's id) that names it (events/instance_names.py); -1 on older rows.
    build_offset: int = -1
    # Nova's accessIPv4 / accessIPv6: what the user says reaches it (set at create and by PUT /servers/{id}).
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    # Nova's lock: who locked it ("owner" or "admin"; None when unlocked) and why (shown from 2.73).
    locked_by: str | None = None
    locked_reason: str | None = None
    # Its agent's answers to the last few console asks (os-getConsoleOutput), by ask id: the tail read, or why none
    # (errors). A few, so that concurrent asks each find theirs; bounded by the agent's cut (events/console.py).
    console_answers: dict[str, str] = field(default_factory=dict)
    console_errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlavorState:
    """One flavor of the catalog."""

    FAMILY: ClassVar[str] = "state"
    flavor: Flavor
    created_at: datetime
    deleted: bool = False
    offset: int = -1
    # The projects a private flavor is open to (os-flavor-access); public flavors are open to all.
    projects: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImageState:
    """One image of the catalog (Glance's record): queued until its bits are stored, then active; deleted is kept as a tombstone."""

    FAMILY: ClassVar[str] = "state"
    image_id: str
    owner: str
    visibility: str
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    status: str = "queued"
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    location: str | None = None
    offset: int = -1


@dataclass(frozen=True, slots=True)
class ProjectState:
    """One project of the identity store."""

    FAMILY: ClassVar[str] = "state"
    project_id: str
    name: str
    domain_id: str
    created_at: datetime
    description: str | None = None
    offset: int = -1


@dataclass(frozen=True, slots=True)
class UserState:
    """One user of the identity store: the password's hash and the roles given on each project (by project id)."""

    FAMILY: ClassVar[str] = "state"
    user_id: str
    name: str
    domain_id: str
    password_hash: str
    created_at: datetime
    default_project_id: str | None = None
    password_changed_at: datetime | None = None
    # Only the roles given; the roles they imply are added when a token is made.
    roles: dict[str, list[str]] = field(default_factory=dict)
    offset: int = -1
    # The user's revoked tokens still in force: audit id -> the token's expiry (ms since the epoch).
    # A revocation is dropped once its token has expired (projections/identity.py), so this stays small.
    revoked: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One project's quota: its limit overrides, what its instances use, and the recent create decisions.

    `used` holds the running totals of what the counted instances use
    ("instances", "cores", "ram") and `group_members` how many of them are in
    each server group: the row keeps its size however large the project
    grows. `instances` and `groups` are what rows written before the totals
    counted instance by instance (instance -> [vcpus, ram MiB], instance ->
    group); such an instance counts from there until it is released.
    `decisions` maps a create's reservation id to "" (accepted, all or part:
    `accepted` lists them) or Nova's 403 message; `released` the instances
    given back most recently, so a release appended twice counts once.
    """

    FAMILY: ClassVar[str] = "state"
    project_id: str
    limits: dict[str, int] = field(default_factory=dict)
    instances: dict[str, list[int]] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, list[str]] = field(default_factory=dict)
    offset: int = -1
    # The server group of each counted instance that is in one (server_group_members).
    groups: dict[str, str] = field(default_factory=dict)
    # Counted key pairs and server groups: their tenant key -> "key_pairs" or "server_groups".
    tenant: dict[str, str] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    group_members: dict[str, int] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class KeypairState:
    """One key pair of a user: its public key and fingerprint (Nova's KeyPair; an integer id, as Nova's)."""

    FAMILY: ClassVar[str] = "state"
    keypair_id: int
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    created_at: datetime
    key_type: str = "ssh"
    deleted: bool = False
    deleted_at: datetime | None = None
    quota_project: str | None = None
    offset: int = -1


@dataclass(frozen=True, slots=True)
class ServerGroupState:
    """One server group. Its members are the live instances whose row names it (`InstanceState.server_group`)."""

    FAMILY: ClassVar[str] = "state"
    group_id: str
    name: str
    policy: str
    project_id: str
    user_id: str
    created_at: datetime
    rules: dict[str, str] = field(default_factory=dict)
    deleted: bool = False
    offset: int = -1
    counted: bool = False


@dataclass(frozen=True, slots=True)
class AggregatesState:
    """Every host aggregate, in one row: one writer numbers them, keeps names unique and zones consistent.

    `refusals` maps the id of an event the writer refused to Nova's message
    for it, so the API that wrote it can answer 400/404/409.
    """

    FAMILY: ClassVar[str] = "state"
    aggregates: list[HostAggregate] = field(default_factory=list)
    next_id: int = 1
    refusals: dict[str, str] = field(default_factory=dict)
    offset: int = -1


@dataclass(frozen=True, slots=True)
class NetworkState:
    """One network with its subnets and ports: its writer decides every address on it (projections/networks.py).

    `refused` maps a refused port id to its fault type and reason, `released`
    holds deleted port ids, both bounded, so a redelivered request gets the
    same answer and a deleted port is never given addresses again.
    """

    FAMILY: ClassVar[str] = "state"
    network_id: str
    project_id: str = ""
    name: str = ""
    created_at: datetime | None = None
    admin_state_up: bool = True
    shared: bool = False
    mtu: int = 1500
    port_security_enabled: bool = True
    description: str = ""
    subnets: list[Subnet] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    deleted: bool = False
    offset: int = -1


@dataclass(frozen=True, slots=True)
class SecurityGroupState:
    """One security group and its rules."""

    FAMILY: ClassVar[str] = "state"
    security_group_id: str
    project_id: str
    name: str
    created_at: datetime
    description: str = ""
    stateful: bool = True
    rules: list[SecurityGroupRule] = field(default_factory=list)
    deleted: bool = False
    offset: int = -1


STATE_TYPES: tuple[type, ...] = (
    HostState, InstanceState, FlavorState, ProjectState, UserState, QuotaState, ImageState, KeypairState, ServerGroupState, AggregatesState,
    NetworkState, SecurityGroupState,
)
