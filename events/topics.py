"""The topic map: which topic carries which record, and how each topic is kept.

Event topics keep everything (the log is the source of truth); state topics
are compacted (the latest value per key); each has a dead-letter twin.
Agent command topics (one per host, one partition) are made per host.
"""

from __future__ import annotations

from novalog.events import state, types

INSTANCE_EVENTS = "instance.events"
HOST_EVENTS = "host.events"
HOST_HEARTBEATS = "host.heartbeats"
CATALOG_EVENTS = "catalog.events"
IDENTITY_EVENTS = "identity.events"
TENANT_EVENTS = "tenant.events"
QUOTA_EVENTS = "quota.events"
AGGREGATE_EVENTS = "aggregate.events"
STATE_HOSTS = "state.hosts"
STATE_INSTANCES = "state.instances"
STATE_CATALOG = "state.catalog"
STATE_IDENTITY = "state.identity"
STATE_TENANT = "state.tenant"
STATE_QUOTAS = "state.quotas"
STATE_AGGREGATES = "state.aggregates"
AGENT_COMMANDS = "agent"  # novalog.agent.<host>

KEEP_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
LATEST_ONLY = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}

EVENT_TOPICS = (INSTANCE_EVENTS, HOST_EVENTS, CATALOG_EVENTS, IDENTITY_EVENTS, QUOTA_EVENTS, TENANT_EVENTS, AGGREGATE_EVENTS)
COMPACTED_TOPICS = (HOST_HEARTBEATS, STATE_HOSTS, STATE_INSTANCES, STATE_CATALOG, STATE_IDENTITY, STATE_QUOTAS, STATE_TENANT, STATE_AGGREGATES)

TOPIC_OF: dict[type, str] = {
    types.KeypairRequested: QUOTA_EVENTS,
    types.ServerGroupRequested: QUOTA_EVENTS,
    types.TenantQuotaReleased: QUOTA_EVENTS,
    types.FlavorAccessAdded: CATALOG_EVENTS,
    types.FlavorAccessRemoved: CATALOG_EVENTS,
    types.AggregateCreated: AGGREGATE_EVENTS,
    types.AggregateUpdated: AGGREGATE_EVENTS,
    types.AggregateDeleted: AGGREGATE_EVENTS,
    types.AggregateHostAdded: AGGREGATE_EVENTS,
    types.AggregateHostRemoved: AGGREGATE_EVENTS,
    types.AggregateMetadataSet: AGGREGATE_EVENTS,
    state.AggregatesState: STATE_AGGREGATES,
    types.ServersRequested: QUOTA_EVENTS,
    types.QuotaUpdated: QUOTA_EVENTS,
    types.QuotaUsageReleased: QUOTA_EVENTS,
    state.QuotaState: STATE_QUOTAS,
    types.InstanceBuildRequested: INSTANCE_EVENTS,
    types.InstanceDeleteRequested: INSTANCE_EVENTS,
    types.InstanceSchedulingFailed: INSTANCE_EVENTS,
    types.InstanceSpawned: INSTANCE_EVENTS,
    types.InstanceSpawnFailed: INSTANCE_EVENTS,
    types.InstancePowerStateChanged: INSTANCE_EVENTS,
    types.InstanceDeleted: INSTANCE_EVENTS,
    types.InstanceActionRequested: INSTANCE_EVENTS,
    types.InstanceActionFailed: INSTANCE_EVENTS,
    types.InstanceActionOrdered: AGENT_COMMANDS,
    types.InstanceMoveRequested: INSTANCE_EVENTS,
    types.InstanceMoveProgressed: INSTANCE_EVENTS,
    types.InstanceMoveFailed: INSTANCE_EVENTS,
    types.InstanceMoveOrdered: AGENT_COMMANDS,
    # A claim decision is the instance's placement result, so it travels keyed
    # by instance: the scheduler that owns the instance sees it (and retries),
    # and the instance table folds it, without co-partitioning across keys.
    types.ClaimAccepted: INSTANCE_EVENTS,
    types.ClaimRejected: INSTANCE_EVENTS,
    types.PlacementProposed: HOST_EVENTS,
    types.ClaimReleased: HOST_EVENTS,
    types.HostCapacityReported: HOST_EVENTS,
    types.HostServiceUpdated: HOST_EVENTS,
    types.HostHeartbeatReported: HOST_HEARTBEATS,
    types.FlavorCreated: CATALOG_EVENTS,
    types.FlavorDeleted: CATALOG_EVENTS,
    types.FlavorExtraSpecsSet: CATALOG_EVENTS,
    types.FlavorExtraSpecDeleted: CATALOG_EVENTS,
    types.InstanceSpawnOrdered: AGENT_COMMANDS,
    types.InstanceDeleteOrdered: AGENT_COMMANDS,
    types.ProjectCreated: IDENTITY_EVENTS,
    types.UserCreated: IDENTITY_EVENTS,
    types.UserPasswordChanged: IDENTITY_EVENTS,
    types.RoleAssigned: IDENTITY_EVENTS,
    types.RoleUnassigned: IDENTITY_EVENTS,
    # Images are catalog entities like flavors (key `image:<id>`): one table, one state topic the API already reads.
    types.ImageCreated: CATALOG_EVENTS,
    types.ImageUploaded: CATALOG_EVENTS,
    types.ImageUpdated: CATALOG_EVENTS,
    types.ImageDeleted: CATALOG_EVENTS,
    state.ImageState: STATE_CATALOG,
    types.KeypairCreated: TENANT_EVENTS,
    types.KeypairDeleted: TENANT_EVENTS,
    types.ServerGroupCreated: TENANT_EVENTS,
    types.ServerGroupDeleted: TENANT_EVENTS,
    state.KeypairState: STATE_TENANT,
    state.ServerGroupState: STATE_TENANT,
    state.HostState: STATE_HOSTS,
    state.InstanceState: STATE_INSTANCES,
    state.FlavorState: STATE_CATALOG,
    state.ProjectState: STATE_IDENTITY,
    state.UserState: STATE_IDENTITY,
}


def dead_letter(topic: str) -> str:
    return f"{topic}.dlq"


def topic_specs(prefix: str, partitions: int) -> dict[str, tuple[int, dict[str, str]]]:
    """Every shared topic with its partition count and configuration."""
    specs: dict[str, tuple[int, dict[str, str]]] = {}
    for name in EVENT_TOPICS:
        specs[f"{prefix}.{name}"] = (partitions, KEEP_FOREVER)
    for name in COMPACTED_TOPICS:
        specs[f"{prefix}.{name}"] = (partitions, LATEST_ONLY)
    for name in (*EVENT_TOPICS, *COMPACTED_TOPICS):
        specs[dead_letter(f"{prefix}.{name}")] = (1, KEEP_FOREVER)
    return specs


def agent_topic_specs(prefix: str, host: str) -> dict[str, tuple[int, dict[str, str]]]:
    """A host's command topic: one partition, so its commands stay in order."""
    name = f"{prefix}.{AGENT_COMMANDS}.{host}"
    return {name: (1, KEEP_FOREVER), dead_letter(name): (1, KEEP_FOREVER)}
