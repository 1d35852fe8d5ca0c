"""The topic map: which topic carries which record, and how each topic is kept.

Event topics keep everything (the log is the source of truth); state topics
are compacted (the latest value per key); each has a dead-letter twin.
Agent command topics (one per host, one partition) are made per host.
"""

from __future__ import annotations

from novalog.events import state
from novalog.events.types import agent, aggregate, catalog, host, identity, image, instance, network, placement, quota, tenant

INSTANCE_EVENTS = "instance.events"
HOST_EVENTS = "host.events"
HOST_HEARTBEATS = "host.heartbeats"
CATALOG_EVENTS = "catalog.events"
IDENTITY_EVENTS = "identity.events"
TENANT_EVENTS = "tenant.events"
QUOTA_EVENTS = "quota.events"
AGGREGATE_EVENTS = "aggregate.events"
NETWORK_EVENTS = "network.events"
STATE_HOSTS = "state.hosts"
STATE_INSTANCES = "state.instances"
STATE_CATALOG = "state.catalog"
STATE_IDENTITY = "state.identity"
STATE_TENANT = "state.tenant"
STATE_QUOTAS = "state.quotas"
STATE_AGGREGATES = "state.aggregates"
STATE_NETWORKS = "state.networks"
AGENT_COMMANDS = "agent"  # novalog.agent.<host>

KEEP_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
LATEST_ONLY = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}

EVENT_TOPICS = (INSTANCE_EVENTS, HOST_EVENTS, CATALOG_EVENTS, IDENTITY_EVENTS, QUOTA_EVENTS, TENANT_EVENTS, AGGREGATE_EVENTS, NETWORK_EVENTS)
COMPACTED_TOPICS = (HOST_HEARTBEATS, STATE_HOSTS, STATE_INSTANCES, STATE_CATALOG, STATE_IDENTITY, STATE_QUOTAS, STATE_TENANT, STATE_AGGREGATES, STATE_NETWORKS)

# Each family travels on its family's topic; the few records that travel elsewhere
# follow it (a later key wins). State rows go to their table's compacted topic.
TOPIC_OF: dict[type, str] = {
    **dict.fromkeys(instance.EVENTS, INSTANCE_EVENTS),
    **dict.fromkeys(placement.EVENTS, HOST_EVENTS),
    # A claim decision is the instance's placement result, so it travels keyed
    # by instance: the scheduler that owns the instance sees it (and retries),
    # and the instance table folds it, without co-partitioning across keys.
    placement.ClaimAccepted: INSTANCE_EVENTS,
    placement.ClaimRejected: INSTANCE_EVENTS,
    **dict.fromkeys(host.EVENTS, HOST_EVENTS),
    host.HostHeartbeatReported: HOST_HEARTBEATS,
    **dict.fromkeys(agent.EVENTS, AGENT_COMMANDS),
    **dict.fromkeys(catalog.EVENTS, CATALOG_EVENTS),
    # Images are catalog entities like flavors (key `image:<id>`): one table, one state topic the API already reads.
    **dict.fromkeys(image.EVENTS, CATALOG_EVENTS),
    **dict.fromkeys(aggregate.EVENTS, AGGREGATE_EVENTS),
    **dict.fromkeys(quota.EVENTS, QUOTA_EVENTS),
    **dict.fromkeys(tenant.EVENTS, TENANT_EVENTS),
    **dict.fromkeys(identity.EVENTS, IDENTITY_EVENTS),
    # A network and all its subnets, port requests and allocation decisions share one key, so one
    # writer decides its addresses in log order (like claims on a host); security groups share the topic.
    **dict.fromkeys(network.EVENTS, NETWORK_EVENTS),
    state.HostState: STATE_HOSTS,
    state.InstanceState: STATE_INSTANCES,
    state.FlavorState: STATE_CATALOG,
    state.ImageState: STATE_CATALOG,
    state.ProjectState: STATE_IDENTITY,
    state.UserState: STATE_IDENTITY,
    state.QuotaState: STATE_QUOTAS,
    state.KeypairState: STATE_TENANT,
    state.ServerGroupState: STATE_TENANT,
    state.AggregatesState: STATE_AGGREGATES,
    state.NetworkState: STATE_NETWORKS,
    state.SecurityGroupState: STATE_NETWORKS,
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
