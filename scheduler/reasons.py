"""Why no host is valid, counted per reason: '0/3 hosts: 2 not enough RAM, 1 disabled or down'.

The count is read from the trace alone. Each filter runs on the survivors
of the previous one (Nova's order), so the hosts a step drops are exactly
those it was the first to reject: every host is counted once, under the
first reason it met.
"""

from __future__ import annotations

from novalog.events.records import PlacementTrace
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.plugins import loaded_filter

# The steps the trace records besides the filters: the host list's preparation
# (pipeline.prepare_hosts) and the chance scheduler's two cuts (policies.chance_select).
STEP_REASONS: dict[str, str] = {
    "(ignore_hosts)": "ignored by the request",
    "(force_hosts)": "not a forced host",
    "(requested_host)": "not the requested host",
    "(availability_zone)": "not in the requested zone",
    "ChanceScheduler(up and enabled)": "disabled or down",
    "ChanceScheduler(not ignored or tried)": "ignored or already tried",
}


def reason_of(step: str) -> str:
    """The short reason a host dropped at this step of a trace (a filter's REASON); an unknown step is its own name."""
    host_filter = FILTERS.get(step) or loaded_filter(step)
    return host_filter.REASON if host_filter is not None else STEP_REASONS.get(step, step)


def rejections(trace: PlacementTrace) -> dict[str, int]:
    """How many hosts each reason rejected, in the order the reasons were first met (steps with one reason merged)."""
    counts: dict[str, int] = {}
    before = trace.hosts_before
    for step in trace.filters:
        dropped = before - step.hosts_after
        if dropped > 0:
            reason = reason_of(step.name)
            counts[reason] = counts.get(reason, 0) + dropped
        before = step.hosts_after
    return counts


def summarize(trace: PlacementTrace) -> str:
    """The hosts left out of those there were, and why the others are not, most common reason first.

    E.g. '0/3 hosts: 2 not enough RAM, 1 disabled or down'; equal counts
    keep the pipeline's order.
    """
    left = trace.filters[-1].hosts_after if trace.filters else trace.hosts_before
    counts = sorted(rejections(trace).items(), key=lambda item: -item[1])
    why = ", ".join(f"{count} {reason}" for reason, count in counts)
    return f"{left}/{trace.hosts_before} hosts" + (f": {why}" if why else "")
