"""Nova's collection paging and the list filters: `limit` and `marker`, `<coll>_links`, `sort_key`/`sort_dir`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from novalog.api.faults import BadRequest

T = TypeVar("T")
MAX_LIMIT = 1000  # Nova's [api] max_limit


def parse_limit(params: Mapping[str, str]) -> int:
    """The page size: `limit` (a non-negative integer), capped at MAX_LIMIT; MAX_LIMIT when absent."""
    raw = params.get("limit")
    if raw is None:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]*$'") from None
    if limit < 0:
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]*$'")
    return min(limit, MAX_LIMIT)


def parse_time(name: str, raw: str) -> datetime:
    """An ISO 8601 time from a query parameter (naive means UTC); else 400."""
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def sort(items: list[T], params: Mapping[str, str], keys: Mapping[str, Callable[[T], Any]], default_key: str, default_dir: str) -> list[T]:
    """Order by `sort_key`/`sort_dir` (Nova's asc/desc), the default otherwise; unknown keys and dirs are 400."""
    key = params.get("sort_key", default_key)
    direction = params.get("sort_dir", default_dir)
    if key not in keys:
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}. It must be one of asc, desc")
    return sorted(items, key=lambda item: (keys[key](item) is None, keys[key](item)), reverse=direction == "desc")


def page(
    items: Sequence[T], id_of: Callable[[T], str], params: Mapping[str, str], collection_url: str, collection: str
) -> tuple[list[T], dict[str, Any]]:
    """The page after `marker` of at most `limit` items, and `{<collection>_links: [next]}` when it is full."""
    limit = parse_limit(params)
    start = 0
    marker = params.get("marker")
    if marker is not None:
        ids = [id_of(item) for item in items]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        start = ids.index(marker) + 1
    chosen = list(items[start : start + limit])
    return chosen, next_links(chosen, id_of, params, collection_url, collection)


def next_links(chosen: Sequence[T], id_of: Callable[[T], str], params: Mapping[str, str], collection_url: str, collection: str) -> dict[str, Any]:
    """`{<collection>_links: [next]}` when the page is full (its last item is the next marker), else nothing."""
    limit = parse_limit(params)
    if not chosen or len(chosen) != limit:
        return {}
    query = {k: v for k, v in params.items() if k != "marker"}
    query.update(limit=str(limit), marker=id_of(chosen[-1]))
    return {f"{collection}_links": [{"rel": "next", "href": f"{collection_url}?{urlencode(query)}"}]}


def name_matches(pattern: str, name: str) -> bool:
    """Nova's `name` filter: a regular expression searched in the name; an invalid one matches literally."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on", "")
