"""RetryFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class RetryFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host was not already tried for this instance.

    Nova compares the `[host, node]` pair; a novalog host has exactly one
    node, so `spec.retry_hosts` holds host names and the name is compared.
    No retry history (the first attempt) passes every host.
    """

    NAME = "RetryFilter"
    REASON = "already tried"

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return not spec.retry_hosts  # a first attempt has tried no host

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return host.host not in spec.retry_hosts

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        passes = np.ones(len(cols), dtype=bool)
        passes[cols.rows_named(spec.retry_hosts)] = False
        return passes
