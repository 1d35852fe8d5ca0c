"""Reading aggregate metadata the way Nova's filters/utils.py does (today's Nova, Kilo+ rules).

The functions take a host's aggregates, not the host, so the per-host form
(`host.aggregates`) and the once-per-aggregate-set form read the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from novalog.scheduler.host_state import Aggregate

N = TypeVar("N", int, float)


def values_of(aggregates: Sequence[Aggregate], key: str) -> set[str]:
    """The raw values of `key` over the aggregates (Nova's aggregate_values_from_key: no comma split)."""
    return {aggregate.metadata[key] for aggregate in aggregates if key in aggregate.metadata}


def metadata_of(aggregates: Sequence[Aggregate], key: str | None = None) -> dict[str, set[str]]:
    """Every metadata key of the aggregates mapped to its values, each value split on commas and trimmed.

    With `key`, only the aggregates that carry `key` contribute (all of their
    keys, as Nova's aggregate_metadata_get_by_host does).
    """
    merged: dict[str, set[str]] = {}
    for aggregate in aggregates:
        if key is None or key in aggregate.metadata:
            for name, value in aggregate.metadata.items():
                merged.setdefault(name, set()).update(part.strip() for part in value.split(","))
    return merged


def lowest(values: Iterable[str], default: N, cast: Callable[[str], N]) -> N:
    """The numeric minimum of the values; `default` when there is none or when any one does not parse.

    Kilo+: every value is converted before the minimum is taken (up to Juno
    the minimum of the raw strings was converted, so "10.0" beat "2.0").
    `int` refuses "8.0". Deliberately unlike Nova, NaN and infinities count
    as unparsable: Nova's minimum over a set holding NaN depends on the set's
    iteration order, and an infinite ratio would mean unlimited room.
    """
    try:
        numbers = [cast(value) for value in values]
    except ValueError:
        return default
    if not numbers or not all(math.isfinite(number) for number in numbers):
        return default
    return min(numbers)
