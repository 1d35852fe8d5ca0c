"""One export: a topic's window read (events/kafka/window.py), each record made a row (export_rows), the rows written (export_files).

A record that does not decode, or is not of the topic's types, is not a row:
it is counted and kept in the report with its position and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Message

from novalog.events.codec import HEADER, DecodeError, decode
from novalog.events.kafka.log import consumer_config
from novalog.events.kafka.window import WindowPlan, plan_window, read_window
from novalog.events.records import utcnow
from novalog.export_files import open_sink
from novalog.export_rows import ForeignRecord, LogPosition, TopicShape, flatten, flatten_tombstone, shape_of

BATCH = 5000


@dataclass(frozen=True, slots=True)
class Skipped:
    partition: int
    offset: int
    reason: str


@dataclass
class ExportReport:
    plan: WindowPlan
    rows: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def position_of(msg: Message) -> LogPosition:
    """Where Kafka kept the record, and the schema id of its header when it has one."""
    kind, ms = msg.timestamp()
    value, key = msg.value(), msg.key()
    framed = value is not None and len(value) >= HEADER.size and value[0] == 0
    return LogPosition(
        topic=msg.topic(), partition=msg.partition(), offset=msg.offset(),
        timestamp=datetime.fromtimestamp(ms / 1000, UTC) if ms >= 0 else None,
        key=key.decode("utf-8", "replace") if key is not None else None,
        schema_id=HEADER.unpack_from(value)[1] if framed else None,
    )


def row_of(msg: Message, shape: TopicShape) -> dict[str, Any]:
    """The message's row; DecodeError or ForeignRecord when it is not a record of the topic."""
    where = position_of(msg)
    if msg.value() is None:
        return flatten_tombstone(where, shape)
    return flatten(decode(msg.value()), where, shape)


class TopicExport:
    """One export of `<prefix>.<logical_topic>` over [since, until): planned when made, written by `write`."""

    def __init__(self, bootstrap: str, prefix: str, logical_topic: str, since: datetime | None, until: datetime | None) -> None:
        self.shape = shape_of(logical_topic)
        self.since, self.until = since, until
        self.consumer = Consumer(consumer_config(bootstrap, f"novalog-export-{uuid.uuid4()}"))
        try:
            self.plan = plan_window(self.consumer, f"{prefix}.{logical_topic}", logical_topic, since, until)
        except BaseException:
            self.consumer.close()
            raise

    def __enter__(self) -> TopicExport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.consumer.close()

    def metadata(self) -> dict[str, str]:
        return {
            "novalog.topic": self.plan.topic,
            "novalog.since": self.since.isoformat() if self.since else "",
            "novalog.until": self.until.isoformat() if self.until else "",
            "novalog.exported_at": utcnow().isoformat(),
        }

    def write(self, fmt: str, output: Path, advance: Callable[[int], None] = lambda n: None) -> ExportReport:
        """Read the plan's records and write their rows to `output`; `advance` hears of each record read."""
        report = ExportReport(self.plan)
        with open_sink(fmt, output, self.shape, self.metadata()) as sink:
            batch: list[dict[str, Any]] = []
            for msg in read_window(self.consumer, self.plan):
                try:
                    batch.append(row_of(msg, self.shape))
                except (DecodeError, ForeignRecord) as exc:
                    report.skipped.append(Skipped(msg.partition(), msg.offset(), str(exc)))
                if len(batch) >= BATCH:
                    sink.write(batch)
                    report.rows += len(batch)
                    batch.clear()
                advance(1)
            sink.write(batch)
            report.rows += len(batch)
        return report
