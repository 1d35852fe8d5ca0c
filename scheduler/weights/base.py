"""The weigher contract, and how weighers' scores add up (Nova's weight handler)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from novalog.events.records import RequestSpec, WeighedHost
from novalog.scheduler.filters.aggregate_values import lowest, values_of
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class BaseHostWeigher(ABC):
    """Scores a host for a request; the highest total weight wins.

    Contract:
    * `weigh_object(host, spec) -> float` is the raw value, from the
      arguments alone.
    * `minval` / `maxval`, when set, are bounds the raw values are normalized
      against; as in Nova they are widened to every raw value seen, never
      used to clamp.
    * `MULTIPLIER_OPTION` names the SchedulerOptions field (Nova's option
      name) holding the multiplier: positive spreads, negative stacks.
      `weight_multiplier(options, host)` is that option, unless the host's
      aggregates override it (Stein+, see `aggregate_multiplier`).
    * `NAME` is Nova's class name: the registry key and the key of this
      weigher's part in the trace.
    """

    NAME: ClassVar[str]
    MULTIPLIER_OPTION: ClassVar[str]
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def weighs_nothing(self, spec: RequestSpec) -> bool:
        """True when the request alone shows every host weighs 0 (a pass may skip asking them)."""
        return False

    @abstractmethod
    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        """The raw value; higher is better before the multiplier."""

    def weight_multiplier(self, options: SchedulerOptions, host: SchedHost) -> float:
        """The multiplier this weigher's part is scaled by on this host."""
        return aggregate_multiplier(host, self.MULTIPLIER_OPTION, float(getattr(options, self.MULTIPLIER_OPTION)))


def aggregate_multiplier(host: SchedHost, option: str, default: float) -> float:
    """The host's multiplier: the lowest value its aggregates give under `option`, else `default` (Stein+).

    The same lowest-value rule as the Aggregate* filters' limits: one value
    that is not a finite number voids the override and the option applies
    (Nova logs a warning; nothing is logged here).
    """
    return lowest(values_of(host.aggregates, option), default, float)


def normalize(values: Sequence[float], minval: float | None = None, maxval: float | None = None) -> list[float]:
    """Values mapped onto [0, 1] by (w - lo) / (hi - lo); all equal gives all 0 (Icehouse+)."""
    if not values:
        return []
    lo = min(values) if minval is None else min(minval, *values)
    hi = max(values) if maxval is None else max(maxval, *values)
    if lo == hi:
        return [0.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def normalize_array(
    values: np.ndarray, minval: float | None = None, maxval: float | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """`normalize` over a float64 array: the same lo, hi and arithmetic, so the same floats.

    `out=values` normalizes in place, sparing two array allocations per weigher on large host lists.
    """
    if not len(values):
        return np.zeros(0)
    lo = values.min() if minval is None else min(minval, values.min())
    hi = values.max() if maxval is None else max(maxval, values.max())
    if lo == hi:
        if out is None:
            return np.zeros(len(values))
        out.fill(0.0)
        return out
    shifted = np.subtract(values, lo, out=out)
    return np.divide(shifted, hi - lo, out=shifted)


def weigh_hosts(
    hosts: Sequence[SchedHost], spec: RequestSpec, weighers: Sequence[BaseHostWeigher], options: SchedulerOptions
) -> list[WeighedHost]:
    """Every host with its total weight and each weigher's part, best first.

    Each part is the host's multiplier x normalized raw value, so no weigher
    outweighs another by its unit. With fewer than two hosts nothing is
    compared and every weight stays 0 (Nova). The sort is stable: ties keep
    input order.
    """
    parts: list[dict[str, float]] = [{} for _ in hosts]
    if len(hosts) > 1:
        for weigher in weighers:
            raw = [float(weigher.weigh_object(host, spec)) for host in hosts]
            for host, part, value in zip(hosts, parts, normalize(raw, weigher.minval, weigher.maxval)):
                # Per host: aggregate metadata may override the multiplier (Stein+).
                part[weigher.NAME] = weigher.weight_multiplier(options, host) * value
    weighed = [WeighedHost(host=h.host, weight=sum(p.values(), 0.0), parts=p) for h, p in zip(hosts, parts)]
    return sorted(weighed, key=lambda w: w.weight, reverse=True)
