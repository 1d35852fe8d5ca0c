"""The network family: networks, subnets, ports, security groups and their rules (Neutron's field names).

On network.events, keyed `network:<network_id>` for a network and everything
on it (subnets, port requests, the writer's decisions, deletes), so one
network's requests land in one partition and its table owner decides them in
log order; `security_group:<id>` for a group and its rules
(events/network.py has the keys, projections/networks.py the fold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from novalog.events.records import Envelope, FixedIp, SecurityGroupRule, Subnet


@dataclass(frozen=True, slots=True)
class NetworkCreated:
    """A user created a network."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    network_id: str
    project_id: str
    name: str = ""
    admin_state_up: bool = True
    shared: bool = False
    mtu: int = 1500
    port_security_enabled: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class NetworkUpdated:
    """A user changed a network's attributes; a None field is left as it was."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    network_id: str
    name: str | None = None
    admin_state_up: bool | None = None
    shared: bool | None = None
    mtu: int | None = None
    port_security_enabled: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkDeleted:
    """A user deleted a network; its subnets and any port left on it go with it."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    network_id: str


@dataclass(frozen=True, slots=True)
class SubnetCreated:
    """A user added a subnet to a network (its pools already filled in by the writer of the request)."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    network_id: str
    subnet: Subnet


@dataclass(frozen=True, slots=True)
class SubnetDeleted:
    """A user deleted a subnet; the addresses ports held on it go with it."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    network_id: str
    subnet_id: str


@dataclass(frozen=True, slots=True)
class PortRequested:
    """A user (or Nova, for a server's network request) asked for a port; the network's writer decides its addresses.

    `fixed_ips` empty: one address from the first subnet of each IP version
    with room. `mac_address` None: the writer derives one from the port id.
    """

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    port_id: str
    network_id: str
    project_id: str
    fixed_ips: list[FixedIp] = field(default_factory=list)
    mac_address: str | None = None
    name: str = ""
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True
    security_groups: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True, slots=True)
class PortAllocated:
    """The network's writer gave a requested port its addresses and MAC."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    port_id: str
    network_id: str
    project_id: str
    mac_address: str
    fixed_ips: list[FixedIp] = field(default_factory=list)
    device_id: str = ""


@dataclass(frozen=True, slots=True)
class PortAllocationRefused:
    """The network's writer refused a port request: `error_type` is Neutron's fault type, `reason` says why."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    port_id: str
    network_id: str
    error_type: str
    reason: str
    device_id: str = ""


@dataclass(frozen=True, slots=True)
class PortDeleted:
    """A user (or Nova) deleted a port; its addresses and MAC are free again."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    port_id: str
    network_id: str


@dataclass(frozen=True, slots=True)
class SecurityGroupCreated:
    """A user created a security group (its first rules follow as their own events)."""

    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    security_group_id: str
    project_id: str
    name: str
    description: str = ""
    stateful: bool = True


@dataclass(frozen=True, slots=True)
class SecurityGroupDeleted:
    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    security_group_id: str


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleCreated:
    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    security_group_id: str
    rule: SecurityGroupRule


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleDeleted:
    FAMILY: ClassVar[str] = "network"
    envelope: Envelope
    security_group_id: str
    security_group_rule_id: str


NetworkEvent = (
    NetworkCreated
    | NetworkUpdated
    | NetworkDeleted
    | SubnetCreated
    | SubnetDeleted
    | PortRequested
    | PortAllocated
    | PortAllocationRefused
    | PortDeleted
    | SecurityGroupCreated
    | SecurityGroupDeleted
    | SecurityGroupRuleCreated
    | SecurityGroupRuleDeleted
)

# The family's registry: every class above, in this order (types/__init__.py composes them).
EVENTS: tuple[type, ...] = get_args(NetworkEvent)
