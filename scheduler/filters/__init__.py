"""Host filters, one per module, keeping Nova's names; FILTERS is the one registry."""

from __future__ import annotations

from novalog.scheduler.filters.aggregate_core_filter import AggregateCoreFilter
from novalog.scheduler.filters.aggregate_disk_filter import AggregateDiskFilter
from novalog.scheduler.filters.aggregate_image_properties_isolation import AggregateImagePropertiesIsolation
from novalog.scheduler.filters.aggregate_instance_extra_specs import AggregateInstanceExtraSpecsFilter
from novalog.scheduler.filters.aggregate_io_ops_filter import AggregateIoOpsFilter
from novalog.scheduler.filters.aggregate_multitenancy_isolation import AggregateMultiTenancyIsolation
from novalog.scheduler.filters.aggregate_num_instances_filter import AggregateNumInstancesFilter
from novalog.scheduler.filters.aggregate_ram_filter import AggregateRamFilter
from novalog.scheduler.filters.aggregate_type_affinity_filter import AggregateTypeAffinityFilter
from novalog.scheduler.filters.all_hosts_filter import AllHostsFilter
from novalog.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter
from novalog.scheduler.filters.compute_filter import ComputeFilter
from novalog.scheduler.filters.core_filter import CoreFilter
from novalog.scheduler.filters.different_host_filter import DifferentHostFilter
from novalog.scheduler.filters.disk_filter import DiskFilter
from novalog.scheduler.filters.image_props_filter import ImagePropertiesFilter
from novalog.scheduler.filters.io_ops_filter import IoOpsFilter
from novalog.scheduler.filters.isolated_hosts_filter import IsolatedHostsFilter
from novalog.scheduler.filters.json_filter import JsonFilter
from novalog.scheduler.filters.num_instances_filter import NumInstancesFilter
from novalog.scheduler.filters.ram_filter import RamFilter
from novalog.scheduler.filters.retry_filter import RetryFilter
from novalog.scheduler.filters.same_host_filter import SameHostFilter
from novalog.scheduler.filters.server_group_affinity_filter import ServerGroupAffinityFilter
from novalog.scheduler.filters.server_group_anti_affinity_filter import ServerGroupAntiAffinityFilter
from novalog.scheduler.filters.trusted_filter import TrustedFilter
from novalog.scheduler.filters.type_affinity_filter import TypeAffinityFilter

FILTERS: dict[str, type[BaseHostFilter]] = {
    "AggregateCoreFilter": AggregateCoreFilter,
    "AggregateDiskFilter": AggregateDiskFilter,
    "AggregateImagePropertiesIsolation": AggregateImagePropertiesIsolation,
    "AggregateInstanceExtraSpecsFilter": AggregateInstanceExtraSpecsFilter,
    "AggregateIoOpsFilter": AggregateIoOpsFilter,
    "AggregateMultiTenancyIsolation": AggregateMultiTenancyIsolation,
    "AggregateNumInstancesFilter": AggregateNumInstancesFilter,
    "AggregateRamFilter": AggregateRamFilter,
    "AggregateTypeAffinityFilter": AggregateTypeAffinityFilter,
    "AllHostsFilter": AllHostsFilter,
    "AvailabilityZoneFilter": AvailabilityZoneFilter,
    "ComputeCapabilitiesFilter": ComputeCapabilitiesFilter,
    "ComputeFilter": ComputeFilter,
    "CoreFilter": CoreFilter,
    "DifferentHostFilter": DifferentHostFilter,
    "DiskFilter": DiskFilter,
    "ImagePropertiesFilter": ImagePropertiesFilter,
    "IoOpsFilter": IoOpsFilter,
    "IsolatedHostsFilter": IsolatedHostsFilter,
    "JsonFilter": JsonFilter,
    "NumInstancesFilter": NumInstancesFilter,
    "RamFilter": RamFilter,
    "RetryFilter": RetryFilter,
    "SameHostFilter": SameHostFilter,
    "ServerGroupAffinityFilter": ServerGroupAffinityFilter,
    "ServerGroupAntiAffinityFilter": ServerGroupAntiAffinityFilter,
    "TrustedFilter": TrustedFilter,
    "TypeAffinityFilter": TypeAffinityFilter,
}

__all__ = [
    "FILTERS", "BaseHostFilter", "AggregateCoreFilter", "AggregateDiskFilter", "AggregateImagePropertiesIsolation",
    "AggregateInstanceExtraSpecsFilter", "AggregateIoOpsFilter", "AggregateMultiTenancyIsolation",
    "AggregateNumInstancesFilter", "AggregateRamFilter", "AggregateTypeAffinityFilter", "AllHostsFilter",
    "AvailabilityZoneFilter", "ComputeCapabilitiesFilter", "ComputeFilter", "CoreFilter", "DifferentHostFilter",
    "DiskFilter", "ImagePropertiesFilter", "IoOpsFilter", "IsolatedHostsFilter", "JsonFilter", "NumInstancesFilter",
    "RamFilter", "RetryFilter", "SameHostFilter", "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter",
    "TrustedFilter", "TypeAffinityFilter",
]
