"""The instance family: what is asked of a server and what its hypervisor reports.

On instance.events, keyed by instance id: builds, deletes, power actions,
moves (resize, cold and live migration, evacuation) and their outcomes.
The claim decisions that travel with them are placement's (placement.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope, Fault, Flavor, ImageFiles, InstanceGroup, PlacementTrace, RequestSpec


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
    # The addresses the user says reach the server (Nova's accessIPv4 / accessIPv6), in canonical form; shown, never configured.
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None


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


@dataclass(frozen=True, slots=True)
class InstanceUpdated:
    """A user changed a server's own fields (PUT /servers/{id}): a field left None is left as it was.

    Nova's update touches only the database, never the guest, so no agent
    hears of it: the instance table folds it and the API answers at once.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    name: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRebuildRequested:
    """A user asked to rebuild the instance from an image, on its host (Nova's rebuild).

    `name`, `metadata` and the access addresses replace the instance's when given; the image's
    properties and files are what the image catalog said when it was asked.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    image_ref: str
    name: str | None = None
    metadata: dict[str, str] | None = None
    image_properties: dict[str, str] = field(default_factory=dict)
    image_files: ImageFiles | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRebuilt:
    """An agent recreated the instance's guest from `image_ref`; `power_state` is the guest's afterwards."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    image_ref: str
    power_state: int


@dataclass(frozen=True, slots=True)
class InstanceSnapshotRequested:
    """A user asked for an image of the instance's disk (Nova's createImage): into the queued image `image_id`.

    `image_file` is where the image store keeps that image's bits, `disk_format` the format they are written in.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    image_id: str
    image_file: str
    disk_format: str = "qcow2"


@dataclass(frozen=True, slots=True)
class InstanceSnapshotProgressed:
    """An agent reached a step of a snapshot: `task_state` is Nova's (image_snapshot, image_pending_upload, image_uploading)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    image_id: str
    task_state: str


@dataclass(frozen=True, slots=True)
class InstanceSnapshotted:
    """An agent wrote the instance's disk into the image store as image `image_id`."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    image_id: str


@dataclass(frozen=True, slots=True)
class InstanceRescueRequested:
    """A user asked to boot the instance from a rescue image (`rescue`), or back from its own disk (Nova's rescue, unrescue)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    rescue: bool
    image_ref: str | None = None
    image_files: ImageFiles | None = None


@dataclass(frozen=True, slots=True)
class InstanceRescued:
    """An agent booted the instance's guest from the rescue image (`rescued`), or from its own disk again."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    host: str
    rescued: bool
    power_state: int


@dataclass(frozen=True, slots=True)
class InstanceMetadataSet:
    """A user set metadata items on a server (POST merges them in, PUT with `replace` makes them the whole metadata)."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    metadata: dict[str, str]
    replace: bool = False


@dataclass(frozen=True, slots=True)
class InstanceMetadataDeleted:
    """A user deleted one metadata item of a server."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    key: str


@dataclass(frozen=True, slots=True)
class InstanceLocked:
    """A user or admin locked a server: its owner's changes are refused until it is unlocked (Nova's lock).

    `locked_by` is Nova's: "owner" when the server's own project locked it, "admin" otherwise.
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    locked_by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceUnlocked:
    """A user or admin unlocked a server."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class InstanceConsoleRequested:
    """A user asked for the tail of a server's console (os-getConsoleOutput); the envelope's event id names the ask.

    `length` is the number of last lines wanted, None for all of it (Nova's -1 and null).
    """

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    project_id: str
    user_id: str
    length: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceConsoleReported:
    """The server's agent answered a console ask: the tail it read (bounded), or why it could not."""

    FAMILY: ClassVar[str] = "instance"
    envelope: Envelope
    instance_id: str
    ask_id: str
    host: str
    output: str
    error: str | None = None


InstanceEvent = (
    InstanceBuildRequested
    | InstanceDeleteRequested
    | InstanceSchedulingFailed
    | InstanceSpawned
    | InstanceSpawnFailed
    | InstancePowerStateChanged
    | InstanceDeleted
    | InstanceActionRequested
    | InstanceActionFailed
    | InstanceMoveRequested
    | InstanceMoveProgressed
    | InstanceMoveFailed
    | InstanceUpdated
    | InstanceRebuildRequested
    | InstanceRebuilt
    | InstanceSnapshotRequested
    | InstanceSnapshotProgressed
    | InstanceSnapshotted
    | InstanceRescueRequested
    | InstanceRescued
    | InstanceMetadataSet
    | InstanceMetadataDeleted
    | InstanceLocked
    | InstanceUnlocked
    | InstanceConsoleRequested
    | InstanceConsoleReported
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(InstanceEvent)
