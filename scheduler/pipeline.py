"""One scheduling decision: which host takes one instance, and the trace of why.

    hosts ──▶ filters, in enabled_filters order ──▶ weighers ──▶ random pick among ──▶ Selection
              (each on the previous survivors;                    the best              (host, trace)
               stop when none is left)                            host_subset_size

The order is written once, in `select_host`, with the reason for each stage.
Given a HostColumns instead of a list, the same stages run over column
arrays (`columnar.py`) and give the same Selection, trace included.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from novalog.events.records import FilterCount, PlacementTrace, RequestSpec
from novalog.scheduler.columnar import run_filters, weigh_columns
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import FILTERS, BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.options import OPTION_NAMES, SchedulerOptions
from novalog.scheduler.plugins import filter_classes, weigher_classes
from novalog.scheduler.reasons import summarize
from novalog.scheduler.vectorized import AggregateSetFilter
from novalog.scheduler.weights import BaseHostWeigher, weigh_hosts

TOP_WEIGHED = 5


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen host (None: no valid host) and the trace that explains it."""

    host: str | None
    trace: PlacementTrace


def select_host(
    hosts: Sequence[SchedHost] | HostColumns, spec: RequestSpec, options: SchedulerOptions, rng: random.Random
) -> Selection:
    """The host to propose for one instance of `spec`, or None, with the decision's trace.

    `hosts` is a list of SchedHost, or the same hosts as HostColumns (the
    fast form for large host tables): the Selection is the same.
    """
    weighers = enabled_weighers(options)
    # 0. Nova's host list preparation: ignored hosts out; forced hosts, when
    #    any is known, are taken as they are (no filter runs); a requested
    #    destination narrows the list and the filters still judge it.
    prepared, forced, counts_before = prepare_hosts(hosts, spec, options)
    # 1. Filters first: they are hard rules (alive, room, not tried before)
    #    that no score may override, and they shrink the list the costlier
    #    stages see. Configured order, each on the survivors of the previous.
    # 2. Weighers only over the survivors: normalization spans the candidates'
    #    min and max, so a host that cannot take the instance must not bend
    #    the scores of those that can.
    if isinstance(hosts, HostColumns):
        rows = prepared
        if not forced:
            rows, counts = filter_columns(hosts, spec, options, rows=prepared)
        # Only the head of the ranking is ever read (trace and pick), so only it is sorted.
        weighed = weigh_columns(hosts, rows, spec, weighers, options, max(TOP_WEIGHED, options.host_subset_size))
    else:
        survivors = prepared
        if not forced:
            survivors, counts = filter_hosts(prepared, spec, options)
        weighed = weigh_hosts(survivors, spec, weighers, options)
    counts = counts_before + ([] if forced else counts)
    trace = PlacementTrace(hosts_before=len(hosts), filters=counts, top=weighed[:TOP_WEIGHED])
    if not weighed:
        return Selection(host=None, trace=trace)
    # 3. The random pick comes last because it needs the ranking: choosing
    #    among the best N, not always the best, keeps schedulers that read the
    #    same table from all proposing the same host and colliding in the
    #    claim check.
    best = weighed[: min(options.host_subset_size, len(weighed))]
    return Selection(host=rng.choice(best).host, trace=trace)


