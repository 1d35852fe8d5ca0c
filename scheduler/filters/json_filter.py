"""JsonFilter (today's Nova)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.json_query import JsonQueryError, evaluate
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class JsonFilter(BaseHostFilter):
    """Passes iff the scheduler hint `query`, a JSON string, holds on the host (language: `json_query`).

    No hint, or an empty one: every host passes. A list result (from `not`)
    passes if any element is truthy, so inside `and`/`or` a `["not", X]` is
    a one-element list and always true: ["and", ["not", "$service.disabled"]]
    keeps disabled hosts, as in Nova. Like Nova, it reads the host as it is,
    disabled or not, so a query may decide that too: `$service.<field>` is
    the compute service, `$capabilities.<name>` Havana's capabilities (see
    `json_query`). Invalid JSON, an
    unknown operator or a hint of several strings raises JsonQueryError.
    """

    NAME = "JsonFilter"
    REASON = "outside the query hint"

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        hint = spec.scheduler_hints.get("query")
        # Nova's get_scheduler_hint: a one-element list stands for its element.
        text = [hint] if isinstance(hint, str) else hint
        if not text:
            return True
        if len(text) > 1:
            raise JsonQueryError(f"the query hint is one JSON string, got {len(text)}")
        if not text[0]:
            return True
        try:
            query = json.loads(text[0])
        except ValueError as error:
            raise JsonQueryError(f"the query hint is not JSON: {error}") from None
        result = evaluate(query, host)
        if isinstance(result, list):
            result = any(result)
        return bool(result)
