"""The agent family: commands for one host's agent.

On novalog.agent.<host> (one partition per host, so they stay in order), keyed by instance id.
The instance table decides them (projections/instances.py); the agent carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, get_args

from novalog.events.records import Envelope, Flavor, ImageFiles


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
    # The offset of the instance's build request, as the instance table kept it: with the instance's partition, the
    # number its guest is named by (Nova's instance_name_template, events/instance_names.py); -1 (an order written
    # before orders carried it): the agent's default name.
    build_offset: int = -1


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
    # As the spawn order's: a guest defined on another host keeps its name (Nova keeps instance_name across moves).
    build_offset: int = -1


@dataclass(frozen=True, slots=True)
class InstanceDeleteOrdered:
    """The host's agent is to remove this instance's guest and release its claim."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    claim_id: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRebuildOrdered:
    """The host's agent is to recreate the instance's guest from a new image (its disk made afresh), ending on if `power_on`."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    claim_id: str
    name: str
    flavor: Flavor
    image_ref: str
    project_id: str
    power_on: bool = True
    image_files: ImageFiles | None = None


@dataclass(frozen=True, slots=True)
class InstanceSnapshotOrdered:
    """The host's agent is to write the instance's disk into the image store at `image_file` (image `image_id`)."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    image_id: str
    image_file: str
    disk_format: str = "qcow2"


@dataclass(frozen=True, slots=True)
class InstanceRescueOrdered:
    """The host's agent is to boot the guest from the rescue image, its own disk second (`rescue`), or from its own disk again."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    rescue: bool
    name: str
    flavor: Flavor
    image_ref: str
    project_id: str
    rescue_image_ref: str | None = None
    rescue_image_files: ImageFiles | None = None
    image_files: ImageFiles | None = None


@dataclass(frozen=True, slots=True)
class InstanceConsoleOrdered:
    """The host's agent is to read the tail of the instance's console and report it (`length` last lines; None: all)."""

    FAMILY: ClassVar[str] = "agent"
    envelope: Envelope
    instance_id: str
    ask_id: str
    length: int | None = None


AgentCommand = (
    InstanceActionOrdered | InstanceSpawnOrdered | InstanceMoveOrdered | InstanceDeleteOrdered
    | InstanceRebuildOrdered | InstanceSnapshotOrdered | InstanceRescueOrdered | InstanceConsoleOrdered
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(AgentCommand)
