"""RetryFilter (Nova Ussuri, the last release that had it; removed in Victoria)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import VectorizedFilter

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class RetryFilter(VectorizedFilter, BaseHostFilter):
    """Passes iff the host's node was not already tried for this instance.

    As Nova: the `[host, node]` pair is compared, not the host alone
    (`spec.retry_hosts` with `spec.retry_nodes`, pairwise), so another node
    of a tried host still passes. A request written before novalog kept the
    node names its tried hosts only; each such host is refused whole, every
    node of it, which is what novalog did then. No retry history (the first
    attempt) passes every host.
    """

    NAME = "RetryFilter"
    REASON = "already tried"

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return not spec.retry_hosts  # a first attempt has tried no host

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        pairs, whole = spec.tried()
        return host.host not in whole and (host.host, host.nodename) not in pairs

    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        pairs, whole = spec.tried()
        passes = np.ones(len(cols), dtype=bool)
        passes[cols.rows_named(whole)] = False
        # Only the few rows named in a pair need their view's node.
        for row in cols.rows_named(host for host, _ in pairs):
            if (cols.names[row], cols.hosts[row].nodename) in pairs:
                passes[row] = False
        return passes
