"""Where would this go, and why not elsewhere: every filter's verdict on every host, and the weights.

Unlike the pipeline, which stops a host at its first failing filter, an
explanation runs every enabled filter on every host, so each host shows all
the reasons it was refused; its `reason` is the first one's, the one the
pipeline counts it under. The decision and the per-reason summary are the
pipeline's own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import Selection, enabled_filters, enabled_weighers, no_valid_host_message, select_host
from novalog.scheduler.reasons import reason_of, summarize
from novalog.scheduler.weights import weigh_hosts


@dataclass(frozen=True, slots=True)
class HostVerdict:
    """One host: each filter's yes/no, and for the hosts that pass every filter, the weight and its parts."""

    host: str
    filters: dict[str, bool]
    weight: float | None = None
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.filters.values())

    @property
    def reason(self) -> str | None:
        """Why the first filter that refused the host did (filters in their enabled order); None if none did."""
        return next((reason_of(name) for name, passed in self.filters.items() if not passed), None)


@dataclass(frozen=True, slots=True)
class Explanation:
    selection: Selection
    hosts: list[HostVerdict]

    def to_json(self) -> dict[str, Any]:
        trace = self.selection.trace
        return {
            "selected": self.selection.host,
            "message": None if self.selection.host else no_valid_host_message(trace),
            "summary": summarize(trace),
            "funnel": [{"filter": c.name, "hosts_after": c.hosts_after} for c in trace.filters],
            "hosts": [
                {
                    "host": v.host, "passed": v.passed, "reason": v.reason,
                    "filters": v.filters, "weight": v.weight, "weights": v.parts,
                }
                for v in self.hosts
            ],
        }


def explain(hosts: Sequence[SchedHost], spec: RequestSpec, options: SchedulerOptions, rng: random.Random) -> Explanation:
    """The pipeline's decision, plus each filter's verdict on each host and the weights of those that pass."""
    plugins = enabled_filters(options)
    verdicts = {h.host: {f.NAME: bool(f.host_passes(h, spec, options)) for f in plugins} for h in hosts}
    passing = [h for h in hosts if all(verdicts[h.host].values())]
    weighers = enabled_weighers(options)
    weighed = {w.host: w for w in weigh_hosts(passing, spec, weighers, options)}
    rows = [
        HostVerdict(h.host, verdicts[h.host], weighed[h.host].weight if h.host in weighed else None,
                    dict(weighed[h.host].parts) if h.host in weighed else {})
        for h in hosts
    ]
    rows.sort(key=lambda v: (not v.passed, -(v.weight or 0.0), v.host))
    return Explanation(select_host(hosts, spec, options, rng), rows)


def render(explanation: Explanation) -> str:
    """A table for people: hosts best first, a column per filter, the weight of those that pass, why the others fail."""
    rows = explanation.hosts
    names = list(rows[0].filters) if rows else []
    width = max([len("HOST"), *(len(v.host) for v in rows)])
    weights = ["" if v.weight is None else f"{v.weight:.3f}" for v in rows]
    weight_width = max([len("WEIGHT"), *map(len, weights)])
    lines = ["  ".join(["HOST".ljust(width), *names, "WEIGHT".ljust(weight_width), "WHY NOT"])]
    for v, weight in zip(rows, weights):
        marks = [("pass" if v.filters[n] else "FAIL").ljust(len(n)) for n in names]
        lines.append("  ".join([v.host.ljust(width), *marks, weight.ljust(weight_width), v.reason or ""]).rstrip())
    selected, trace = explanation.selection.host, explanation.selection.trace
    lines.append("")
    lines.append(f"selected: {selected} ({summarize(trace)})" if selected else no_valid_host_message(trace))
    return "\n".join(lines)
