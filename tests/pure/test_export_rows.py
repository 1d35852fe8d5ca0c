"""The export's rows: columns from the topic map, one flat row per record, the same table in Parquet and Avro."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import click
import fastavro
import pyarrow.parquet as pq
import pytest

from builders import NOW, build_build_requested, build_deleted, build_flavor_created, build_instance_state, build_spawned
from novalog.events import topics
from novalog.events.records import Envelope, Flavor
from novalog.export_cmd import FORMATS, IsoTime
from novalog.export_files import SINKS, open_sink
from novalog.export_rows import (
    JSON,
    LONG,
    STRING,
    TIMESTAMP,
    ForeignRecord,
    LogPosition,
    UnknownTopic,
    columns_of,
    flatten,
    flatten_tombstone,
    kind_of,
    shape_of,
)

INSTANCES = shape_of(topics.INSTANCE_EVENTS)
KAFKA_TIME = NOW + timedelta(milliseconds=5)


def where(offset: int = 7, **fields: object) -> LogPosition:
    base = dict(topic="p.instance.events", partition=2, offset=offset, timestamp=KAFKA_TIME, key="instance-1", schema_id=12)
    return LogPosition(**{**base, **fields})


def test_an_event_is_one_row_of_log_position_envelope_and_its_own_fields() -> None:
    event = build_build_requested(metadata={"role": "db"}, instance_ids=["instance-1", "instance-2"])
    row = flatten(event, where(), INSTANCES)
    assert list(row) == list(INSTANCES.columns)
    present = {k: v for k, v in row.items() if v is not None}
    assert present == {
        "kafka_topic": "p.instance.events", "kafka_partition": 2, "kafka_offset": 7, "kafka_timestamp": KAFKA_TIME,
        "kafka_key": "instance-1", "schema_id": 12, "record_type": "novalog.instance.InstanceBuildRequested",
        "event_id": "build-instance-1", "event_type": "InstanceBuildRequested", "occurred_at": NOW, "producer": "tests",
        "request_id": "req-1", "schema_version": 1,
        "instance_id": "instance-1", "name": "vm-1", "project_id": "project-1", "user_id": "user-1",
        # nested values are JSON text with sorted keys; an empty map or list is still a value, not null
        "flavor": '{"description":null,"disk":1,"ephemeral":0,"extra_specs":{},"id":"flavor-1","is_public":true,'
                  '"name":"m1.tiny","ram":512,"rxtx_factor":1.0,"swap":0,"vcpus":1}',
        "image_ref": "image-1", "metadata": '{"role":"db"}', "scheduler_hints": "{}",
        "instance_ids": '["instance-1","instance-2"]', "min_count": 1, "image_properties": "{}", "force_hosts": "[]",
    }


def test_fields_another_event_type_has_are_null() -> None:
    row = flatten(build_deleted(), where(), INSTANCES)
    assert (row["host"], row["flavor"], row["image_ref"], row["power_state"]) == ("host-1", None, None, None)
    assert row["event_type"] == "InstanceDeleted"


def test_columns_keep_scalar_kinds_and_mark_nested_ones_json() -> None:
    columns = INSTANCES.columns
    assert list(columns)[:14] == [
        "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "kafka_key", "schema_id", "record_type",
        "event_id", "event_type", "occurred_at", "producer", "request_id", "causation_id", "schema_version",
    ]
    assert (columns["occurred_at"], columns["power_state"], columns["host"], columns["flavor"], columns["fault"]) == (
        TIMESTAMP, LONG, STRING, JSON, JSON)


@pytest.mark.parametrize(
    "avro_type, kind",
    [
        ("string", STRING),
        (["null", "long"], LONG),
        ({"type": "long", "logicalType": "timestamp-millis"}, TIMESTAMP),
        (["null", "novalog.common.Fault"], JSON),
        ({"type": "map", "values": "string"}, JSON),
        ({"type": "array", "items": "string"}, JSON),
    ],
    ids=["string", "nullable-long", "timestamp", "record", "map", "list"],
)
def test_kind_of_an_avro_type(avro_type: object, kind: str) -> None:
    assert kind_of(avro_type) == kind


@dataclass(frozen=True, slots=True)
class SizeAsNumber:
    FAMILY: ClassVar[str] = "test"
    envelope: Envelope
    size: int


@dataclass(frozen=True, slots=True)
class SizeAsFlavor:
    FAMILY: ClassVar[str] = "test"
    envelope: Envelope
    size: Flavor


def test_a_name_two_types_give_different_kinds_is_json_for_both() -> None:
    assert columns_of((SizeAsNumber,))["size"] == LONG
    assert columns_of((SizeAsNumber, SizeAsFlavor))["size"] == JSON


@pytest.mark.parametrize("topic", sorted({*topics.TOPIC_OF.values()} - {topics.AGENT_COMMANDS}) + ["agent.host-1"])
def test_every_topic_of_the_map_has_columns_without_clashes(topic: str) -> None:
    shape = shape_of(topic)
    assert shape.types and set(shape.columns) >= {"kafka_offset", "event_id", "record_type"}


def test_a_state_row_fills_the_request_id_column_itself_and_has_no_envelope() -> None:
    shape = shape_of(topics.STATE_INSTANCES)
    row = flatten(build_instance_state(request_id="req-9", launched_at=NOW), where(topic="p.state.instances"), shape)
    assert (row["request_id"], row["event_id"], row["occurred_at"], row["launched_at"]) == ("req-9", None, None, NOW)
    assert row["record_type"] == "novalog.state.InstanceState"


def test_a_tombstone_is_a_row_of_its_log_position_only() -> None:
    row = flatten_tombstone(where(), shape_of(topics.STATE_INSTANCES))
    assert {k for k, v in row.items() if v is not None} == {
        "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "kafka_key", "schema_id"}


def test_a_record_of_another_topic_is_refused_not_squeezed_in() -> None:
    with pytest.raises(ForeignRecord, match="FlavorCreated does not travel on instance.events"):
        flatten(build_flavor_created(), where(), INSTANCES)


def test_an_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(UnknownTopic, match="instance.events"):
        shape_of("instances")


def test_the_command_offers_every_file_format_there_is() -> None:
    assert FORMATS == tuple(SINKS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_parquet_and_avro_files_hold_the_same_table(fmt: str, tmp_path: Path) -> None:
    events = [build_build_requested(), build_spawned(), build_deleted(host=None)]
    rows = [flatten(e, where(offset=i), INSTANCES) for i, e in enumerate(events)]
    out = tmp_path / f"out.{fmt}"
    with open_sink(fmt, out, INSTANCES, {"novalog.topic": "p.instance.events"}) as sink:
        sink.write(rows[:2])
        sink.write(rows[2:])
    if fmt == "parquet":
        back = pq.read_table(out).to_pylist()
    else:
        with out.open("rb") as f:
            back = list(fastavro.reader(f))
    assert back == rows
    assert list(tmp_path.iterdir()) == [out]  # the temporary file became the output


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), open_sink("parquet", out, INSTANCES, {}) as sink:
        sink.write([flatten(build_build_requested(), where(), INSTANCES)])
        raise RuntimeError("reading broke")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "text, at",
    [
        ("2025-05-01T12:00:00Z", datetime(2025, 5, 1, 12, tzinfo=UTC)),
        ("2025-05-01 12:00", datetime(2025, 5, 1, 12, tzinfo=UTC)),  # no zone: UTC
        ("2025-05-01", datetime(2025, 5, 1, tzinfo=UTC)),
        ("2025-05-01T14:00:00+02:00", datetime(2025, 5, 1, 12, tzinfo=UTC)),
    ],
    ids=["zulu", "naive", "date", "offset"],
)
def test_times_are_iso_8601_and_utc_unless_zoned(text: str, at: datetime) -> None:
    assert IsoTime().convert(text, None, None) == at


def test_a_time_that_is_not_iso_8601_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter, match="not an ISO 8601 time"):
        IsoTime().convert("yesterday", None, None)
