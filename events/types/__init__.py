"""The events: frozen values named as past-tense facts, one per schema in schemas/, by family.

Each class's Avro full name is `novalog.<family>.<ClassName>`; the family is
its `FAMILY` class variable and the module it is written in:

| module | family | what |
|---|---|---|
| instance.py | instance | what is asked of a server, what its hypervisor reports |
| placement.py | placement | a scheduler's proposal, the claim decision, the release |
| host.py | host | an agent's reports of its host, an admin's service changes |
| agent.py | agent | commands for one host's agent |
| catalog.py | catalog | flavors and their access |
| image.py | image | Glance's image records |
| aggregate.py | aggregate | host aggregates and availability zones |
| quota.py | quota | creates waiting for their project's quota, limits, releases |
| tenant.py | tenant | key pairs and server groups |
| identity.py | identity | projects, users, role assignments |
| network.py | network | networks, subnets, ports (requests and their writer's decisions), security groups and rules |

Each module ends with its family's union (`InstanceEvent`, ...) and its
registry `EVENTS`, read from that union; `EVENT_TYPES` is every family's,
in the order below. Where each one travels is in topics.py.
Every class is re-exported here, so `from novalog.events.types import X` works too.
"""

from __future__ import annotations

from novalog.events.types import agent, aggregate, catalog, host, identity, image, instance, network, placement, quota, tenant
from novalog.events.types.agent import (  # noqa: F401 - re-exported
    AgentCommand,
    InstanceActionOrdered,
    InstanceConsoleOrdered,
    InstanceDeleteOrdered,
    InstanceMoveOrdered,
    InstanceRebuildOrdered,
    InstanceRescueOrdered,
    InstanceSnapshotOrdered,
    InstanceSpawnOrdered,
)
from novalog.events.types.aggregate import (  # noqa: F401 - re-exported
    AggregateCreated,
    AggregateDeleted,
    AggregateEvent,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    AggregateUpdated,
)
from novalog.events.types.catalog import (  # noqa: F401 - re-exported
    CatalogEvent,
    FlavorAccessAdded,
    FlavorAccessRemoved,
    FlavorCreated,
    FlavorDeleted,
    FlavorExtraSpecDeleted,
    FlavorExtraSpecsSet,
)
from novalog.events.types.host import (  # noqa: F401 - re-exported
    HostCapacityReported,
    HostEvent,
    HostHeartbeatReported,
    HostServiceUpdated,
)
from novalog.events.types.identity import (  # noqa: F401 - re-exported
    IdentityEvent,
    ProjectCreated,
    RoleAssigned,
    RoleUnassigned,
    TokenRevoked,
    UserCreated,
    UserPasswordChanged,
)
from novalog.events.types.image import (  # noqa: F401 - re-exported
    ImageCreated,
    ImageDeleted,
    ImageEvent,
    ImageUpdated,
    ImageUploaded,
)
from novalog.events.types.instance import (  # noqa: F401 - re-exported
    InstanceActionFailed,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceDeleted,
    InstanceDeleteRequested,
    InstanceEvent,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstancePowerStateChanged,
    InstanceRebuildRequested,
    InstanceRebuilt,
    InstanceRescued,
    InstanceRescueRequested,
    InstanceSchedulingFailed,
    InstanceSnapshotProgressed,
    InstanceSnapshotRequested,
    InstanceSnapshotted,
    InstanceSpawned,
    InstanceSpawnFailed,
    InstanceUnlocked,
    InstanceUpdated,
)
from novalog.events.types.network import (  # noqa: F401 - re-exported
    NetworkCreated,
    NetworkDeleted,
    NetworkEvent,
    NetworkUpdated,
    PortAllocated,
    PortAllocationRefused,
    PortDeleted,
    PortRequested,
    SecurityGroupCreated,
    SecurityGroupDeleted,
    SecurityGroupRuleCreated,
    SecurityGroupRuleDeleted,
    SubnetCreated,
    SubnetDeleted,
)
from novalog.events.types.placement import (  # noqa: F401 - re-exported
    ClaimAccepted,
    ClaimRejected,
    ClaimReleased,
    PlacementEvent,
    PlacementProposed,
)
from novalog.events.types.quota import (  # noqa: F401 - re-exported
    KeypairRequested,
    QuotaEvent,
    QuotaUpdated,
    QuotaUsageReleased,
    ServerGroupRequested,
    ServersRequested,
    TenantQuotaReleased,
)
from novalog.events.types.tenant import (  # noqa: F401 - re-exported
    KeypairCreated,
    KeypairDeleted,
    ServerGroupCreated,
    ServerGroupDeleted,
    TenantEvent,
)

EVENT_TYPES: tuple[type, ...] = (
    *instance.EVENTS,
    *placement.EVENTS,
    *host.EVENTS,
    *agent.EVENTS,
    *catalog.EVENTS,
    *image.EVENTS,
    *aggregate.EVENTS,
    *quota.EVENTS,
    *tenant.EVENTS,
    *identity.EVENTS,
    *network.EVENTS,
)