def prepare_hosts(
    hosts: Sequence[SchedHost] | HostColumns, spec: RequestSpec, options: SchedulerOptions | None = None
) -> tuple[Any, bool, list[FilterCount]]:
    """Nova's host list preparation, before any filter: the hosts (or ascending rows) left, whether they are forced, and the trace lines.

    `ignore_hosts` removes those hosts; `force_hosts` keeps only those and,
    if any is known, they skip the filters (Nova); `requested_host` (Nova's
    requested destination, as a move's target host) keeps only that host,
    which the filters then judge. Forcing never overcommits: the claim check
    still decides. A requested availability zone keeps only that zone's hosts
    (today's Nova does this before any filter, from the aggregates), unless
    AvailabilityZoneFilter is enabled to do it.
    """
    zone_wanted = bool(spec.availability_zone) and options is not None and "AvailabilityZoneFilter" not in options.enabled_filters
    if not (spec.ignore_hosts or spec.force_hosts or spec.requested_host or zone_wanted):
        # Nothing to prepare (the usual request): no per-host work at all.
        return (None if isinstance(hosts, HostColumns) else list(hosts)), False, []
    # Over columns, the names and aggregate sets are read from them, without a view per host.
    names = list(hosts.names) if isinstance(hosts, HostColumns) else [h.host for h in hosts]
    in_zone = None
    if spec.availability_zone and options is not None and "AvailabilityZoneFilter" not in options.enabled_filters:
        zone_filter = FILTERS["AvailabilityZoneFilter"]()
        assert isinstance(zone_filter, AggregateSetFilter)  # it answers once per aggregate set
        if isinstance(hosts, HostColumns):
            held = np.zeros(len(hosts.agg_sets), dtype=bool)
            held[hosts.agg_key] = True  # only the sets some host holds are asked about
            verdict = np.zeros(len(hosts.agg_sets), dtype=bool)
            for key in np.flatnonzero(held):
                verdict[key] = bool(zone_filter.passes_aggregates(hosts.agg_sets[key], spec, options))
            in_zone = {hosts.names[row] for row in np.flatnonzero(verdict[hosts.agg_key])}
        else:
            in_zone = {h.host for h in hosts if zone_filter.passes_aggregates(h.aggregates, spec, options)}
    keep = [True] * len(names)
    counts: list[FilterCount] = []
    steps = (
        ("ignore_hosts", spec.ignore_hosts, lambda name: name not in spec.ignore_hosts),
        ("force_hosts", spec.force_hosts, lambda name: name in spec.force_hosts),
        ("requested_host", spec.requested_host, lambda name: name == spec.requested_host),
        ("availability_zone", in_zone is not None, lambda name: in_zone is not None and name in in_zone),
    )
    for label, given, passes in steps:
        if given:
            keep = [k and passes(name) for k, name in zip(keep, names)]
            counts.append(FilterCount(name=f"({label})", hosts_after=sum(keep)))
    forced = bool(spec.force_hosts) and any(keep)
    if isinstance(hosts, HostColumns):
        rows = np.flatnonzero(np.array(keep, dtype=bool)) if counts else None
        return rows, forced, counts
    return ([h for h, k in zip(hosts, keep) if k] if counts else list(hosts)), forced, counts


def filter_hosts(
    hosts: Sequence[SchedHost], spec: RequestSpec, options: SchedulerOptions, index: int = 0
) -> tuple[list[SchedHost], list[FilterCount]]:
    """The hosts that pass every enabled filter, and how many were left after each one that ran.

    `index` is the instance's position in a multi-instance request: past the
    first, once-per-request filters are skipped (Nova), as the caller passes
    the previous instance's survivors. Stops at the first filter that leaves
    no host, so the trace ends with the filter that emptied the list.
    """
    survivors, counts = list(hosts), []
    for host_filter in enabled_filters(options):
        if not survivors:
            break
        if index > 0 and host_filter.run_filter_once_per_request:
            continue
        survivors = host_filter.filter_all(survivors, spec, options)
        counts.append(FilterCount(name=host_filter.NAME, hosts_after=len(survivors)))
    return survivors, counts


def filter_columns(
    cols: HostColumns, spec: RequestSpec, options: SchedulerOptions, index: int = 0, rows: np.ndarray | None = None
) -> tuple[np.ndarray, list[FilterCount]]:
    """`filter_hosts` over columns: the surviving rows (ascending) and the counts.

    `rows`, past the first instance, are the previous instance's surviving rows.
    """
    return run_filters(cols, enabled_filters(options), spec, options, index, rows)


def no_valid_host_message(trace: PlacementTrace) -> str:
    """Nova's NoValidHost text, then why per reason and the filter funnel.

    E.g. 'No valid host was found. 0/12 hosts: 12 not enough RAM. RamFilter: 12 -> 0'.
    """
    funnel = trace.funnel()
    if not funnel:
        return "No valid host was found. There are not enough hosts available."
    return f"No valid host was found. {summarize(trace)}. {funnel}"


def enabled_filters(options: SchedulerOptions) -> tuple[BaseHostFilter, ...]:
    """The filters the options enable, in order (built-ins by name, plug-ins by NAME or dotted path)."""
    return _filters(options.enabled_filters, options.available_filters)


def enabled_weighers(options: SchedulerOptions) -> tuple[BaseHostWeigher, ...]:
    """The weighers the options name, in order."""
    return _weighers(options.weight_classes)


@cache
def _filters(names: tuple[str, ...], available: tuple[str, ...]) -> tuple[BaseHostFilter, ...]:
    return tuple(cls() for cls in filter_classes(names, available))


@cache
def _weighers(names: tuple[str, ...]) -> tuple[BaseHostWeigher, ...]:
    return tuple(cls() for cls in weigher_classes(names, OPTION_NAMES))
