"""ComputeCapabilitiesFilter (today's Nova)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.extra_specs_ops import match
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


def _has_attribute(host: SchedHost, name: str) -> bool:
    # Public attributes only: a flavor must not reach dunders or slots.
    return not name.startswith("_") and hasattr(host, name)


def capability(host: SchedHost, path: Sequence[str]) -> Any:
    """The host's value at `path`, or None when any step is missing.

    On the host, a step is an attribute, or a `stats` entry when the
    attribute is missing or None; on a mapping, a key; a string met on the
    way is decoded as JSON first (Juno+: `cpu_info:vendor`). A string that is
    not JSON, or a step on anything else (a list, a number), gives None.
    """
    value: Any = host
    for step in path:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if isinstance(value, SchedHost):
            found = getattr(value, step) if _has_attribute(value, step) else None
            value = found if found is not None else value.stats.get(step)
        elif isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
        if value is None:
            return None
    return value


class ComputeCapabilitiesFilter(BaseHostFilter):
    """Passes iff the host's capabilities satisfy the flavor's extra specs.

    A key scoped `capabilities:` walks the path after the scope (see
    `capability`); other scopes are ignored. An unscoped key is checked only
    when the host has it as an attribute or a stat (Newton+: unknown ones are
    ignored). A missing capability fails the host; otherwise
    `match(str(value), requirement)` must hold. Today's Nova also turns
    `hw:maxphysaddr_bits: N` into `capabilities:cpu_info:maxphysaddr:bits: >= N`.
    """

    NAME = "ComputeCapabilitiesFilter"
    REASON = "capabilities unlike the flavor's extra specs"
    # Flavor and capabilities do not change within a request.
    run_filter_once_per_request = True

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        return not spec.flavor.extra_specs

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        specs = dict(spec.flavor.extra_specs)
        bits = specs.pop("hw:maxphysaddr_bits", None)
        if bits is not None:
            specs["capabilities:cpu_info:maxphysaddr:bits"] = f">= {bits}"
        for key, req in specs.items():
            path = key.split(":")
            if len(path) == 1:
                if not _has_attribute(host, key) and key not in host.stats:
                    continue
            elif path[0] != "capabilities":
                continue
            else:
                path = path[1:]
            value = capability(host, path)
            if value is None or not match(str(value), req):
                return False
        return True
