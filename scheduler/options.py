"""The scheduler's options, with today's Nova names and defaults fit for novalog."""

from __future__ import annotations

from dataclasses import dataclass

from novalog.scheduler.filters import FILTERS
from novalog.scheduler.weights import WEIGHERS


class UnknownPluginError(ValueError):
    """An option names a filter or weigher that is not in the registry (Nova's SchedulerHostFilterNotFound)."""


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    """What the pipeline runs and how it picks.

    The filter default is Havana's capacity-minded list, not today's Nova
    list: novalog has no Placement to pre-select hosts with room, so the
    resource filters stay on. Names are checked here, when options are made,
    so a bad options file is refused before any request sees it.
    """

    enabled_filters: tuple[str, ...] = ("ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter")
    weight_classes: tuple[str, ...] = ("RAMWeigher",)
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    host_subset_size: int = 1
    max_attempts: int = 3

    def __post_init__(self) -> None:
        # Accept lists (from a parsed file) but keep the value hashable and frozen.
        object.__setattr__(self, "enabled_filters", tuple(self.enabled_filters))
        object.__setattr__(self, "weight_classes", tuple(self.weight_classes))
        _check_names("enabled_filters", "filter", self.enabled_filters, FILTERS)
        _check_names("weight_classes", "weigher", self.weight_classes, WEIGHERS)
        if self.host_subset_size < 1:
            raise ValueError(f"host_subset_size must be at least 1, got {self.host_subset_size}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


def _check_names(option: str, kind: str, names: tuple[str, ...], registry: dict[str, type]) -> None:
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise UnknownPluginError(
            f"{option}: unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(sorted(registry))}"
        )
