"""The optional columnar forms a filter or weigher may add to its scalar contract.

A plug-in always keeps its scalar method (`host_passes`, `weigh_object`):
that is the reference, and the only form a plug-in must have. A plug-in that
also mixes in one of these classes is evaluated by the columnar pipeline
(`columnar.py`) over all hosts at once; one that does not is still run there,
host by host, over the survivors only. Either way the answer is the scalar
one, exactly: the property test in tests/pure/test_scheduler_columnar.py
compares the two pipelines, trace included.

    class ResourceFilter(VectorizedFilter, BaseHostFilter): ...  # numeric: one array op per column
    class SomeAggregateFilter(AggregateSetFilter, BaseHostFilter): ...   # once per distinct aggregate set
    class RAMWeigher(VectorizedWeigher, BaseHostWeigher): ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import Aggregate, SchedHost
from novalog.scheduler.lazy_numpy import np

if TYPE_CHECKING:
    from novalog.scheduler.columns import HostColumns
    from novalog.scheduler.options import SchedulerOptions


class VectorizedFilter(ABC):
    """A filter that can answer for every row of a HostColumns in one go.

    Contract: `mask(cols, spec, options)[row] == bool(host_passes(cols.hosts[row], spec, options))`
    for every row. The mask covers all rows, also those an earlier filter
    dropped (the pipeline ands it with the survivors), so it must not raise
    for any row: plain array arithmetic, no per-host Python.
    """

    @abstractmethod
    def mask(self, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions) -> np.ndarray:
        """A bool array, one entry per row: does that host pass?"""


class AggregateSetFilter(ABC):
    """A filter whose answer depends on the host's aggregates only (and the request and options).

    The columnar pipeline asks once per distinct aggregate set among the
    survivors and broadcasts the answer to every host holding that set, so a
    thousand hosts in one availability zone cost one evaluation. The scalar
    `host_passes` is derived from the same method, so the two cannot differ.
    """

    @abstractmethod
    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        """True iff a host in exactly these aggregates (in this order) may take one instance."""

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return self.passes_aggregates(host.aggregates, spec, options)


class VectorizedWeigher(ABC):
    """A weigher that can give every row's raw value in one go.

    Contract: `raw_values(cols, spec)[row] == float(weigh_object(cols.hosts[row], spec))`.
    Its `weight_multiplier` must depend on the options and the host's
    aggregates only, and not raise: the pipeline asks it once per distinct
    aggregate set of the HostColumns (with one host holding that set).
    """

    @abstractmethod
    def raw_values(self, cols: HostColumns, spec: RequestSpec) -> np.ndarray:
        """The raw value of every row (any numeric dtype; the pipeline reads it as float64)."""
