"""The scheduling pass over HostColumns: the scalar pipeline's stages, over arrays.

    alive = all rows ──▶ for each filter, in order: ──▶ rows left ──▶ weigh ─────────────────▶ best `count`
                         VectorizedFilter    alive &= mask             raw values of the rows,     repeated argmax
                         AggregateSetFilter  once per set alive        normalize_array in place,   (first of equal
                         any other plug-in   host by host, alive only  x multiplier per agg set    maxima = input order)

The answer equals `filter_hosts` + `weigh_hosts` on the same hosts: same
survivors in the same order, same counts, same weights and ranking (ties in
input order). The survivors are a bool mask over the rows rather than a
shrinking list, so a vectorized filter costs one array op per column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import FilterCount, RequestSpec, WeighedHost
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.vectorized import AggregateSetFilter, VectorizedFilter, VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher, normalize_array

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

# Up to this many, the best are found by repeated argmax (each ~13 us over
# 100,000 weights); past it one partition (~0.7 ms) is cheaper.
ARGMAX_UP_TO = 16


def run_filters(
    cols: HostColumns,
    filters: Sequence[BaseHostFilter],
    spec: RequestSpec,
    options: SchedulerOptions,
    index: int = 0,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, list[FilterCount]]:
    """The rows (ascending) that pass every filter, and how many were left after each one that ran.

    `rows`, when given, are the ascending rows to start from (a previous
    instance's survivors); `index` skips once-per-request filters past the
    first instance; filtering stops at the first filter that leaves no row.
    All as `pipeline.filter_hosts`.
    """
    alive = np.ones(len(cols), dtype=bool)
    if rows is not None:
        alive[:] = False
        alive[rows] = True
    left, counts = int(np.count_nonzero(alive)), []
    for host_filter in filters:
        if not left:
            break
        if index > 0 and host_filter.run_filter_once_per_request:
            continue
        survivors = passing(host_filter, cols, alive, spec, options)
        if survivors is not alive:  # a filter the request alone passed leaves the very array, and the count
            alive, left = survivors, int(np.count_nonzero(survivors))
        counts.append(FilterCount(name=host_filter.NAME, hosts_after=left))
    return (cols.all_rows if left == len(cols) else np.flatnonzero(alive)), counts


def passing(
    host_filter: BaseHostFilter, cols: HostColumns, alive: np.ndarray, spec: RequestSpec, options: SchedulerOptions
) -> np.ndarray:
    """`alive` less the rows this filter rejects, by the cheapest form the filter offers."""
    if host_filter.passes_all(spec, options):  # the request alone decides: nothing to ask the hosts
        return alive
    if isinstance(host_filter, VectorizedFilter):
        return alive & np.asarray(host_filter.mask(cols, spec, options), dtype=bool)
    if isinstance(host_filter, AggregateSetFilter):
        # Only the sets some survivor holds: a set nobody alive holds is never asked about, as in the scalar loop.
        present = np.zeros(len(cols.agg_sets), dtype=bool)
        present[cols.agg_key[alive]] = True
        verdict = np.zeros(len(cols.agg_sets), dtype=bool)
        for key in np.flatnonzero(present):
            verdict[key] = bool(host_filter.passes_aggregates(cols.agg_sets[key], spec, options))
        return alive & verdict[cols.agg_key]
    # No columnar form: the scalar filter over the surviving hosts alone, through
    # filter_all (a plug-in may override it), then its answer mapped back to rows.
    rows = np.flatnonzero(alive)
    hosts = [cols.hosts[row] for row in rows]
    kept = host_filter.filter_all(hosts, spec, options)
    passed = np.zeros(len(cols), dtype=bool)
    passed[rows[_kept_positions(hosts, kept)]] = True
    return passed


def weigh_columns(
    cols: HostColumns,
    rows: np.ndarray,
    spec: RequestSpec,
    weighers: Sequence[BaseHostWeigher],
    options: SchedulerOptions,
    count: int,
) -> list[WeighedHost]:
    """The `count` best of `rows` with their weights and parts, best first: `weigh_hosts(...)[:count]`.

    Each part is multiplier x normalized raw value, the parts added in weigher
    order from 0.0 as `weigh_hosts` adds them, so the floats are the same.
    Fewer than two rows: nothing is compared, every weight is 0 (Nova).
    """
    if len(rows) < 2:
        return [WeighedHost(host=cols.names[row], weight=0.0, parts={}) for row in rows[:count]]
    ranked = _rank_by_whole_raw_values(cols, rows, spec, weighers, options, count)
    if ranked is not None:
        return ranked
    # A repeated weigher name keeps its first place and its last part, as a dict does. A part is
    # an array over the rows, or, for a weigher that weighs nothing, its multipliers per aggregate set.
    parts: dict[str, np.ndarray | list[float]] = {}
    zero_parts: set[str] = set()
    for weigher in weighers:
        per_set = _zero_part_multipliers(weigher, cols, spec, options)
        if per_set is not None:
            parts[weigher.NAME] = per_set
            zero_parts.add(weigher.NAME)
            continue
        zero_parts.discard(weigher.NAME)
        # In place on the fresh array of raw values: at 100,000 hosts, allocating is most of the cost.
        raw = _raw_values(weigher, cols, rows, spec)
        part = normalize_array(raw, weigher.minval, weigher.maxval, out=raw)
        parts[weigher.NAME] = np.multiply(part, _multipliers(weigher, cols, rows, options), out=part)
    total = None
    for name, summand in parts.items():
        if name not in zero_parts:
            # The first part plus +0.0, as the scalar sum starts from 0.0 (it turns a -0.0 into +0.0).
            total = np.add(summand, 0.0) if total is None else np.add(total, summand, out=total)
    if total is None:
        total = np.zeros(len(rows))
    return [
        WeighedHost(
            host=cols.names[rows[at]],
            weight=float(total[at]),
            parts={
                name: float(part[cols.agg_key[rows[at]]] * 0.0) if name in zero_parts else float(part[at])
                for name, part in parts.items()
            },
        )
        for at in best_first(total, count)
    ]


def _rank_by_whole_raw_values(
    cols: HostColumns,
    rows: np.ndarray,
    spec: RequestSpec,
    weighers: Sequence[BaseHostWeigher],
    options: SchedulerOptions,
    count: int,
) -> list[WeighedHost] | None:
    """`weigh_columns`' answer when one weigher alone weighs anything and its raw values are whole numbers; else None.

    The default pass is such a case: RAMWeigher (free MB) and the soft group
    weighers, which weigh nothing for a request without a group. Then every
    weight is f(raw) = (raw - lo) / (hi - lo) x m + 0.0, with one multiplier
    m for all rows, and f is strictly monotone over whole numbers this close
    together (|raw|, and the weigher's minval and maxval if set, whole and at
    most 2**40: each step of raw moves the normalized value by at least
    2**-41, far more than the float rounding; |m| >= 1e-200 keeps the
    products normal floats): equal raw values give equal weights
    and distinct ones distinct weights in the same order (reversed when m < 0).
    So the best rows by raw value, ties in input order, are the best rows by
    weight, and only their weights are computed, with the same float
    operations as normalize_array and the part sums. The arrays of
    normalized values, parts and totals are never built.
    """
    if len({weigher.NAME for weigher in weighers}) != len(weighers):
        return None
    zero_parts: dict[str, list[float]] = {}
    active = None
    for weigher in weighers:
        per_set = _zero_part_multipliers(weigher, cols, spec, options)
        if per_set is not None:
            zero_parts[weigher.NAME] = per_set
        elif active is None:
            active = weigher
        else:
            return None
    if not isinstance(active, VectorizedWeigher) or active.weighs_nothing(spec):
        return None
    bounds = [bound for bound in (active.minval, active.maxval) if bound is not None]
    if not all(float(bound).is_integer() for bound in bounds):  # RAMWeigher's minval is 0
        return None
    per_set = cols.set_multipliers(active, options)
    multiplier = float(per_set[0])
    if any(value != per_set[0] for value in per_set) or not math.isfinite(multiplier):
        return None
    if multiplier != 0.0 and abs(multiplier) < 1e-200:
        return None
    raw = np.asarray(active.raw_values(cols, spec))
    if raw.dtype.kind not in "iu":
        return None
    values = raw if len(rows) == len(cols) else np.take(raw, rows)
    # normalize_array's bounds: the values' own, widened to minval and maxval.
    lo, hi = int(values.min()), int(values.max())
    if active.minval is not None:
        lo = min(lo, int(active.minval))
    if active.maxval is not None:
        hi = max(hi, int(active.maxval))
    if lo < -(2**40) or hi > 2**40:
        return None
    if lo == hi or multiplier == 0.0:  # every weight is the same zero: input order
        order = np.arange(min(count, len(values)))
    else:
        order = _best_whole(values if multiplier > 0 else -values, count)
    lo_f, span = float(lo), float(hi) - float(lo)
    ranked = []
    for at in order.tolist():
        row = rows[at]
        part = (0.0 if lo == hi else (float(values[at]) - lo_f) / span) * multiplier
        parts = {
            weigher.NAME: part if weigher is active else float(zero_parts[weigher.NAME][cols.agg_key[row]] * 0.0)
            for weigher in weighers
        }
        ranked.append(WeighedHost(host=cols.names[row], weight=part + 0.0, parts=parts))
    return ranked


def _best_whole(keys: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` largest whole-number keys, largest first, ties in input order (as best_first).

    Hosts alike (a fleet of one size, idle) often share the top key: then
    the first `count` of them are the answer, found in two array operations.
    """
    if count >= len(keys):
        return np.argsort(-keys, kind="stable")
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    at_top = np.flatnonzero(keys == keys.max())
    if len(at_top) >= count:
        return at_top[:count]
    return best_first(keys.astype(np.float64), count)


def _zero_part_multipliers(
    weigher: BaseHostWeigher, cols: HostColumns, spec: RequestSpec, options: SchedulerOptions
) -> list[float] | None:
    """For a columnar weigher that weighs nothing for this request: its multiplier per aggregate set; else None.

    Every raw value is then 0, so every normalized value is 0.0 and the part
    is multiplier x 0.0, a zero (signed like the multiplier). Adding a zero
    to a total that starts at +0.0 never changes it (IEEE: x + -0.0 == x and
    +0.0 + -0.0 == +0.0), so such a part is left out of the totals and
    computed for the few rows the ranking returns. Only when every
    multiplier is finite: inf x 0.0 is NaN, which would change the totals.
    """
    if not (isinstance(weigher, VectorizedWeigher) and weigher.weighs_nothing(spec)):
        return None
    # A handful of floats: plain Python is cheaper than numpy here, and float x 0.0 is the same IEEE product.
    per_set = [float(value) for value in cols.set_multipliers(weigher, options)]
    return per_set if all(map(math.isfinite, per_set)) else None


def best_first(weights: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` highest weights, best first, ties in input order: a stable sort's prefix.

    A full sort of 100,000 weights costs more than the rest of the pass. For
    the usual few (trace and subset), argmax count times: it returns the first
    of equal maxima, which is the input order a stable sort keeps. For more,
    only the weights above the count-th highest are sorted, and the ties at
    that value complete the count in input order.
    """
    n = len(weights)
    if count >= n:
        return np.argsort(-weights, kind="stable")
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if count <= ARGMAX_UP_TO:
        left, chosen = weights.copy(), []
        for _ in range(count):
            at = int(np.argmax(left))
            if not left[at] > -np.inf:  # -inf or NaN: the marker below would be ambiguous
                break
            chosen.append(at)
            left[at] = -np.inf
        else:
            return np.array(chosen, dtype=np.intp)
    kth = np.partition(weights, n - count)[n - count]  # the count-th highest value
    above = np.flatnonzero(weights > kth)  # fewer than count of them
    ties = np.flatnonzero(weights == kth)[: count - len(above)]
    return np.concatenate([above[np.argsort(-weights[above], kind="stable")], ties])


def _raw_values(weigher: BaseHostWeigher, cols: HostColumns, rows: np.ndarray, spec: RequestSpec) -> np.ndarray:
    """The raw values of `rows`, as a new float64 array the caller may overwrite."""
    if weigher.weighs_nothing(spec):  # every host would weigh 0
        return np.zeros(len(rows))
    if isinstance(weigher, VectorizedWeigher):
        raw = np.asarray(weigher.raw_values(cols, spec))
        if len(rows) == len(cols):  # every row survived: rows is 0..n-1, copy without a gather
            return np.array(raw, dtype=np.float64)
        # np.take gathers about twice as fast as raw[rows]; it copies, so astype may not.
        return np.take(raw, rows).astype(np.float64, copy=False)
    return np.fromiter((float(weigher.weigh_object(cols.hosts[row], spec)) for row in rows), dtype=np.float64, count=len(rows))


def _multipliers(weigher: BaseHostWeigher, cols: HostColumns, rows: np.ndarray, options: SchedulerOptions) -> float | np.ndarray:
    """Each row's multiplier: once per aggregate set for a VectorizedWeigher (its contract), else host by host.

    Every set is asked, also one no survivor holds (the contract lets it);
    its value is never read. One value for all sets: a plain float.
    """
    if isinstance(weigher, VectorizedWeigher):
        per_set = cols.set_multipliers(weigher, options)
        if all(value == per_set[0] for value in per_set):
            return per_set[0]
        return np.take(np.array(per_set, dtype=np.float64), np.take(cols.agg_key, rows))
    return np.array([weigher.weight_multiplier(options, cols.hosts[row]) for row in rows], dtype=np.float64)


def _kept_positions(hosts: Sequence[SchedHost], kept: Sequence[SchedHost]) -> list[int]:
    """Where each kept host sits in `hosts`: filter_all keeps a subsequence, matched here by identity."""
    positions, at = [], 0
    for position, host in enumerate(hosts):
        if at < len(kept) and kept[at] is host:
            positions.append(position)
            at += 1
    if at != len(kept):
        raise ValueError("filter_all must return a subsequence of its input hosts, in their order")
    return positions
