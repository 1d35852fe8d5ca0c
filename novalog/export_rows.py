"""One flat row per record, for analytics files: where Kafka kept it, its envelope, its own fields.

A topic's columns come from the record types the topic map puts on it, not
from the data, so every export of a topic has the same columns whatever its
window holds; a column a record does not have is null. Scalars keep their
type (string, long, double, boolean, timestamp); records, lists and maps are
JSON text with sorted keys. That way the Parquet and the Avro export of a
window are the same table, and a field that is a string in one event type and
a record in another is still one column (JSON text for every row).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from novalog.events import topics
from novalog.events.avro_shapes import full_name, schema_of
from novalog.events.codec import RECORD_TYPES
from novalog.events.records import Envelope

STRING, LONG, DOUBLE, BOOLEAN, TIMESTAMP, JSON = "string", "long", "double", "boolean", "timestamp", "json"

# Where the record was in the log, first in every row.
LOG_COLUMNS: dict[str, str] = {
    "kafka_topic": STRING,
    "kafka_partition": LONG,
    "kafka_offset": LONG,
    "kafka_timestamp": TIMESTAMP,
    "kafka_key": STRING,
    "schema_id": LONG,  # the Schema Registry id in the record's 5-byte header: the writer's schema version
    "record_type": STRING,  # the Avro full name, e.g. novalog.instance.InstanceBuildRequested
}


class UnknownTopic(ValueError):
    """The name is not a topic of the topic map."""


class ForeignRecord(ValueError):
    """A record decoded, but its type does not travel on the topic it was read from."""


@dataclass(frozen=True, slots=True)
class TopicShape:
    """A logical topic's record types and the columns of its rows."""

    topic: str
    types: tuple[type, ...]
    columns: dict[str, str]


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where Kafka kept a record and how it was framed."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    key: str | None
    schema_id: int | None


def record_types(logical_topic: str) -> tuple[type, ...]:
    """The record types the topic map puts on a logical topic (`instance.events`, `agent.<host>`, `state.hosts`)."""
    mapped = topics.AGENT_COMMANDS if logical_topic.startswith(f"{topics.AGENT_COMMANDS}.") else logical_topic
    found = tuple(cls for cls in RECORD_TYPES if topics.TOPIC_OF.get(cls) == mapped)
    if not found:
        known = sorted({*topics.TOPIC_OF.values()} - {topics.AGENT_COMMANDS}) + [f"{topics.AGENT_COMMANDS}.<host>"]
        raise UnknownTopic(f"no records travel on {logical_topic!r}; topics: {', '.join(known)}")
    return found


def kind_of(avro_type: Any) -> str:
    """The column kind of a field's Avro type: its scalar kind, or JSON for records, lists and maps."""
    if isinstance(avro_type, list):  # ["null", X]: every column is nullable anyway
        (inner,) = [t for t in avro_type if t != "null"]
        return kind_of(inner)
    if isinstance(avro_type, dict):
        return TIMESTAMP if avro_type.get("logicalType") == "timestamp-millis" else JSON
    return {"string": STRING, "long": LONG, "double": DOUBLE, "boolean": BOOLEAN}.get(avro_type, JSON)


def _fields(cls: type) -> dict[str, str]:
    return {f["name"]: kind_of(f["type"]) for f in schema_of(cls)["fields"] if f["name"] != "envelope"}


def columns_of(types: tuple[type, ...]) -> dict[str, str]:
    """Column name to kind for rows of these record types: log columns, envelope, then each type's fields.

    A name two types give different kinds is JSON for both; a state row's own
    `request_id` shares the envelope's column, as it means the same.
    """
    columns = {**LOG_COLUMNS, **_fields(Envelope)}
    for cls in types:
        for name, kind in _fields(cls).items():
            if name in LOG_COLUMNS:
                raise ValueError(f"{cls.__name__}.{name} would hide the log column {name}")
            known = columns.setdefault(name, kind)
            if known != kind:
                columns[name] = JSON
    return columns


def shape_of(logical_topic: str) -> TopicShape:
    """The record types and columns of an export of `logical_topic`."""
    types = record_types(logical_topic)
    return TopicShape(logical_topic, types, columns_of(types))


def _cell(value: Any, kind: str) -> Any:
    if value is None or kind != JSON:
        return value
    return json.dumps(to_jsonable_python(value), sort_keys=True, separators=(",", ":"))


def _log_row(where: LogPosition, columns: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(columns)
    row.update(
        kafka_topic=where.topic, kafka_partition=where.partition, kafka_offset=where.offset,
        kafka_timestamp=where.timestamp, kafka_key=where.key, schema_id=where.schema_id,
    )
    return row


def flatten_tombstone(where: LogPosition, shape: TopicShape) -> dict[str, Any]:
    """A compacted topic's deletion marker (no value): a row with only its log columns, record_type null."""
    return _log_row(where, shape.columns)


def flatten(record: Any, where: LogPosition, shape: TopicShape) -> dict[str, Any]:
    """The record as one row of the topic's columns: log position, envelope fields, own fields; null where it has none."""
    if type(record) not in shape.types:
        raise ForeignRecord(f"a {type(record).__name__} does not travel on {shape.topic}")
    columns = shape.columns
    row = _log_row(where, columns)
    row["record_type"] = full_name(type(record))
    envelope = getattr(record, "envelope", None)
    own = {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "envelope"}
    if envelope is not None:
        clash = own.keys() & {f.name for f in dataclasses.fields(Envelope)}
        if clash:
            raise ValueError(f"{type(record).__name__} has fields named like its envelope's: {sorted(clash)}")
        own = {**{f.name: getattr(envelope, f.name) for f in dataclasses.fields(Envelope)}, **own}
    for name, value in own.items():
        row[name] = _cell(value, columns[name])
    return row
