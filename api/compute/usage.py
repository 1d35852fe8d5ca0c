"""os-simple-tenant-usage: how long each project's servers existed in a period, and what they held meanwhile.

Nova's accounting: a server counts from launched_at to terminated_at (or to
the end of the period while it lives), clipped to the period; stops, pauses
and other events in between do not matter, and the flavor is the one it has
now. Its hours times the flavor's vCPUs, memory and disk (root + ephemeral)
make the project's totals. The period ends at now at the latest.

Rows are the instance table's (deleted servers keep launched_at,
terminated_at and flavor). One deliberate difference from Nova: a period
that starts in the future (so after its end, once the end is cut to now)
counts no hours, where Nova would report negative ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from novalog.events.state import InstanceState

# Nova's formats for start and end; no zone means UTC.
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
INVALID_TIME = "Invalid datetime string: Datetime is in invalid format"
START_AFTER_END = "Invalid start time. The start time cannot occur after the end time."
# Nova's [api] max_limit: below microversion 2.40 (no paging) a report covers this many servers at most.
MAX_SERVERS = 1000


class InvalidPeriod(ValueError):
    """start or end cannot make a period; the message is Nova's."""


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    stop: datetime


def parse_time(text: str | None, now: datetime) -> datetime:
    """A start or end as Nova reads it: one of TIME_FORMATS, UTC unless zoned; absent or empty is now."""
    if not text:
        return now
    for fmt in TIME_FORMATS:
        try:
            at = datetime.strptime(text, fmt)
        except (TypeError, ValueError):
            continue
        return at.replace(tzinfo=UTC)  # the formats name no zone
    raise InvalidPeriod(INVALID_TIME)


def parse_query(query: str, now: datetime) -> tuple[Period, bool]:
    """The period and the `detailed` flag of a raw query string, read as Nova reads it (first non-empty value of each)."""
    params = parse_qs(query)
    start = parse_time(params.get("start", [None])[0], now)
    end = parse_time(params.get("end", [None])[0], now)
    # Nova reads the clock for an omitted start before it does for an omitted end, so with neither
    # the period is empty at now (running servers listed with no hours), not refused.
    if not (start < end or start == end == now and "end" not in params):
        raise InvalidPeriod(START_AFTER_END)
    return Period(start, min(end, now)), params.get("detailed", ["0"])[0] == "1"


def in_period(row: InstanceState, period: Period) -> bool:
    """Whether a server lived in the period: launched before it ended, not terminated before it began."""
    launched, terminated = row.launched_at, row.terminated_at
    return launched is not None and launched < period.stop and (terminated is None or terminated > period.start)


def hours_in(row: InstanceState, period: Period) -> float:
    """Hours of the server's life inside the period (never negative)."""
    if row.launched_at is None:
        return 0.0
    start = max(row.launched_at, period.start)
    stop = min(row.terminated_at, period.stop) if row.terminated_at else period.stop
    return max(0.0, (stop - start).total_seconds() / 3600.0)


def _time(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def server_usage(row: InstanceState, period: Period, now: datetime) -> dict[str, Any]:
    """One entry of server_usages: the server's hours in the period, its flavor's sizes, its life so far."""
    ended, launched = row.terminated_at, row.launched_at
    assert launched is not None, "a server that lived in the period was launched (in_period)"
    flavor = row.flavor
    return {
        "instance_id": row.instance_id,
        "name": row.name,
        "tenant_id": row.project_id,
        "hours": hours_in(row, period),
        "flavor": flavor.name,
        "memory_mb": flavor.ram,
        "local_gb": flavor.disk + flavor.ephemeral,
        "vcpus": flavor.vcpus,
        "started_at": _time(launched),
        "ended_at": _time(ended) if ended else None,
        "state": "terminated" if ended else row.vm_state,
        "uptime": int(((ended or now) - launched).total_seconds()),
    }


def tenant_usages(rows: Iterable[InstanceState], period: Period, now: datetime, *, project_id: str | None = None, detailed: bool = True) -> list[dict[str, Any]]:
    """Each project's totals over the servers that lived in the period (by project, then server id; MAX_SERVERS at most)."""
    chosen = sorted((r for r in rows if in_period(r, period) and project_id in (None, r.project_id)),
                    key=lambda r: (r.project_id, r.instance_id))[:MAX_SERVERS]
    usages: dict[str, dict[str, Any]] = {}
    for row in chosen:
        server = server_usage(row, period, now)
        summary = usages.setdefault(row.project_id, {
            "tenant_id": row.project_id, "start": _time(period.start), "stop": _time(period.stop),
            "total_hours": 0.0, "total_vcpus_usage": 0.0, "total_memory_mb_usage": 0.0, "total_local_gb_usage": 0.0,
            **({"server_usages": []} if detailed else {}),
        })
        hours = server["hours"]
        summary["total_hours"] += hours
        summary["total_vcpus_usage"] += server["vcpus"] * hours
        summary["total_memory_mb_usage"] += server["memory_mb"] * hours
        summary["total_local_gb_usage"] += server["local_gb"] * hours
        if detailed:
            summary["server_usages"].append(server)
    return list(usages.values())
