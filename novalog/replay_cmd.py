"""`novalog replay` and `novalog state`: the commands (the work is in novalog/replay.py)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from novalog.export_cmd import IsoTime
from novalog.progress import log_progress

REPLAY_EXIT_DIFFERENT = 1


def row_json(row: Any) -> Any:
    from pydantic import TypeAdapter

    return None if row is None else TypeAdapter(type(row)).dump_python(row, mode="json")


def _projections(tables: tuple[str, ...]) -> list[Any]:
    from novalog.projections.registry import BY_TABLE, PROJECTIONS

    unknown = [t for t in tables if t not in BY_TABLE]
    if unknown:
        raise click.BadParameter(f"unknown table {unknown[0]!r}; tables: {', '.join(BY_TABLE)}", param_hint="--table")
    return [BY_TABLE[t] for t in tables] if tables else list(PROJECTIONS)


@click.command("replay")
@click.option("--table", "tables", multiple=True, help="rebuild only this table (repeatable); default: every table")
@click.option("--until", type=IsoTime(), default=None, help="rebuild only from records before this time (no comparison)")
@click.option("--limit", default=10, show_default=True, help="differing keys shown per table")
@click.option("--swap", is_flag=True, help="swap the rebuilt tables in for the live ones, atomically, once the projection worker is stopped")
@click.option("--wait", default=600.0, show_default=True, help="seconds --swap waits for the projection worker to stop")
def replay(tables: tuple[str, ...], until: datetime | None, limit: int, swap: bool, wait: float) -> None:
    """Rebuild every table from the log into a fresh store and compare it with the live tables.

    The rebuild folds the log with the live code up to where the live tables
    stand, and compares whole rows by a digest per table and key range.
    Prints the number of events, the rate, and per table `identical` or the
    first keys that differ with both rows. Exits 1 when a table differs.
    """
    from novalog import snapshots
    from novalog.replay import Cut, rebuild, replay_and_compare
    from novalog.settings import get_settings

    settings = get_settings()
    chosen = _projections(tables)
    if swap:
        if until is not None:
            raise click.UsageError("--swap rebuilds up to where the worker stands; it takes no --until")
        _swap(settings, chosen, wait)
        return
    with log_progress(quiet=False) as (progress, on_plan):
        if until is None:
            result, verdicts = replay_and_compare(settings.kafka_bootstrap, settings.topic_prefix, projections=chosen,
                                                  limit=limit, progress=progress, on_plan=on_plan)
        else:
            result, verdicts = rebuild(settings.kafka_bootstrap, settings.topic_prefix, projections=chosen, cut=Cut(until=until),
                                       progress=progress, on_plan=on_plan), []
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    rate = result.events / result.seconds if result.seconds > 0 else 0.0
    dead = sum(t.dead_letters for t in result.tables.values())
    click.echo(f"{result.events} events in {result.seconds:.2f} s = {rate:,.0f} events/s ({dead} dead letters, as the live worker had them)")
    where = snapshots.save(result, settings.state_dir, settings.topic_prefix)
    click.echo(f"rebuilt tables stored in {where}")
    different = False
    for c in verdicts:
        verdict = "identical" if c.identical else "DIFFERENT"
        click.echo(f"{c.table:<11} {c.rebuilt_rows:>7} rows  {verdict:<9}  rebuilt {c.rebuilt_digest[:16]}  live {c.live_digest[:16]} ({c.live_rows} rows)")
        for d in c.differences:
            click.echo(f"  key {d.key.decode(errors='replace')}: fields {', '.join(d.fields)}")
            click.echo(f"    rebuilt: {json.dumps(row_json(d.rebuilt), sort_keys=True)}")
            click.echo(f"    live:    {json.dumps(row_json(d.live), sort_keys=True)}")
        different = different or not c.identical
    if different:
        sys.exit(REPLAY_EXIT_DIFFERENT)


def _swap(settings: Any, chosen: list[Any], wait: float) -> None:
    from novalog.swap import WorkerStillRunning, rebuild_and_swap

    try:
        with log_progress(quiet=False) as (progress, on_plan):
            result, swapped = rebuild_and_swap(settings.kafka_bootstrap, settings.topic_prefix, chosen, patience=wait,
                                               tell=lambda line: click.echo(line, err=True), progress=progress, on_plan=on_plan)
    except WorkerStillRunning as exc:
        raise click.ClickException(str(exc)) from None
    for s in swapped:
        click.echo(f"{s.table:<11} swapped: {s.written} rows written, {s.deleted} removed, {s.unchanged} unchanged")
    click.echo(f"{result.events} events folded; start the projection worker again: it recovers the swapped tables from their changelogs")


def _host_line(row: Any) -> str:
    from novalog.events.capacity import used_by_claims

    used = used_by_claims(row)
    state = "disabled" if row.disabled else "up"
    return (f"{row.host:<14} {state:<8} {used.vcpus}/{row.vcpus}x{row.cpu_allocation_ratio:g}".ljust(40)
            + f"{used.memory_mb}/{row.memory_mb}x{row.ram_allocation_ratio:g}".ljust(24)
            + f"{used.disk_gb}/{row.disk_gb}x{row.disk_allocation_ratio:g}".ljust(16) + f"{len(row.claims)}")


def _instance_line(row: Any) -> str:
    status = row.vm_state + (f"/{row.task_state}" if row.task_state else "")
    return f"{row.instance_id:<38} {row.name[:16]:<16} {status:<22} {row.host or '-':<14} {row.flavor.name}"


@click.command("state")
@click.option("--at", "at", type=IsoTime(), default=None, help="the tables as they were at this time")
@click.option("--at-offset", "position", default=None, metavar="TOPIC:PARTITION:OFFSET",
              help="the tables just after this record (e.g. instance.events:3:120, as `novalog history` prints)")
@click.option("--table", "tables", multiple=True, type=click.Choice(["host_state", "instances"]),
              help="one of the tables (repeatable); default: hosts and instances")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per row, with its table")
@click.option("--no-snapshot", is_flag=True, help="fold from the beginning of the log, not from the furthest snapshot before the point")
def state(at: datetime | None, position: str | None, tables: tuple[str, ...], as_json: bool, no_snapshot: bool) -> None:
    """Show the host and instance tables as they were at a past moment (read-only: a replay up to it)."""
    from novalog import snapshots
    from novalog.replay import Cut, rebuild
    from novalog.settings import get_settings

    if (at is None) == (position is None):
        raise click.UsageError("give exactly one of --at TIME or --at-offset TOPIC:PARTITION:OFFSET")
    try:
        cut = Cut(until=at) if position is None else Cut.parse_position(position)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at-offset") from None
    chosen = tables or ("host_state", "instances")
    settings = get_settings()
    with log_progress(quiet=as_json) as (progress, on_plan):
        result = rebuild(settings.kafka_bootstrap, settings.topic_prefix, projections=_projections(chosen), cut=cut,
                         progress=progress, on_plan=on_plan, snapshots=None if no_snapshot else settings.state_dir)
    snapshots.save(result, settings.state_dir, settings.topic_prefix)
    for note in result.notes:
        if not as_json:
            click.echo(f"note: {note}", err=True)
    for name in chosen:
        rows = [result.tables[name].rows[k] for k in sorted(result.tables[name].rows)]
        if as_json:
            for row in rows:
                click.echo(json.dumps({"table": name, "row": row_json(row)}, sort_keys=True))
            continue
        if name == "host_state":
            click.echo(f"{'HOST':<14} {'STATE':<8} {'VCPUS used/total':<25}{'RAM_MB used/total':<24}{'DISK_GB':<16}CLAIMS")
            click.echo("\n".join(_host_line(r) for r in rows))
        else:
            click.echo(f"{'ID':<38} {'NAME':<16} {'STATUS':<22} {'HOST':<14} FLAVOR")
            click.echo("\n".join(_instance_line(r) for r in rows))
        click.echo()
