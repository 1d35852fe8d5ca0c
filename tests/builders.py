"""Builders for test data: the real frozen records, with defaults a test overrides by keyword.

Each builder returns a value that could have come out of the log; pass only
the fields the test is about, so the test reads as its own specification.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from novalog.events.records import (
    Claim,
    Envelope,
    Fault,
    FilterCount,
    Flavor,
    InstanceGroup,
    Migration,
    PlacementTrace,
    RequestSpec,
    Resources,
    WeighedHost,
)
from novalog.events.state import FlavorState, HostState, InstanceState, ProjectState, UserState
from novalog.events.types import (
    ClaimAccepted,
    ClaimRejected,
    ClaimReleased,
    FlavorCreated,
    FlavorDeleted,
    FlavorExtraSpecDeleted,
    FlavorExtraSpecsSet,
    HostCapacityReported,
    HostHeartbeatReported,
    HostServiceUpdated,
    InstanceActionFailed,
    InstanceActionOrdered,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceDeleted,
    InstanceDeleteOrdered,
    InstanceDeleteRequested,
    InstanceMoveFailed,
    InstanceMoveOrdered,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstancePowerStateChanged,
    InstanceRebuildOrdered,
    InstanceRebuildRequested,
    InstanceRebuilt,
    InstanceRescued,
    InstanceRescueOrdered,
    InstanceRescueRequested,
    InstanceSchedulingFailed,
    InstanceSnapshotOrdered,
    InstanceSnapshotProgressed,
    InstanceSnapshotRequested,
    InstanceSnapshotted,
    InstanceSpawned,
    InstanceSpawnFailed,
    InstanceSpawnOrdered,
    InstanceUpdated,
    PlacementProposed,
    ProjectCreated,
    QuotaUpdated,
    QuotaUsageReleased,
    RoleAssigned,
    RoleUnassigned,
    ServersRequested,
    TokenRevoked,
    UserCreated,
    UserPasswordChanged,
)
from novalog.scheduler.host_state import Aggregate, SchedHost, host_view

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
SERVICE_DOWN_TIME = 20.0

# --- catalog and requests ---


def build_flavor(**fields: Any) -> Flavor:
    """m1.tiny-sized: 1 vCPU, 512 MB RAM, 1 GB root disk."""
    return replace(Flavor(id="flavor-1", name="m1.tiny", vcpus=1, ram=512, disk=1), **fields)


def build_spec(flavor: Flavor | None = None, **fields: Any) -> RequestSpec:
    """A first-attempt request for one instance of `flavor` (default: build_flavor())."""
    spec = RequestSpec(
        instance_id="instance-1",
        project_id="project-1",
        user_id="user-1",
        flavor=flavor or build_flavor(),
        image_ref="image-1",
    )
    return replace(spec, **fields)


# --- hosts and claims ---


def build_claim(claim_id: str = "claim-1", **fields: Any) -> Claim:
    """An accepted claim of 1 vCPU, 512 MB, 1 GB."""
    claim = Claim(claim_id=claim_id, instance_id=f"instance-of-{claim_id}", vcpus=1, memory_mb=512, disk_gb=1)
    return replace(claim, **fields)


def build_host_state(host: str = "host-1", **fields: Any) -> HostState:
    """A host that reported capacity and a heartbeat at NOW, enabled, with no claims.

    Sized like the local stack's small host (4 vCPUs, 8 GiB, 80 GB) with
    today's Nova default ratios (cpu 4.0, ram 1.0, disk 1.0).
    """
    state = HostState(
        host=host,
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        hypervisor_hostname=host,
        vcpus=4,
        memory_mb=8192,
        disk_gb=80,
        capacity_reported_at=NOW,
        last_heartbeat_at=NOW,
        heartbeat_interval_s=10.0,
    )
    return replace(state, **fields)


# --- scheduler views ---


def build_sched_host(
    state: HostState | None = None,
    in_flight: Iterable[Claim] = (),
    now: datetime = NOW,
    service_down_time: float = SERVICE_DOWN_TIME,
    **state_fields: Any,
) -> SchedHost:
    """The scheduler's view of `state` (default: build_host_state(**state_fields)) through the real host_view."""
    row = state if state is not None else build_host_state(**state_fields)
    return host_view(row, {c.claim_id: c for c in in_flight}, now, service_down_time)


# --- event envelopes and the values events share ---


def build_envelope(event_class: type | None = None, **fields: Any) -> Envelope:
    """An envelope of `event_class` (a bare "Event" without one) written at NOW by "tests" in answer to request "req-1";
    the id names the type unless given."""
    event_type = event_class.__name__ if event_class is not None else "Event"
    envelope = Envelope(
        event_id=f"{event_type}-1", event_type=event_type, occurred_at=NOW, producer="tests", request_id="req-1"
    )
    return replace(envelope, **fields)


def build_caused_envelope(
    cause: Envelope, event_class: type, salt: str = "", producer: str = "novalog-projections", **fields: Any
) -> Envelope:
    """The envelope an effect of `cause` carries: id uuid5 of "<cause id>/<type>/<salt>", cause's request id, written at NOW."""
    event_type = event_class.__name__
    envelope = Envelope(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cause.event_id}/{event_type}/{salt}")),
        event_type=event_type,
        occurred_at=NOW,
        producer=producer,
        request_id=cause.request_id,
        causation_id=cause.event_id,
    )
    return replace(envelope, **fields)


def _envelope(event_class: type, event_id: str, at: datetime) -> Envelope:
    return build_envelope(event_class, event_id=event_id, occurred_at=at)


