"""Host filters, one per module, keeping Nova's names; FILTERS is the one registry."""

from __future__ import annotations

from novalog.scheduler.filters.all_hosts_filter import AllHostsFilter
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.compute_filter import ComputeFilter
from novalog.scheduler.filters.core_filter import CoreFilter
from novalog.scheduler.filters.disk_filter import DiskFilter
from novalog.scheduler.filters.ram_filter import RamFilter
from novalog.scheduler.filters.retry_filter import RetryFilter

FILTERS: dict[str, type[BaseHostFilter]] = {
    "AllHostsFilter": AllHostsFilter,
    "ComputeFilter": ComputeFilter,
    "CoreFilter": CoreFilter,
    "DiskFilter": DiskFilter,
    "RamFilter": RamFilter,
    "RetryFilter": RetryFilter,
}

__all__ = ["FILTERS", "BaseHostFilter", "AllHostsFilter", "ComputeFilter", "CoreFilter", "DiskFilter", "RamFilter", "RetryFilter"]

# Tenancy, flavor, image, trust and instance-affinity filters, registered as one block.
from novalog.scheduler.filters.aggregate_image_properties_isolation import AggregateImagePropertiesIsolation  # noqa: E402
from novalog.scheduler.filters.aggregate_multitenancy_isolation import AggregateMultiTenancyIsolation  # noqa: E402
from novalog.scheduler.filters.aggregate_type_affinity_filter import AggregateTypeAffinityFilter  # noqa: E402
from novalog.scheduler.filters.different_host_filter import DifferentHostFilter  # noqa: E402
from novalog.scheduler.filters.same_host_filter import SameHostFilter  # noqa: E402
from novalog.scheduler.filters.server_group_affinity_filter import ServerGroupAffinityFilter  # noqa: E402
from novalog.scheduler.filters.server_group_anti_affinity_filter import ServerGroupAntiAffinityFilter  # noqa: E402
from novalog.scheduler.filters.trusted_filter import TrustedFilter  # noqa: E402
from novalog.scheduler.filters.type_affinity_filter import TypeAffinityFilter  # noqa: E402

_ISOLATION_AND_AFFINITY: list[type[BaseHostFilter]] = [
    AggregateImagePropertiesIsolation, AggregateMultiTenancyIsolation, AggregateTypeAffinityFilter, DifferentHostFilter,
    SameHostFilter, ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter, TrustedFilter, TypeAffinityFilter,
]
FILTERS.update({cls.NAME: cls for cls in _ISOLATION_AND_AFFINITY})
__all__ += [cls.__name__ for cls in _ISOLATION_AND_AFFINITY]

# Zone, aggregate-ratio, count, capability, image, isolation and query filters, registered as one block.
from novalog.scheduler.filters.aggregate_core_filter import AggregateCoreFilter  # noqa: E402
from novalog.scheduler.filters.aggregate_disk_filter import AggregateDiskFilter  # noqa: E402
from novalog.scheduler.filters.aggregate_instance_extra_specs import AggregateInstanceExtraSpecsFilter  # noqa: E402
from novalog.scheduler.filters.aggregate_io_ops_filter import AggregateIoOpsFilter  # noqa: E402
from novalog.scheduler.filters.aggregate_num_instances_filter import AggregateNumInstancesFilter  # noqa: E402
from novalog.scheduler.filters.aggregate_ram_filter import AggregateRamFilter  # noqa: E402
from novalog.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter  # noqa: E402
from novalog.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter  # noqa: E402
from novalog.scheduler.filters.image_props_filter import ImagePropertiesFilter  # noqa: E402
from novalog.scheduler.filters.io_ops_filter import IoOpsFilter  # noqa: E402
from novalog.scheduler.filters.isolated_hosts_filter import IsolatedHostsFilter  # noqa: E402
from novalog.scheduler.filters.json_filter import JsonFilter  # noqa: E402
from novalog.scheduler.filters.num_instances_filter import NumInstancesFilter  # noqa: E402

_ZONE_COUNT_CAPABILITY_IMAGE_QUERY: list[type[BaseHostFilter]] = [
    AggregateCoreFilter, AggregateDiskFilter, AggregateInstanceExtraSpecsFilter, AggregateIoOpsFilter,
    AggregateNumInstancesFilter, AggregateRamFilter, AvailabilityZoneFilter, ComputeCapabilitiesFilter,
    ImagePropertiesFilter, IoOpsFilter, IsolatedHostsFilter, JsonFilter, NumInstancesFilter,
]
FILTERS.update({cls.NAME: cls for cls in _ZONE_COUNT_CAPABILITY_IMAGE_QUERY})
__all__ += [cls.__name__ for cls in _ZONE_COUNT_CAPABILITY_IMAGE_QUERY]
