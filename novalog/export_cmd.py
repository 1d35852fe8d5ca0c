"""`novalog export`: one topic's records in a time window, as a Parquet or Avro file for analytics.

The work is in export_job (imported when the command runs, so other commands
do not pay for pyarrow). Records that cannot be read are listed on stderr and
the command ends with status 3 after writing the rest.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

FORMATS = ("parquet", "avro")
SKIPPED_STATUS = 3  # the file is written, but some records are not in it
SHOWN_SKIPS = 20


class IsoTime(click.ParamType):
    """An ISO 8601 time (`2025-05-01T12:00:00Z`, `2025-05-01 12:00`, `2025-05-01`); UTC when it names no zone."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time (for example 2025-05-01T12:00:00Z)", param, ctx)
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@click.command("export")
@click.option("--topic", required=True, help="logical topic, e.g. instance.events (the configured topic prefix is added)")
@click.option("--since", type=IsoTime(), default=None, help="first record time (Kafka timestamp); default: the beginning")
@click.option("--until", type=IsoTime(), default=None, help="records before this time; default: the end as of now")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
def export(topic: str, since: datetime | None, until: datetime | None, fmt: str, output: Path) -> None:
    """Write one topic's records, one flattened row each, to a Parquet or Avro file.

    Columns: kafka_topic, kafka_partition, kafka_offset, kafka_timestamp,
    kafka_key, schema_id, record_type, the envelope (event_id, event_type,
    occurred_at, producer, request_id, causation_id, schema_version), then
    the fields of every record type of the topic (null where a record has
    none); nested records, lists and maps are JSON text. Records that cannot
    be read are listed on stderr and the status is 3 (the file holds the rest).
    """
    if since and until and since >= until:
        raise click.BadParameter("--since must be before --until", param_hint="--since")
    from confluent_kafka import KafkaException

    from novalog.export_job import TopicExport
    from novalog.export_rows import UnknownTopic
    from novalog.settings import get_settings

    settings = get_settings()
    try:
        with TopicExport(settings.kafka_bootstrap, settings.topic_prefix, topic, since, until) as job:
            for note in job.plan.notes:
                click.secho(f"warning: {note}", fg="yellow", err=True)
            with click.progressbar(length=job.plan.total, label=f"reading {job.plan.topic}", file=sys.stderr,
                                   update_min_steps=max(1, job.plan.total // 200)) as bar:
                report = job.write(fmt, output, bar.update)
    except (UnknownTopic, LookupError, TimeoutError, KafkaException) as exc:
        raise click.ClickException(str(exc)) from exc
    spans = ", ".join(f"p{s.partition} {s.start}-{s.end}" for s in report.plan.spans if s.count) or "no records in the window"
    click.echo(f"wrote {report.rows} rows of {report.plan.topic} to {output} ({fmt}; offsets {spans})")
    if report.skipped:
        click.secho(f"{len(report.skipped)} records could not be read and are not in the file:", fg="red", err=True)
        for s in report.skipped[:SHOWN_SKIPS]:
            click.echo(f"  partition {s.partition} offset {s.offset}: {s.reason}", err=True)
        if len(report.skipped) > SHOWN_SKIPS:
            click.echo(f"  ... and {len(report.skipped) - SHOWN_SKIPS} more", err=True)
        sys.exit(SKIPPED_STATUS)
