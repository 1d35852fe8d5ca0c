"""An operator's own filter and weigher, the shape any importable module may give them.

Enable them by dotted path in the scheduler options file (see the README's
"Operators' plug-ins"):

    {"available_filters": ["novalog.scheduler.examples.plugins.DrainingHostFilter"],
     "enabled_filters": ["ComputeFilter", "RamFilter", "DrainingHostFilter"],
     "weight_classes": ["RAMWeigher", "novalog.scheduler.examples.plugins.RackPreferenceWeigher"]}

Both keep the plug-in contract (filters/base.py, weights/base.py): they
decide from their arguments alone and never change the host. Neither has a
columnar form, so the columnar pass asks them host by host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import values_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.weights.base import BaseHostWeigher, aggregate_multiplier

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class DrainingHostFilter(BaseHostFilter):
    """Passes iff the host is not being drained: no `draining: true` in its stats or its aggregates' metadata.

    An operator drains a host (or a whole aggregate) before maintenance
    without disabling its compute service, so moves and the instances
    already there are untouched while new ones go elsewhere.
    """

    NAME = "DrainingHostFilter"
    REASON = "draining"
    run_filter_once_per_request = True  # the answer reads nothing one instance of the request changes

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        flags = [host.stats.get("draining", ""), *values_of(host.aggregates, "draining")]
        return not any(flag.strip().lower() == "true" for flag in flags)


class RackPreferenceWeigher(BaseHostWeigher):
    """Prefers hosts in the rack the request names (hint `rack`), by the host's stat `rack`.

    Raw value 1.0 in that rack, else 0.0; no hint weighs nothing. The
    multiplier is not a scheduler option: it is 1.0 unless the host's
    aggregates set `rack_weight_multiplier` (the lowest wins, as for the
    built-in multipliers), which is why the class computes its own.
    """

    NAME = "RackPreferenceWeigher"
    MULTIPLIER_OPTION = "rack_weight_multiplier"

    def weighs_nothing(self, spec: RequestSpec) -> bool:
        return not spec.scheduler_hints.get("rack")

    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        return 1.0 if host.stats.get("rack") in spec.scheduler_hints.get("rack", []) else 0.0

    def weight_multiplier(self, options: SchedulerOptions, host: SchedHost) -> float:
        return aggregate_multiplier(host, self.MULTIPLIER_OPTION, 1.0)