def build_fault(**fields: Any) -> Fault:
    """Nova's "No valid host" fault, created at NOW."""
    return replace(Fault(code=500, message="No valid host was found.", created=NOW), **fields)


def build_resources(**fields: Any) -> Resources:
    """What an m1.tiny takes: 1 vCPU, 512 MB, 1 GB."""
    return replace(Resources(vcpus=1, memory_mb=512, disk_gb=1), **fields)


def build_trace(**fields: Any) -> PlacementTrace:
    """Two hosts, one left after RamFilter, host-1 weighed first."""
    trace = PlacementTrace(
        hosts_before=2,
        filters=[FilterCount("ComputeFilter", 2), FilterCount("RamFilter", 1)],
        top=[WeighedHost("host-1", 1.0, {"RAMWeigher": 1.0})],
    )
    return replace(trace, **fields)


# --- instance events (ids name the event and the instance: "build-instance-1") ---


def build_build_requested(instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceBuildRequested:
    """POST /servers for one m1.tiny named vm-1."""
    event = InstanceBuildRequested(
        envelope=_envelope(InstanceBuildRequested, f"build-{instance_id}", at),
        instance_id=instance_id,
        name="vm-1",
        project_id="project-1",
        user_id="user-1",
        flavor=build_flavor(),
        image_ref="image-1",
    )
    return replace(event, **fields)


def build_instance_updated(instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceUpdated:
    """PUT /servers/{id} that gives no field (each test says which it changes)."""
    event = InstanceUpdated(
        envelope=_envelope(InstanceUpdated, f"update-{instance_id}", at),
        instance_id=instance_id,
        project_id="project-1",
        user_id="user-1",
    )
    return replace(event, **fields)


def build_delete_requested(instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceDeleteRequested:
    event = InstanceDeleteRequested(
        envelope=_envelope(InstanceDeleteRequested, f"delete-{instance_id}", at),
        instance_id=instance_id,
        project_id="project-1",
        user_id="user-1",
    )
    return replace(event, **fields)


def build_scheduling_failed(instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceSchedulingFailed:
    """No valid host after 3 attempts, without a trace."""
    event = InstanceSchedulingFailed(
        envelope=_envelope(InstanceSchedulingFailed, f"scheduling-failed-{instance_id}", at),
        instance_id=instance_id,
        fault=build_fault(created=at),
        attempts=3,
    )
    return replace(event, **fields)


def build_spawned(instance_id: str = "instance-1", host: str = "host-1", at: datetime = NOW, **fields: Any) -> InstanceSpawned:
    """The guest started, running (power state 1)."""
    event = InstanceSpawned(
        envelope=_envelope(InstanceSpawned, f"spawned-{instance_id}-{host}", at),
        instance_id=instance_id,
        host=host,
        hypervisor_hostname=host,
        domain_name=f"novalog-{instance_id}",
        power_state=1,
    )
    return replace(event, **fields)


def build_spawn_failed(instance_id: str = "instance-1", host: str = "host-1", at: datetime = NOW, **fields: Any) -> InstanceSpawnFailed:
    event = InstanceSpawnFailed(
        envelope=_envelope(InstanceSpawnFailed, f"spawn-failed-{instance_id}-{host}", at),
        instance_id=instance_id,
        host=host,
        fault=build_fault(message=f"Build of instance {instance_id} aborted: image not found", created=at),
    )
    return replace(event, **fields)


def build_power_state_changed(
    instance_id: str = "instance-1", host: str = "host-1", power_state: int = 4, at: datetime = NOW, **fields: Any
) -> InstancePowerStateChanged:
    """The guest stopped (power state 4, SHUTDOWN) unless told otherwise."""
    event = InstancePowerStateChanged(
        envelope=_envelope(InstancePowerStateChanged, f"power-{power_state}-{instance_id}-{host}", at),
        instance_id=instance_id,
        host=host,
        transition="STOPPED",
        power_state=power_state,
    )
    return replace(event, **fields)


def build_deleted(instance_id: str = "instance-1", host: str | None = "host-1", at: datetime = NOW, **fields: Any) -> InstanceDeleted:
    event = InstanceDeleted(
        envelope=_envelope(InstanceDeleted, f"deleted-{instance_id}-{host}", at), instance_id=instance_id, host=host
    )
    return replace(event, **fields)


# --- placement events (ids name the event and the claim: "proposal-claim-1") ---


def build_proposal(
    claim_id: str = "claim-1", host: str = "host-1", resources: Resources | None = None, at: datetime = NOW, **fields: Any
) -> PlacementProposed:
    """scheduler-1 proposes `host` for the instance of build_claim(claim_id); m1.tiny-sized unless told."""
    instance_id = fields.pop("instance_id", f"instance-of-{claim_id}")
    event = PlacementProposed(
        envelope=_envelope(PlacementProposed, f"proposal-{claim_id}", at),
        claim_id=claim_id,
        instance_id=instance_id,
        host=host,
        scheduler="scheduler-1",
        resources=resources or build_resources(),
        spec=build_spec(instance_id=instance_id),
    )
    return replace(event, **fields)


def build_claim_accepted(
    claim_id: str = "claim-1", host: str = "host-1", instance_id: str = "instance-1", at: datetime = NOW, **fields: Any
) -> ClaimAccepted:
    """An m1.tiny claim accepted on its first attempt."""
    event = ClaimAccepted(
        envelope=_envelope(ClaimAccepted, f"accepted-{claim_id}", at),
        claim_id=claim_id,
        instance_id=instance_id,
        host=host,
        resources=build_resources(),
        spec=build_spec(instance_id=instance_id),
    )
    return replace(event, **fields)


def build_claim_rejected(
    claim_id: str = "claim-1", host: str = "host-1", instance_id: str = "instance-1", at: datetime = NOW, **fields: Any
) -> ClaimRejected:
    event = ClaimRejected(
        envelope=_envelope(ClaimRejected, f"rejected-{claim_id}", at),
        claim_id=claim_id,
        instance_id=instance_id,
        host=host,
        reason="memory_mb: requested 512, room 0 (8192 x 1 - 0 reserved - 8192 claimed)",
        spec=build_spec(instance_id=instance_id),
    )
    return replace(event, **fields)


def build_claim_released(claim_id: str = "claim-1", host: str = "host-1", at: datetime = NOW, **fields: Any) -> ClaimReleased:
    """The release of build_claim(claim_id)."""
    event = ClaimReleased(
        envelope=_envelope(ClaimReleased, f"released-{claim_id}", at),
        claim_id=claim_id,
        instance_id=f"instance-of-{claim_id}",
        host=host,
    )
    return replace(event, **fields)


# --- host reports ---


def build_capacity_report(host: str = "host-1", reported_at: datetime | None = NOW, **fields: Any) -> HostCapacityReported:
    """What build_host_state holds: 4 vCPUs, 8 GiB, 80 GB at ratios 4.0 / 1.0 / 1.0, nothing reserved or running.

    Written when it was reported (NOW when reported_at is None).
    """
    written = reported_at or NOW
    event = HostCapacityReported(
        envelope=_envelope(HostCapacityReported, f"capacity-{host}-{written.isoformat()}", written),
        host=host,
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        hypervisor_hostname=host,
        cpu_info='{"model": "Haswell"}',
        vcpus=4,
        memory_mb=8192,
        disk_gb=80,
        cpu_allocation_ratio=4.0,
        ram_allocation_ratio=1.0,
        disk_allocation_ratio=1.0,
        reported_at=reported_at,
    )
    return replace(event, **fields)


def build_heartbeat(host: str = "host-1", at: datetime = NOW, **fields: Any) -> HostHeartbeatReported:
    event = HostHeartbeatReported(
        envelope=_envelope(HostHeartbeatReported, f"heartbeat-{host}-{at.isoformat()}", at), host=host, interval_s=10.0
    )
    return replace(event, **fields)


# --- catalog events ---


def build_flavor_created(flavor: Flavor | None = None, at: datetime = NOW, **fields: Any) -> FlavorCreated:
    flavor = flavor or build_flavor()
    event = FlavorCreated(envelope=_envelope(FlavorCreated, f"flavor-created-{flavor.id}-{at.isoformat()}", at), flavor=flavor)
    return replace(event, **fields)


def build_flavor_deleted(flavor_id: str = "flavor-1", at: datetime = NOW, **fields: Any) -> FlavorDeleted:
    event = FlavorDeleted(envelope=_envelope(FlavorDeleted, f"flavor-deleted-{flavor_id}-{at.isoformat()}", at), flavor_id=flavor_id)
    return replace(event, **fields)


# --- agent commands ---


def build_spawn_ordered(instance_id: str = "instance-1", claim_id: str = "claim-1", **fields: Any) -> InstanceSpawnOrdered:
    event = InstanceSpawnOrdered(
        envelope=build_envelope(InstanceSpawnOrdered, event_id=f"spawn-order-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id,
        claim_id=claim_id,
        name="vm-1",
        flavor=build_flavor(),
        image_ref="image-1",
        project_id="project-1",
    )
    return replace(event, **fields)


def build_delete_ordered(instance_id: str = "instance-1", claim_id: str | None = "claim-1", **fields: Any) -> InstanceDeleteOrdered:
    event = InstanceDeleteOrdered(
        envelope=build_envelope(InstanceDeleteOrdered, event_id=f"delete-order-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id,
        claim_id=claim_id,
    )
    return replace(event, **fields)


def build_action_requested(action: str = "stop", instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceActionRequested:
    """user-1 of project-1 asks for a power action on the instance."""
    event = InstanceActionRequested(
        envelope=_envelope(InstanceActionRequested, f"{action}-{instance_id}", at),
        instance_id=instance_id,
        action=action,
        project_id="project-1",
        user_id="user-1",
    )
    return replace(event, **fields)


def build_action_failed(action: str = "stop", instance_id: str = "instance-1", host: str = "host-1", **fields: Any) -> InstanceActionFailed:
    event = InstanceActionFailed(
        envelope=_envelope(InstanceActionFailed, f"{action}-failed-{instance_id}", NOW),
        instance_id=instance_id,
        host=host,
        action=action,
        fault=build_fault(message=f"{action} failed"),
    )
    return replace(event, **fields)


def build_action_ordered(action: str = "stop", instance_id: str = "instance-1", **fields: Any) -> InstanceActionOrdered:
    event = InstanceActionOrdered(
        envelope=build_envelope(InstanceActionOrdered, event_id=f"{action}-order-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id,
        action=action,
    )
    return replace(event, **fields)


def build_service_updated(host: str = "host-1", disabled: bool = True, **fields: Any) -> HostServiceUpdated:
    """An admin disables the host's compute service (os-services)."""
    event = HostServiceUpdated(
        envelope=_envelope(HostServiceUpdated, f"service-{host}-{disabled}", NOW),
        host=host,
        disabled=disabled,
    )
    return replace(event, **fields)


def build_extra_specs_set(flavor_id: str = "flavor-1", **fields: Any) -> FlavorExtraSpecsSet:
    event = FlavorExtraSpecsSet(
        envelope=_envelope(FlavorExtraSpecsSet, f"specs-{flavor_id}", NOW), flavor_id=flavor_id, extra_specs={"hw:cpu_policy": "dedicated"},
    )
    return replace(event, **fields)


def build_extra_spec_deleted(flavor_id: str = "flavor-1", key: str = "hw:cpu_policy", **fields: Any) -> FlavorExtraSpecDeleted:
    event = FlavorExtraSpecDeleted(envelope=_envelope(FlavorExtraSpecDeleted, f"unspec-{flavor_id}-{key}", NOW), flavor_id=flavor_id, key=key)
    return replace(event, **fields)


def build_migration(migration_type: str = "resize", **fields: Any) -> Migration:
    """A resize from host-1 (claim-1, flavor-1) waiting for its claim."""
    migration = Migration(
        migration_id="migration-1",
        migration_type=migration_type,
        status="pre-migrating",
        source_host="host-1",
        old_flavor=build_flavor(),
        new_flavor=build_flavor(id="flavor-2", name="m1.large", vcpus=2, ram=1024),
        source_claim_id="claim-1",
        created_at=NOW,
    )
    return replace(migration, **fields)


def build_move_requested(
    migration_type: str = "resize", instance_id: str = "instance-1", flavor: Flavor | None = None, **fields: Any
) -> InstanceMoveRequested:
    """A move of the instance from host-1; the scheduler is to leave host-1 out."""
    flavor = flavor or build_flavor(id="flavor-2", name="m1.large", vcpus=2, ram=1024)
    event = InstanceMoveRequested(
        envelope=_envelope(InstanceMoveRequested, f"move-{migration_type}-{instance_id}", NOW),
        instance_id=instance_id,
        migration_id="migration-1",
        migration_type=migration_type,
        project_id="project-1",
        user_id="user-1",
        source_host="host-1",
        spec=build_spec(flavor, instance_id=instance_id, migration_id="migration-1", ignore_hosts=["host-1"]),
    )
    return replace(event, **fields)


def build_move_progressed(step: str, host: str, power_state: int = 1, instance_id: str = "instance-1", **fields: Any) -> InstanceMoveProgressed:
    event = InstanceMoveProgressed(
        envelope=_envelope(InstanceMoveProgressed, f"moved-{step}-{host}-{instance_id}", NOW),
        instance_id=instance_id,
        migration_id="migration-1",
        step=step,
        host=host,
        power_state=power_state,
    )
    return replace(event, **fields)


def build_move_failed(step: str, host: str, instance_id: str = "instance-1", **fields: Any) -> InstanceMoveFailed:
    event = InstanceMoveFailed(
        envelope=_envelope(InstanceMoveFailed, f"move-failed-{step}-{host}-{instance_id}", NOW),
        instance_id=instance_id,
        migration_id="migration-1",
        step=step,
        host=host,
        fault=build_fault(message=f"{step} failed"),
    )
    return replace(event, **fields)


def build_move_ordered(step: str = "finish", host: str = "host-2", instance_id: str = "instance-1", **fields: Any) -> InstanceMoveOrdered:
    event = InstanceMoveOrdered(
        envelope=build_envelope(InstanceMoveOrdered, event_id=f"move-order-{step}-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id,
        migration_id="migration-1",
        migration_type="resize",
        step=step,
        source_host="host-1",
        dest_host=host,
        claim_id="claim-2",
        name="vm-1",
        flavor=build_flavor(id="flavor-2", name="m1.large", vcpus=2, ram=1024),
        image_ref="image-1",
        project_id="project-1",
    )
    return replace(event, **fields)


def build_servers_requested(count: int = 1, project_id: str = "project-1", min_count: int = 1, **fields: Any) -> ServersRequested:
    """A create of `count` m1.tiny servers (instance-1..N, the first one's build last, as the API orders them)."""
    ids = [f"instance-{i + 1}" for i in range(count)]
    builds = [
        build_build_requested(iid, project_id=project_id, reservation_id="r-1", instance_ids=ids if count > 1 else [], min_count=min_count)
        for iid in ids
    ]
    event = ServersRequested(
        envelope=_envelope(ServersRequested, f"servers-{project_id}-{count}", NOW),
        project_id=project_id,
        user_id="user-1",
        reservation_id="r-1",
        min_count=min_count,
        builds=[*builds[1:], builds[0]],
    )
    return replace(event, **fields)


def build_quota_updated(project_id: str = "project-1", **fields: Any) -> QuotaUpdated:
    event = QuotaUpdated(envelope=_envelope(QuotaUpdated, f"quota-{project_id}", NOW), project_id=project_id, limits={"instances": 2})
    return replace(event, **fields)


def build_usage_released(instance_id: str = "instance-1", project_id: str = "project-1", **fields: Any) -> QuotaUsageReleased:
    event = QuotaUsageReleased(
        envelope=_envelope(QuotaUsageReleased, f"released-{instance_id}", NOW), project_id=project_id, instance_id=instance_id
    )
    return replace(event, **fields)


# --- table rows ---


def build_instance_state(instance_id: str = "instance-1", **fields: Any) -> InstanceState:
    """The row build_build_requested(instance_id) starts: building, scheduling, created at NOW."""
    state = InstanceState(
        instance_id=instance_id,
        name="vm-1",
        project_id="project-1",
        user_id="user-1",
        flavor=build_flavor(),
        image_ref="image-1",
        created_at=NOW,
        updated_at=NOW,
        request_id="req-1",
        task_state="scheduling",
        quota_counted=[1, 512],
    )
    return replace(state, **fields)


def build_flavor_state(flavor: Flavor | None = None, **fields: Any) -> FlavorState:
    """A live flavor (default build_flavor()) created at NOW."""
    return replace(FlavorState(flavor=flavor or build_flavor(), created_at=NOW), **fields)


# --- hosts in aggregates, hosts running instances, server groups ---


def build_aggregated_host(*metadata: dict[str, str], **state_fields: Any) -> SchedHost:
    """build_sched_host(**state_fields) in one aggregate per metadata dict ("agg-1", "agg-2"... in that order)."""
    aggregates = [Aggregate(id=f"agg-{i}", name=f"agg-{i}", metadata=dict(md)) for i, md in enumerate(metadata, 1)]
    return host_view(build_host_state(**state_fields), {}, NOW, SERVICE_DOWN_TIME, aggregates=aggregates)


def build_host_running(*instance_ids: str, **state_fields: Any) -> SchedHost:
    """build_sched_host(**state_fields) running those instances, one m1.tiny claim each (claim "claim-of-<id>")."""
    claims = [
        build_claim(f"claim-of-{iid}", instance_id=iid, flavor_id="flavor-1", project_id="project-1") for iid in instance_ids
    ]
    return build_sched_host(claims=claims, **state_fields)


def build_instance_group(policy: str = "anti-affinity", members: Iterable[str] = (), **fields: Any) -> InstanceGroup:
    """Server group "group-1" with `policy`, those members and no rules."""
    return replace(InstanceGroup(id="group-1", policy=policy, members=list(members)), **fields)


def build_claims(count: int, prefix: str = "claim", **fields: Any) -> list[Claim]:
    """`count` m1.tiny claims "<prefix>-1" .. "<prefix>-<count>", each for its own instance."""
    return [build_claim(f"{prefix}-{i}", instance_id=f"instance-of-{prefix}-{i}", **fields) for i in range(1, count + 1)]


def build_busy_host(running: int = 0, building: int = 0, aggregates: Iterable[dict[str, str]] = (), **state_fields: Any) -> SchedHost:
    """A host with `running` accepted claims and `building` in-flight ones, in one aggregate per metadata dict.

    Through the real host_view: num_instances = running + building, and
    num_io_ops = building (a proposal not yet accepted is a build in progress).
    """
    state = build_host_state(claims=build_claims(running, "running"), **state_fields)
    groups = [Aggregate(id=f"agg-{i}", name=f"agg-{i}", metadata=dict(md)) for i, md in enumerate(aggregates, 1)]
    return host_view(state, {c.claim_id: c for c in build_claims(building, "building")}, NOW, SERVICE_DOWN_TIME, aggregates=groups)


# --- identity ---

# A stand-in for a KDF hash: the fold and the codec never look inside it.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def build_project_created(name: str = "demo", project_id: str = "p-demo", at: datetime = NOW, **fields: Any) -> ProjectCreated:
    values: dict[str, Any] = {"envelope": _envelope(ProjectCreated, f"e-project-{project_id}", at), "project_id": project_id, "name": name, "domain_id": "default"}
    return ProjectCreated(**{**values, **fields})


def build_user_created(name: str = "alice", user_id: str = "u-alice", at: datetime = NOW, **fields: Any) -> UserCreated:
    values: dict[str, Any] = {
        "envelope": _envelope(UserCreated, f"e-user-{user_id}", at), "user_id": user_id, "name": name,
        "domain_id": "default", "password_hash": PASSWORD_HASH,
    }
    return UserCreated(**{**values, **fields})


def build_password_changed(name: str = "alice", user_id: str = "u-alice", at: datetime = NOW, **fields: Any) -> UserPasswordChanged:
    values: dict[str, Any] = {
        "envelope": _envelope(UserPasswordChanged, f"e-password-{user_id}-{at.isoformat()}", at), "user_id": user_id,
        "name": name, "domain_id": "default", "password_hash": PASSWORD_HASH.replace("aGFzaGhhc2hoYXNo", "bmV3bmV3bmV3bmV3"),
    }
    return UserPasswordChanged(**{**values, **fields})


def build_role_assigned(role: str = "member", project_id: str = "p-demo", user_name: str = "alice", user_id: str = "u-alice", **fields: Any) -> RoleAssigned:
    values: dict[str, Any] = {
        "envelope": _envelope(RoleAssigned, f"e-assign-{user_id}-{project_id}-{role}", NOW), "user_id": user_id,
        "user_name": user_name, "domain_id": "default", "project_id": project_id, "role": role,
    }
    return RoleAssigned(**{**values, **fields})


def build_role_unassigned(role: str = "member", project_id: str = "p-demo", user_name: str = "alice", user_id: str = "u-alice", **fields: Any) -> RoleUnassigned:
    values: dict[str, Any] = {
        "envelope": _envelope(RoleUnassigned, f"e-unassign-{user_id}-{project_id}-{role}", NOW), "user_id": user_id,
        "user_name": user_name, "domain_id": "default", "project_id": project_id, "role": role,
    }
    return RoleUnassigned(**{**values, **fields})


def build_token_revoked(audit_id: str = "audit-1", expires_at: datetime = NOW + timedelta(hours=1), at: datetime = NOW, **fields: Any) -> TokenRevoked:
    """Alice's token `audit_id` revoked at `at`, in force until `expires_at`."""
    values: dict[str, Any] = {
        "envelope": _envelope(TokenRevoked, f"e-revoke-{audit_id}-{at.isoformat()}", at), "user_id": "u-alice",
        "user_name": "alice", "domain_id": "default", "audit_id": audit_id, "expires_at": expires_at,
    }
    return TokenRevoked(**{**values, **fields})


def build_project_state(name: str = "demo", project_id: str = "p-demo", **fields: Any) -> ProjectState:
    return ProjectState(**{"project_id": project_id, "name": name, "domain_id": "default", "created_at": NOW, **fields})


def build_user_state(name: str = "alice", user_id: str = "u-alice", **fields: Any) -> UserState:
    values: dict[str, Any] = {"user_id": user_id, "name": name, "domain_id": "default", "password_hash": PASSWORD_HASH, "created_at": NOW}
    return UserState(**{**values, **fields})


# --- key pairs and server groups (tenant.events) ---

from novalog.events.state import KeypairState, ServerGroupState  # noqa: E402
from novalog.events.types import KeypairCreated, KeypairDeleted, ServerGroupCreated, ServerGroupDeleted  # noqa: E402

# A real ed25519 public key line and the MD5 fingerprint `ssh-keygen -l -E md5` prints for it.
ED25519_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN+l0KTlerO74aw1XDvvUHi9sZlUgkg8KOb5cBUm70pl demo@novalog"
ED25519_MD5 = "a6:0c:6c:4c:ef:d0:3c:99:9e:a7:10:f3:59:89:04:cb"


def build_keypair_created(name: str = "key-1", user_id: str = "u-1", at: datetime = NOW, **fields: Any) -> KeypairCreated:
    values: dict[str, Any] = {
        "envelope": _envelope(KeypairCreated, f"e-keypair-{user_id}-{name}", at), "keypair_id": 7, "user_id": user_id,
        "name": name, "public_key": ED25519_PUBLIC_KEY, "fingerprint": "aa:bb",
    }
    return KeypairCreated(**{**values, **fields})


def build_keypair_deleted(name: str = "key-1", user_id: str = "u-1", at: datetime = NOW, **fields: Any) -> KeypairDeleted:
    values: dict[str, Any] = {"envelope": _envelope(KeypairDeleted, f"e-keypair-del-{user_id}-{name}", at), "user_id": user_id, "name": name}
    return KeypairDeleted(**{**values, **fields})


def build_keypair_state(name: str = "key-1", user_id: str = "u-1", **fields: Any) -> KeypairState:
    values: dict[str, Any] = {
        "keypair_id": 7, "user_id": user_id, "name": name, "public_key": ED25519_PUBLIC_KEY, "fingerprint": "aa:bb", "created_at": NOW,
    }
    return KeypairState(**{**values, **fields})


def build_server_group_created(group_id: str = "g-1", policy: str = "anti-affinity", at: datetime = NOW, **fields: Any) -> ServerGroupCreated:
    values: dict[str, Any] = {
        "envelope": _envelope(ServerGroupCreated, f"e-group-{group_id}", at), "group_id": group_id, "name": "web",
        "policy": policy, "project_id": "p-1", "user_id": "u-1",
    }
    return ServerGroupCreated(**{**values, **fields})


def build_server_group_deleted(group_id: str = "g-1", at: datetime = NOW, **fields: Any) -> ServerGroupDeleted:
    return ServerGroupDeleted(**{"envelope": _envelope(ServerGroupDeleted, f"e-group-del-{group_id}", at), "group_id": group_id, **fields})


def build_server_group_state(group_id: str = "g-1", policy: str = "anti-affinity", **fields: Any) -> ServerGroupState:
    values: dict[str, Any] = {"group_id": group_id, "name": "web", "policy": policy, "project_id": "p-1", "user_id": "u-1", "created_at": NOW}
    return ServerGroupState(**{**values, **fields})


# --- images (catalog.events, keyed `image:<id>`) ---

from novalog.events.records import ImageFiles  # noqa: E402
from novalog.events.state import ImageState  # noqa: E402
from novalog.events.types import ImageCreated, ImageDeleted, ImageUpdated, ImageUploaded  # noqa: E402


def build_image_files(**fields: Any) -> ImageFiles:
    """A qcow2 disk in the image store, no kernel or ramdisk of its own."""
    return replace(ImageFiles(disk="/store/image-1", disk_format="qcow2"), **fields)


def build_image_created(image_id: str = "image-1", at: datetime = NOW, **fields: Any) -> ImageCreated:
    """project-1 registered a private qcow2/bare image named cirros."""
    event = ImageCreated(
        envelope=_envelope(ImageCreated, f"image-created-{image_id}", at),
        image_id=image_id, name="cirros", owner="project-1", visibility="private", disk_format="qcow2", container_format="bare",
    )
    return replace(event, **fields)


def build_image_uploaded(image_id: str = "image-1", at: datetime = NOW, **fields: Any) -> ImageUploaded:
    """The bits of image-1: 3 bytes "abc" with their md5 and sha512."""
    event = ImageUploaded(
        envelope=_envelope(ImageUploaded, f"image-uploaded-{image_id}", at),
        image_id=image_id, size=3, checksum="900150983cd24fb0d6963f7d28e17f72", os_hash_algo="sha512",
        os_hash_value="ddaf35a193617aba", location=f"/store/{image_id}",
    )
    return replace(event, **fields)


def build_image_updated(image_id: str = "image-1", at: datetime = NOW, **fields: Any) -> ImageUpdated:
    event = ImageUpdated(
        envelope=_envelope(ImageUpdated, f"image-updated-{image_id}", at),
        image_id=image_id, name="cirros", visibility="private", disk_format="qcow2", container_format="bare",
    )
    return replace(event, **fields)


def build_image_deleted(image_id: str = "image-1", at: datetime = NOW, **fields: Any) -> ImageDeleted:
    return replace(ImageDeleted(envelope=_envelope(ImageDeleted, f"image-deleted-{image_id}", at), image_id=image_id), **fields)


def build_image_state(image_id: str = "image-1", **fields: Any) -> ImageState:
    """The row build_image_created(image_id) starts: queued, no bits."""
    state = ImageState(
        image_id=image_id, owner="project-1", visibility="private", created_at=NOW, updated_at=NOW, name="cirros",
        disk_format="qcow2", container_format="bare",
    )
    return replace(state, **fields)


def build_rebuild_requested(image_ref: str = "image-2", instance_id: str = "instance-1", at: datetime = NOW, **fields: Any) -> InstanceRebuildRequested:
    """user-1 of project-1 asks to rebuild the instance from `image_ref`."""
    event = InstanceRebuildRequested(
        envelope=_envelope(InstanceRebuildRequested, f"rebuild-{image_ref}-{instance_id}", at),
        instance_id=instance_id, project_id="project-1", user_id="user-1", image_ref=image_ref,
    )
    return replace(event, **fields)


def build_rebuilt(image_ref: str = "image-2", instance_id: str = "instance-1", host: str = "host-1", power_state: int = 1, **fields: Any) -> InstanceRebuilt:
    event = InstanceRebuilt(
        envelope=_envelope(InstanceRebuilt, f"rebuilt-{image_ref}-{instance_id}", NOW),
        instance_id=instance_id, host=host, image_ref=image_ref, power_state=power_state,
    )
    return replace(event, **fields)


def build_snapshot_requested(image_id: str = "snap-1", instance_id: str = "instance-1", **fields: Any) -> InstanceSnapshotRequested:
    event = InstanceSnapshotRequested(
        envelope=_envelope(InstanceSnapshotRequested, f"snapshot-{image_id}-{instance_id}", NOW),
        instance_id=instance_id, project_id="project-1", user_id="user-1", image_id=image_id, image_file=f"/store/{image_id}",
    )
    return replace(event, **fields)


def build_snapshotted(image_id: str = "snap-1", instance_id: str = "instance-1", host: str = "host-1", **fields: Any) -> InstanceSnapshotted:
    event = InstanceSnapshotted(
        envelope=_envelope(InstanceSnapshotted, f"snapshotted-{image_id}-{instance_id}", NOW), instance_id=instance_id, host=host, image_id=image_id,
    )
    return replace(event, **fields)


def build_rescue_requested(rescue: bool = True, instance_id: str = "instance-1", **fields: Any) -> InstanceRescueRequested:
    event = InstanceRescueRequested(
        envelope=_envelope(InstanceRescueRequested, f"rescue-{rescue}-{instance_id}", NOW),
        instance_id=instance_id, project_id="project-1", user_id="user-1", rescue=rescue,
    )
    return replace(event, **fields)


def build_rescued(rescued: bool = True, instance_id: str = "instance-1", host: str = "host-1", power_state: int = 1, **fields: Any) -> InstanceRescued:
    event = InstanceRescued(
        envelope=_envelope(InstanceRescued, f"rescued-{rescued}-{instance_id}", NOW), instance_id=instance_id, host=host, rescued=rescued, power_state=power_state,
    )
    return replace(event, **fields)


def build_rebuild_ordered(image_ref: str = "image-2", instance_id: str = "instance-1", **fields: Any) -> InstanceRebuildOrdered:
    event = InstanceRebuildOrdered(
        envelope=build_envelope(InstanceRebuildOrdered, event_id=f"rebuild-order-{image_ref}-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id, claim_id="claim-1", name="vm-1", flavor=build_flavor(), image_ref=image_ref, project_id="project-1",
    )
    return replace(event, **fields)


def build_snapshot_ordered(image_id: str = "snap-1", instance_id: str = "instance-1", **fields: Any) -> InstanceSnapshotOrdered:
    event = InstanceSnapshotOrdered(
        envelope=build_envelope(InstanceSnapshotOrdered, event_id=f"snapshot-order-{image_id}", producer="novalog-projections"),
        instance_id=instance_id, image_id=image_id, image_file=f"/store/{image_id}",
    )
    return replace(event, **fields)


def build_rescue_ordered(rescue: bool = True, instance_id: str = "instance-1", **fields: Any) -> InstanceRescueOrdered:
    event = InstanceRescueOrdered(
        envelope=build_envelope(InstanceRescueOrdered, event_id=f"rescue-order-{rescue}-{instance_id}", producer="novalog-projections"),
        instance_id=instance_id, rescue=rescue, name="vm-1", flavor=build_flavor(), image_ref="image-1", project_id="project-1",
    )
    return replace(event, **fields)


def build_snapshot_progressed(task_state: str = "image_uploading", instance_id: str = "instance-1", host: str = "host-1", **fields: Any) -> InstanceSnapshotProgressed:
    event = InstanceSnapshotProgressed(
        envelope=_envelope(InstanceSnapshotProgressed, f"snapshot-{task_state}-{instance_id}", NOW),
        instance_id=instance_id, host=host, image_id="snap-1", task_state=task_state,
    )
    return replace(event, **fields)


# --- networks (network.events) ---

from novalog.events.records import FixedIp, Port, SecurityGroupRule, Subnet  # noqa: E402
from novalog.events.state import NetworkState, SecurityGroupState  # noqa: E402
from novalog.events.types import (  # noqa: E402
    NetworkCreated,
    NetworkDeleted,
    PortAllocated,
    PortAllocationRefused,
    PortDeleted,
    PortRequested,
    SecurityGroupCreated,
    SecurityGroupRuleCreated,
    SubnetCreated,
    SubnetDeleted,
)


def build_network_created(network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> NetworkCreated:
    values: dict[str, Any] = {"envelope": _envelope(NetworkCreated, f"e-net-{network_id}", at), "network_id": network_id, "project_id": "p-1", "name": "net1"}
    return NetworkCreated(**{**values, **fields})


def build_network_deleted(network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> NetworkDeleted:
    values: dict[str, Any] = {"envelope": _envelope(NetworkDeleted, f"e-net-del-{network_id}", at), "network_id": network_id}
    return NetworkDeleted(**{**values, **fields})


def build_subnet(subnet_id: str = "sub-1", cidr: str = "10.20.0.0/24", **fields: Any) -> Subnet:
    values: dict[str, Any] = {"subnet_id": subnet_id, "project_id": "p-1", "cidr": cidr, "ip_version": 6 if ":" in cidr else 4}
    return Subnet(**{**values, **fields})


def build_subnet_created(subnet: Subnet | None = None, network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> SubnetCreated:
    subnet = subnet or build_subnet()
    values: dict[str, Any] = {"envelope": _envelope(SubnetCreated, f"e-subnet-{subnet.subnet_id}", at), "network_id": network_id, "subnet": subnet}
    return SubnetCreated(**{**values, **fields})


def build_subnet_deleted(subnet_id: str = "sub-1", network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> SubnetDeleted:
    values: dict[str, Any] = {"envelope": _envelope(SubnetDeleted, f"e-subnet-del-{subnet_id}", at), "network_id": network_id, "subnet_id": subnet_id}
    return SubnetDeleted(**{**values, **fields})


def build_port_requested(port_id: str = "port-1", network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> PortRequested:
    values: dict[str, Any] = {"envelope": _envelope(PortRequested, f"e-port-{port_id}", at), "port_id": port_id, "network_id": network_id, "project_id": "p-1"}
    return PortRequested(**{**values, **fields})


def build_port_allocated(port_id: str = "port-1", network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> PortAllocated:
    values: dict[str, Any] = {
        "envelope": _envelope(PortAllocated, f"e-port-alloc-{port_id}", at), "port_id": port_id, "network_id": network_id, "project_id": "p-1",
        "mac_address": "fa:16:3e:00:00:01", "fixed_ips": [FixedIp("sub-1", "10.20.0.2")],
    }
    return PortAllocated(**{**values, **fields})


def build_port_refused(port_id: str = "port-1", network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> PortAllocationRefused:
    values: dict[str, Any] = {
        "envelope": _envelope(PortAllocationRefused, f"e-port-refused-{port_id}", at), "port_id": port_id, "network_id": network_id,
        "error_type": "IpAddressGenerationFailure", "reason": "No free IPv4 address is left on network net-1.",
    }
    return PortAllocationRefused(**{**values, **fields})


def build_port_deleted(port_id: str = "port-1", network_id: str = "net-1", at: datetime = NOW, **fields: Any) -> PortDeleted:
    values: dict[str, Any] = {"envelope": _envelope(PortDeleted, f"e-port-del-{port_id}", at), "port_id": port_id, "network_id": network_id}
    return PortDeleted(**{**values, **fields})


def build_security_group_created(group_id: str = "sg-1", at: datetime = NOW, **fields: Any) -> SecurityGroupCreated:
    values: dict[str, Any] = {"envelope": _envelope(SecurityGroupCreated, f"e-sg-{group_id}", at), "security_group_id": group_id, "project_id": "p-1", "name": "default"}
    return SecurityGroupCreated(**{**values, **fields})


def build_security_group_rule(rule_id: str = "rule-1", **fields: Any) -> SecurityGroupRule:
    values: dict[str, Any] = {"security_group_rule_id": rule_id, "project_id": "p-1", "direction": "ingress"}
    return SecurityGroupRule(**{**values, **fields})


def build_security_group_rule_created(rule: SecurityGroupRule | None = None, group_id: str = "sg-1", at: datetime = NOW, **fields: Any) -> SecurityGroupRuleCreated:
    rule = rule or build_security_group_rule()
    values: dict[str, Any] = {"envelope": _envelope(SecurityGroupRuleCreated, f"e-rule-{rule.security_group_rule_id}", at), "security_group_id": group_id, "rule": rule}
    return SecurityGroupRuleCreated(**{**values, **fields})


def build_port(port_id: str = "port-1", **fields: Any) -> Port:
    values: dict[str, Any] = {"port_id": port_id, "project_id": "p-1", "mac_address": "fa:16:3e:00:00:01", "fixed_ips": [FixedIp("sub-1", "10.20.0.2")]}
    return Port(**{**values, **fields})


def build_network_state(network_id: str = "net-1", **fields: Any) -> NetworkState:
    values: dict[str, Any] = {"network_id": network_id, "project_id": "p-1", "name": "net1", "created_at": NOW}
    return NetworkState(**{**values, **fields})


def build_security_group_state(group_id: str = "sg-1", **fields: Any) -> SecurityGroupState:
    values: dict[str, Any] = {"security_group_id": group_id, "project_id": "p-1", "name": "default", "created_at": NOW}
    return SecurityGroupState(**{**values, **fields})

