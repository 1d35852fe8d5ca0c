"""The weigher contract, and how weighers' scores add up (Nova's weight handler)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from novalog.events.records import RequestSpec, WeighedHost
from novalog.scheduler.host_state import SchedHost

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
    * `NAME` is Nova's class name: the registry key and the key of this
      weigher's part in the trace.
    """

    NAME: ClassVar[str]
    MULTIPLIER_OPTION: ClassVar[str]
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    @abstractmethod
    def weigh_object(self, host: SchedHost, spec: RequestSpec) -> float:
        """The raw value; higher is better before the multiplier."""

    def weight_multiplier(self, options: SchedulerOptions) -> float:
        return float(getattr(options, self.MULTIPLIER_OPTION))


def normalize(values: Sequence[float], minval: float | None = None, maxval: float | None = None) -> list[float]:
    """Values mapped onto [0, 1] by (w - lo) / (hi - lo); all equal gives all 0 (Icehouse+)."""
    if not values:
        return []
    lo = min(values) if minval is None else min(minval, *values)
    hi = max(values) if maxval is None else max(maxval, *values)
    if lo == hi:
        return [0.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def weigh_hosts(
    hosts: Sequence[SchedHost], spec: RequestSpec, weighers: Sequence[BaseHostWeigher], options: SchedulerOptions
) -> list[WeighedHost]:
    """Every host with its total weight and each weigher's part, best first.

    Each part is multiplier x normalized raw value, so no weigher outweighs
    another by its unit. With fewer than two hosts nothing is compared and
    every weight stays 0 (Nova). The sort is stable: ties keep input order.
    """
    parts: list[dict[str, float]] = [{} for _ in hosts]
    if len(hosts) > 1:
        for weigher in weighers:
            multiplier = weigher.weight_multiplier(options)
            raw = [float(weigher.weigh_object(host, spec)) for host in hosts]
            for part, value in zip(parts, normalize(raw, weigher.minval, weigher.maxval)):
                part[weigher.NAME] = multiplier * value
    weighed = [WeighedHost(host=h.host, weight=sum(p.values(), 0.0), parts=p) for h, p in zip(hosts, parts)]
    return sorted(weighed, key=lambda w: w.weight, reverse=True)
