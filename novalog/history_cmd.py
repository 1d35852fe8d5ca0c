"""`novalog history SERVER`: every event of one instance, in order, across topics.

The story is built in projections/history.py (pure); this module reads the
log into it and prints it. The log reader reads whole topics and keeps what
concerns the instance: instance.events first (a name becomes an id from its
build there; the hosts its claims and guests name come from there and from
host.events), then host.events and quota.events (folded whole, for the room
each claim was judged against and the quota decision), the dead-letter
topics, and last the agent topics of the hosts involved. Reading only the
instance's partition (murmur2 of its key) would be faster; not done yet.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from novalog.progress import log_progress


def _logged(msg: Any, prefix: str) -> Any:
    from novalog.events.codec import DecodeError, decode
    from novalog.projections.history import Logged

    def logical(name: str) -> str:
        return name[len(prefix) + 1:] if name.startswith(f"{prefix}.") else name

    try:
        record = None if msg.value() is None else decode(msg.value())
    except DecodeError:
        record = None
    headers = {name: (value or b"").decode(errors="replace") for name, value in msg.headers() or []}
    if "dlq.original.topic" in headers:
        headers["dlq.original.topic"] = logical(headers["dlq.original.topic"])
    key = None if msg.key() is None else msg.key().decode(errors="replace")
    return Logged(logical(msg.topic()), msg.partition(), msg.offset(), key, datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC),
                  record, headers)


def read_story(bootstrap: str, prefix: str, server: str, progress: Callable[[int], None] | None = None,
               on_plan: Callable[[int], None] | None = None) -> tuple[Any, list[str]]:
    """The story of SERVER gathered from the log as it stands now, and what the log lacks (retention)."""
    from confluent_kafka import Consumer

    from novalog.events import topics
    from novalog.events.kafka.log import consumer_config
    from novalog.projections.history import Story

    consumer = Consumer(consumer_config(bootstrap, f"novalog-history-{uuid.uuid4()}", **{"enable.partition.eof": False}))
    story, notes = Story(server), list[str]()
    try:
        existing = set(consumer.list_topics(timeout=10).topics)
        first = (topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.QUOTA_EVENTS)
        _read(consumer, prefix, [*first, *map(topics.dead_letter, first)], existing, story, notes, progress, on_plan)
        agents = [f"{topics.AGENT_COMMANDS}.{host}" for host in story.hosts()]
        _read(consumer, prefix, [*agents, *map(topics.dead_letter, agents)], existing, story, notes, progress, on_plan)
    finally:
        consumer.close()
    return story, notes


def _read(consumer: Any, prefix: str, names: Sequence[str], existing: set[str], story: Any, notes: list[str],
          progress: Callable[[int], None] | None, on_plan: Callable[[int], None] | None) -> None:
    """Feed the story every record of these topics (those that exist), one topic after another."""
    from novalog.events.kafka.window import plan_window, read_window

    plans = [plan_window(consumer, f"{prefix}.{name}", name, None, None) for name in names if f"{prefix}.{name}" in existing]
    if on_plan is not None:
        on_plan(sum(p.total for p in plans))
    for plan in plans:
        notes.extend(plan.notes)
        done = 0
        for msg in read_window(consumer, plan):
            story.feed(_logged(msg, prefix))
            done += 1
            if progress is not None and done % 2000 == 0:
                progress(2000)
        if progress is not None:
            progress(done % 2000)


def _time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _delta(since: timedelta | None) -> str:
    if since is None:
        return ""
    seconds = since.total_seconds()
    return f"{'-' if seconds < 0 else '+'}{abs(seconds):.3f}s"


def step_json(step: Any) -> dict[str, Any]:
    """One step as a JSON object (a line of `novalog history --json`)."""
    return {
        "at": _time(step.at),
        "since_previous_s": None if step.since_previous is None else step.since_previous.total_seconds(),
        "event": step.event,
        "position": step.position,
        "topic": step.topic,
        "partition": step.partition,
        "offset": step.offset,
        "producer": step.producer,
        "request_id": step.request_id,
        "user_id": step.user_id,
        "project_id": step.project_id,
        "detail": step.detail,
        **step.facts,
    }


def table_lines(steps: Sequence[Any]) -> list[str]:
    """The readable form: per step a line with time, +delta, event, position, request and who asked, then its detail."""
    lines = [f"{'TIME':<24} {'+DELTA':>9}  {'EVENT':<26} {'POSITION':<30} REQUEST (USER / PROJECT)"]
    for step in steps:
        who = f" ({step.user_id or '-'} / {step.project_id or '-'})" if step.request_id else ""
        lines.append(f"{_time(step.at):<24} {_delta(step.since_previous):>9}  {step.event:<26} {step.position:<30} {step.request_id or '-'}{who}")
        lines.append(f"    {step.detail}")
    return lines


@click.command("history")
@click.argument("server")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per step (JSON lines)")
def history(server: str, as_json: bool) -> None:
    """Every event of one server, in order, across topics: request, quota decision, placement, claims, orders, guest, faults.

    SERVER is an instance id, or the name it was built under if only one
    instance had it. Each step shows its time, the time since the previous
    step, its log position (TOPIC:PARTITION:OFFSET, as `novalog state
    --at-offset` takes it), the request and who asked, and what it says.
    """
    from novalog.projections.history import AmbiguousServer, ServerNotFound
    from novalog.settings import get_settings

    settings = get_settings()
    with log_progress(quiet=as_json) as (progress, on_plan):
        story, notes = read_story(settings.kafka_bootstrap, settings.topic_prefix, server, progress, on_plan)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    try:
        steps = story.steps()
    except (ServerNotFound, AmbiguousServer) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        for step in steps:
            click.echo(json.dumps(step_json(step), sort_keys=True))
        return
    click.echo("\n".join(table_lines(steps)))
