"""`novalog audit`: who did what, when, from the log; `--check` judges the whole log against the invariants."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from novalog.export_cmd import IsoTime

VIOLATION_STATUS = 2


def read_log(settings: Any, quiet: bool = False) -> list[Any]:
    """Every record of every event, command and dead-letter topic of the prefix, decoded where it can be."""
    from confluent_kafka import Consumer

    from novalog.events.codec import decode
    from novalog.events.kafka.log import consumer_config
    from novalog.events.kafka.window import plan_window, read_window
    from novalog.progress import log_progress
    from novalog.projections.audit import Entry

    prefix = settings.topic_prefix
    consumer = Consumer(consumer_config(settings.kafka_bootstrap, f"novalog-audit-{uuid.uuid4()}"))
    entries: list[Entry] = []
    try:
        names = sorted(t for t in consumer.list_topics(timeout=10).topics if _is_log_topic(t, prefix))
        plans = [plan_window(consumer, name, name[len(prefix) + 1:], None, None) for name in names]
        with log_progress(quiet) as (advance, on_plan):
            on_plan(sum(p.total for p in plans))
            for plan in plans:
                logical = plan.topic[len(prefix) + 1:]
                for msg in read_window(consumer, plan):
                    entries.append(_entry(Entry, decode, logical, msg))
                    advance(1)
    finally:
        consumer.close()
    return entries


def _is_log_topic(name: str, prefix: str) -> bool:
    """Event, command and dead-letter topics; not the tables' state topics nor Faust's changelogs."""
    if not name.startswith(f"{prefix}.") or name.endswith("-changelog"):
        return False
    return not name[len(prefix) + 1:].startswith("state.")


def _entry(entry_type: Any, decode: Any, logical: str, msg: Any) -> Any:
    record, error = None, None
    if msg.value() is not None and not logical.endswith(".dlq"):
        try:
            record = decode(msg.value())
        except Exception as exc:  # judged by the audit: it must sit in the dead-letter topic
            error = str(exc)
    headers = {k: (v or b"").decode(errors="replace") for k, v in (msg.headers() or [])}
    stamp = datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC)
    return entry_type(logical, msg.partition(), msg.offset(), stamp, msg.key(), msg.value(), record, error, headers)


def _who(entries: list[Any]) -> dict[str, tuple[str, str]]:
    """Each instance's project and user, from the request that built it."""
    from novalog.events.types.instance import InstanceBuildRequested

    return {e.record.instance_id: (e.record.project_id, e.record.user_id) for e in entries if isinstance(e.record, InstanceBuildRequested)}


def describe(entry: Any, who: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """One audit line: when, where, what, who asked, about which instance or host."""
    record = entry.record
    envelope = getattr(record, "envelope", None)
    instance = getattr(record, "instance_id", None)
    project, user = who.get(instance or "", (None, None))
    return {
        "time": (envelope.occurred_at if envelope else entry.timestamp).isoformat(),
        "position": entry.position,
        "type": type(record).__name__ if record is not None else "undecodable",
        "project": getattr(record, "project_id", None) or project,
        "user": getattr(record, "user_id", None) or user,
        "host": getattr(record, "host", None),
        "instance": instance,
        "request_id": envelope.request_id if envelope else None,
        "event_id": envelope.event_id if envelope else None,
    }


def _selected(rows: list[dict[str, Any]], project: str | None, user: str | None, host: str | None, types: tuple[str, ...],
              since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
    for row in sorted(rows, key=lambda r: (r["time"], r["position"])):
        at = datetime.fromisoformat(row["time"])
        if (project and row["project"] != project) or (user and row["user"] != user) or (host and row["host"] != host):
            continue
        if (types and row["type"] not in types) or (since and at < since) or (until and at >= until):
            continue
        yield row


@click.command("audit")
@click.option("--check", "check_", is_flag=True, help="verify the invariants over the whole log; exit 2 on a violation")
@click.option("--grace", default=60.0, show_default=True, help="seconds a request may still be in flight at the end of the log (--check)")
@click.option("--project", default=None)
@click.option("--user", default=None)
@click.option("--host", default=None)
@click.option("--type", "types", multiple=True, help="event type, e.g. InstanceDeleteRequested (repeatable)")
@click.option("--since", type=IsoTime(), default=None)
@click.option("--until", type=IsoTime(), default=None)
@click.option("--json", "as_json", is_flag=True, help="JSON lines")
def audit(check_: bool, grace: float, project: str | None, user: str | None, host: str | None, types: tuple[str, ...],
          since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Who did what, when: the log's events filtered by project, user, host, type and time; or --check the invariants."""
    from novalog.settings import get_settings

    settings = get_settings()
    entries = read_log(settings, quiet=as_json)
    if check_:
        _check(entries, settings, grace, as_json)
        return
    who = _who(entries)
    rows = [describe(e, who) for e in entries if not e.topic.endswith(".dlq")]
    for row in _selected(rows, project, user, host, types, since, until):
        if as_json:
            click.echo(json.dumps(row, sort_keys=True))
        else:
            click.echo(f"{row['time'][:23]:<24} {row['type']:<26} {row['project'] or '-':<12} {row['user'] or '-':<10} "
                       f"{row['host'] or '-':<10} {row['instance'] or '-':<37} {row['position']}")


def _check(entries: list[Any], settings: Any, grace: float, as_json: bool) -> None:
    from novalog.projections.audit import check

    end = max((e.timestamp for e in entries), default=datetime.now(UTC))
    violations = check(entries, prefix=settings.topic_prefix, quota_defaults=settings.quota_defaults,
                       grace=timedelta(seconds=grace), end=max(end, datetime.now(UTC)))
    for v in violations:
        if as_json:
            click.echo(json.dumps({"invariant": v.invariant, "message": v.message, "evidence": list(v.evidence)}))
        else:
            click.echo(f"VIOLATION {v.invariant}: {v.message}")
            for line in v.evidence:
                click.echo(f"    {line}")
    summary = f"{len(entries)} records checked: {len(violations)} violation{'s' if len(violations) != 1 else ''}"
    click.echo(summary, err=as_json)
    if violations:
        sys.exit(VIOLATION_STATUS)
