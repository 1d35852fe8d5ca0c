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
