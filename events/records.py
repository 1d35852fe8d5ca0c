"""Value records shared by several events: the envelope, flavors, faults, resources, request specs."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
# RFC 4122's variant bits over the high nibble of byte 8: 10xx.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def guest_name(instance_id: str) -> str:
    """The hypervisor-side name of an instance's guest: `novalog-<instance_id>` (agents name it, tables show it)."""
    return f"novalog-{instance_id}"


def derived_id(name: str) -> str:
    """str(uuid.uuid5(uuid.NAMESPACE_URL, name)), computed on the hex digest without building a UUID.

    Every decision a fold makes derives one such id (`Envelope.caused`), so it
    is on the path of every replayed event that decides something.
    """
    h = hashlib.sha1(_URL_NAMESPACE + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def utcnow() -> datetime:
    """Now, at the millisecond precision Avro's timestamp-millis keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who wrote an event, when, and in answer to what."""

    event_id: str
    event_type: str  # the event's class name; the constructors below take it from the class
    occurred_at: datetime
    producer: str
    request_id: str | None = None
    causation_id: str | None = None
    schema_version: int = 1

    @staticmethod
    def new(
        event_class: type,
        producer: str,
        *,
        request_id: str | None = None,
        causation_id: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """The envelope of a new event of `event_class` (`Envelope.new(InstanceSpawned, producer)`)."""
        return Envelope(
            event_id=event_id or str(uuid.uuid4()),
            event_type=event_class.__name__,
            occurred_at=occurred_at or utcnow(),
            producer=producer,
            request_id=request_id,
            causation_id=causation_id,
        )

    def caused(self, event_class: type, producer: str, *, salt: str = "", occurred_at: datetime | None = None) -> Envelope:
        """The envelope of an event of `event_class` decided from this one.

        Its id is derived from this event's id, so a redelivered cause yields
        the very same effect id and readers can drop the duplicate. Pure
        decisions pass their cause's time, so they never read the clock.
        """
        event_type = event_class.__name__
        derived = derived_id(f"{self.event_id}/{event_type}/{salt}")
        return Envelope(derived, event_type, occurred_at or utcnow(), producer, self.request_id, self.event_id)


@dataclass(frozen=True, slots=True)
class Flavor:
    """A flavor as Nova defines it: sizes in MiB (ram, swap) and GiB (disk, ephemeral)."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fault:
    """Why an instance is in ERROR, in Nova's shape."""

    code: int
    message: str
    created: datetime
    details: str | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    """What one instance takes from a host."""

    vcpus: int
    memory_mb: int
    disk_gb: int

    @staticmethod
    def of(flavor: Flavor) -> Resources:
        """What a claim for one instance of `flavor` takes: the disk is root + ephemeral + swap.

        As Nova's DiskFilter (Icehouse+) and its DISK_GB allocation in
        Placement: swap (MiB) is on the host's local disk too, rounded up to
        whole GiB here because inventory and claims are whole GiB (Placement's
        rounding). The scheduler's filters and the claim check both read this,
        so they cannot disagree.
        """
        return Resources(vcpus=flavor.vcpus, memory_mb=flavor.ram, disk_gb=flavor.disk + flavor.ephemeral + swap_gb(flavor.swap))


def swap_gb(swap_mb: int) -> int:
    """Swap in whole GiB, rounded up (1 MiB of swap takes a GiB of the host's disk)."""
    return -(-swap_mb // 1024)


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    """A server group as the scheduler needs it: its policy, rules and members."""

    id: str
    policy: str
    members: list[str] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything the scheduler needs to place one instance, carried along retries (Nova's RequestSpec)."""

    instance_id: str
    project_id: str
    user_id: str
    flavor: Flavor
    image_ref: str
    availability_zone: str | None = None
    scheduler_hints: dict[str, list[str]] = field(default_factory=dict)
    num_attempts: int = 1
    retry_hosts: list[str] = field(default_factory=list)
    image_properties: dict[str, str] = field(default_factory=dict)
    instance_group: InstanceGroup | None = None
    force_hosts: list[str] = field(default_factory=list)
    force_nodes: list[str] = field(default_factory=list)
    ignore_hosts: list[str] = field(default_factory=list)
    num_instances: int = 1
    # A move (resize, migration, live migration, evacuation) rather than a build.
    migration_id: str | None = None
    # Nova's requested_destination: only this host is considered, its filters still run.
    requested_host: str | None = None
    # The node of each host in retry_hosts, same order: Nova's retry [host, node] pairs. Records
    # written before it have none; a tried host without a node ("" or missing) had every node tried.
    retry_nodes: list[str] = field(default_factory=list)

    def tried(self) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
        """The (host, node) pairs already tried, and the hosts tried whose node is not known (every node of them)."""
        pairs, whole = set(), set()
        for i, host in enumerate(self.retry_hosts):
            node = self.retry_nodes[i] if i < len(self.retry_nodes) else ""
            if node:
                pairs.add((host, node))
            else:
                whole.add(host)
        return frozenset(pairs), frozenset(whole)


@dataclass(frozen=True, slots=True)
class FilterCount:
    """How many hosts were left after one filter ran."""

    name: str
    hosts_after: int


@dataclass(frozen=True, slots=True)
class WeighedHost:
    """A candidate host, its total weight and each weigher's part of it."""

    host: str
    weight: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlacementTrace:
    """Why a placement went where it did: the filter funnel and the top weighed hosts."""

    hosts_before: int
    filters: list[FilterCount] = field(default_factory=list)
    top: list[WeighedHost] = field(default_factory=list)

    def funnel(self) -> str:
        """The funnel as text, e.g. 'RamFilter: 12 -> 0'."""
        steps, before = [], self.hosts_before
        for count in self.filters:
            steps.append(f"{count.name}: {before} -> {count.hosts_after}")
            before = count.hosts_after
        return ", ".join(steps)


@dataclass(frozen=True, slots=True)
class Claim:
    """An accepted, unreleased claim on a host."""

    claim_id: str
    instance_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    flavor_id: str = ""
    project_id: str = ""


@dataclass(frozen=True, slots=True)
class ImageFiles:
    """Where a QEMU host finds an instance's image bits: the disk (in the image store) and its format, the kernel and ramdisk images' files."""

    disk: str
    disk_format: str
    kernel: str | None = None
    ramdisk: str | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """One move of an instance to a new claim (Nova's Migration record).

    `migration_type` is Nova's: resize, migration (cold), live-migration or
    evacuation. `status` follows Nova's: pre-migrating (waiting for a claim),
    migrating, post-migrating, finished (a resize waiting for confirm or
    revert), then confirmed, reverted, completed (live), done (evacuated) or
    error. Both claims are kept until the move ends: the source's until the
    new guest is confirmed, the destination's until a revert gives it back.
    """

    migration_id: str
    migration_type: str
    status: str
    source_host: str
    old_flavor: Flavor
    new_flavor: Flavor
    source_claim_id: str | None = None
    dest_host: str | None = None
    dest_claim_id: str | None = None
    was_running: bool = True
    vm_state_before: str = "active"
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActionEvent:
    """One step of an instance action (Nova's InstanceActionEvent): open until it has a finish time and result."""

    event: str
    start_time: datetime
    finish_time: datetime | None = None
    result: str | None = None
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceAction:
    """A user's request on an instance and how it went (Nova's InstanceAction), kept from the log."""

    action: str
    request_id: str
    user_id: str
    project_id: str
    start_time: datetime
    message: str | None = None
    events: list[ActionEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HostAggregate:
    """A host aggregate (Nova's): its hosts and metadata; `availability_zone` in the metadata makes it a zone."""

    id: int
    uuid: str
    name: str
    created_at: datetime
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AllocationPool:
    """A range of a subnet's addresses that ports are given from, both ends included (Neutron's allocation_pools)."""

    start: str
    end: str


@dataclass(frozen=True, slots=True)
class FixedIp:
    """One address of a port on one subnet. In a port request either part may be missing (any address of the subnet, or the subnet that holds the address)."""

    subnet_id: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class Subnet:
    """A subnet of a network (Neutron's field names); no `gateway_ip` means the subnet has no gateway."""

    subnet_id: str
    project_id: str
    cidr: str
    ip_version: int
    name: str = ""
    gateway_ip: str | None = None
    allocation_pools: list[AllocationPool] = field(default_factory=list)
    enable_dhcp: bool = True
    dns_nameservers: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True, slots=True)
class Port:
    """A port on a network with the addresses and MAC its network's writer gave it (Neutron's field names)."""

    port_id: str
    project_id: str
    mac_address: str
    fixed_ips: list[FixedIp] = field(default_factory=list)
    name: str = ""
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True
    security_groups: list[str] = field(default_factory=list)
    description: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SecurityGroupRule:
    """One rule of a security group (Neutron's field names); None means any (protocol, port, remote)."""

    security_group_rule_id: str
    project_id: str
    direction: str  # ingress | egress
    ethertype: str = "IPv4"  # IPv4 | IPv6
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""
