"""`novalog schedule --explain`: where would this request go, and why not elsewhere."""

from __future__ import annotations

import json
import random
from pathlib import Path

import click


def _load(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{what} file {path}: {exc}") from exc


def _live_hosts():
    from novalog.events import topics
    from novalog.events.records import utcnow
    from novalog.scheduler.host_state import host_view
    from novalog.scheduler.table import HostTable
    from novalog.settings import get_settings

    settings = get_settings()
    table = HostTable(settings.kafka_bootstrap, settings.topic(topics.STATE_HOSTS), settings.topic(topics.HOST_HEARTBEATS)).start()
    try:
        now = utcnow()
        return [host_view(row, {}, now, settings.service_down_time) for row in table.rows()]
    finally:
        table.stop()


@click.command("schedule")
@click.option("--explain", is_flag=True, required=True, help="explain the decision (the only mode for now)")
@click.option("--request", "request_file", type=click.Path(exists=True, path_type=Path), required=True, help="RequestSpec JSON (Nova's names)")
@click.option("--hosts", "hosts_file", type=click.Path(exists=True, path_type=Path), help="HostState list JSON; default: the live host-state table")
@click.option("--options", "options_file", type=click.Path(exists=True, path_type=Path), help="scheduler options JSON")
@click.option("--json", "as_json", is_flag=True, help="print each filter's verdict per host and the weights as JSON")
@click.option("--seed", type=int, default=None, help="seed of the host_subset_size random pick")
def schedule(explain: bool, request_file: Path, hosts_file: Path | None, options_file: Path | None, as_json: bool, seed: int | None) -> None:
    """Where would this request be placed, and why not elsewhere?"""
    from novalog.scheduler.explain import explain as run
    from novalog.scheduler.explain import render
    from novalog.scheduler.nova_files import FileFormatError, sched_host_from_nova, spec_from_nova
    from novalog.scheduler.options import SchedulerOptions
    from novalog.scheduler.options_file import OptionsError, parse_options

    try:
        spec = spec_from_nova(_load(request_file, "request"))
        if hosts_file is not None:
            raw_hosts = _load(hosts_file, "hosts")
            if not isinstance(raw_hosts, list):
                raise FileFormatError("hosts: expected a JSON list of host states")
            hosts = [sched_host_from_nova(h) for h in raw_hosts]
        else:
            hosts = _live_hosts()
        options = parse_options(_load(options_file, "options")) if options_file else SchedulerOptions()
    except (FileFormatError, OptionsError, KeyError, TypeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        explanation = run(hosts, spec, options, random.Random(seed))
    except ValueError as exc:
        raise click.ClickException(f"the request is invalid: {exc}") from exc
    click.echo(json.dumps(explanation.to_json(), indent=2) if as_json else render(explanation))
