"""The scheduler's options, with today's Nova names and defaults fit for novalog."""

from __future__ import annotations

from dataclasses import dataclass, fields

from novalog.scheduler.plugins import PluginLoadError, UnknownPluginError, filter_classes, weigher_classes

__all__ = ["DRIVERS", "PluginLoadError", "SchedulerOptions", "UnknownPluginError"]

# Nova's scheduler driver names; a flavor extra spec `scheduler:driver` picks one per request.
DRIVERS = ("filter_scheduler", "chance_scheduler")


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    """What the pipeline runs and how it picks.

    The filter default is Havana's capacity-minded list, not today's Nova
    list: novalog has no Placement to pre-select hosts with room, so the
    resource filters stay on. Names are checked here, when options are made,
    so a bad options file is refused before any request sees it.
    """

    driver: str = "filter_scheduler"
    # Today's Nova defaults (ComputeFilter, ComputeCapabilitiesFilter, ImagePropertiesFilter and the
    # server group filters), with the resource and retry filters that Nova's placement service stands in for.
    enabled_filters: tuple[str, ...] = (
        "ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
    )
    # Operators' own filters, as dotted paths "package.module.ClassName" (Nova's available_filters, less
    # its built-in default: the registry is always available); enabled_filters may then name them by NAME.
    available_filters: tuple[str, ...] = ()
    # RAM first (spread by free memory), then the soft server group policies (0 for requests without one).
    weight_classes: tuple[str, ...] = ("RAMWeigher", "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher")
    host_subset_size: int = 1
    max_attempts: int = 3
    shuffle_best_same_weighed_hosts: bool = False
    # Weigher multipliers (today's Nova names and defaults).
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    io_ops_weight_multiplier: float = -1.0
    num_instances_weight_multiplier: float = 0.0
    build_failure_weight_multiplier: float = 1000000.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    hypervisor_version_weight_multiplier: float = 1.0
    # Filter options. The allocation ratios are the fallback of the Aggregate*
    # filters (Nova's global option); the plain Ram/Core/DiskFilter read each
    # host's own ratios from its inventory.
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    max_io_ops_per_host: int = 8
    max_instances_per_host: int = 50
    default_availability_zone: str = "nova"
    isolated_images: tuple[str, ...] = ()
    isolated_hosts: tuple[str, ...] = ()
    restrict_isolated_hosts_to_isolated_images: bool = True
    aggregate_image_properties_isolation_namespace: str | None = None
    aggregate_image_properties_isolation_separator: str = "."
    # The architecture of an image that names none (ImagePropertiesFilter); None assumes none, as Nova.
    image_properties_default_architecture: str | None = None

    def __post_init__(self) -> None:
        # Accept lists (from a parsed file) but keep the value hashable and frozen.
        object.__setattr__(self, "enabled_filters", tuple(self.enabled_filters))
        object.__setattr__(self, "weight_classes", tuple(self.weight_classes))
        object.__setattr__(self, "available_filters", tuple(self.available_filters))
        object.__setattr__(self, "isolated_images", tuple(self.isolated_images))
        object.__setattr__(self, "isolated_hosts", tuple(self.isolated_hosts))
        # Every name resolved (and every plug-in imported and checked) now, so bad options never reach a request.
        filter_classes(self.enabled_filters, self.available_filters)
        weigher_classes(self.weight_classes, OPTION_NAMES)
        if self.driver not in DRIVERS:
            raise UnknownPluginError(f"driver: unknown scheduler driver {self.driver!r}; known: {', '.join(DRIVERS)}")
        if self.host_subset_size < 1:
            raise ValueError(f"host_subset_size must be at least 1, got {self.host_subset_size}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


OPTION_NAMES = frozenset(f.name for f in fields(SchedulerOptions))
