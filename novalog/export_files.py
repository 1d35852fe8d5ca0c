"""The export's files: Parquet (pyarrow) or an Avro object container (fastavro), written in batches.

Both carry the rows of export_rows with the same column types: strings,
64-bit integers, doubles, booleans, timestamps in milliseconds (UTC), and
JSON text for nested values (the Parquet field metadata and the Avro field
doc say which columns are JSON). A file is written under a temporary name
beside the output and renamed into place only once complete, so a failed
export never leaves a file that looks whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

import fastavro
import fastavro.write
import pyarrow as pa
import pyarrow.parquet as pq

from novalog.export_rows import BOOLEAN, DOUBLE, JSON, LONG, STRING, TIMESTAMP, TopicShape

ARROW_TYPES = {
    STRING: pa.string(), LONG: pa.int64(), DOUBLE: pa.float64(), BOOLEAN: pa.bool_(),
    TIMESTAMP: pa.timestamp("ms", tz="UTC"), JSON: pa.string(),
}
AVRO_TYPES: dict[str, Any] = {
    STRING: "string", LONG: "long", DOUBLE: "double", BOOLEAN: "boolean",
    TIMESTAMP: {"type": "long", "logicalType": "timestamp-millis"}, JSON: "string",
}
JSON_NOTE = "JSON text"


class RowSink(Protocol):
    def write(self, rows: Sequence[dict[str, Any]]) -> None: ...


def arrow_schema(shape: TopicShape, metadata: dict[str, str]) -> pa.Schema:
    """The Parquet columns of a topic's rows, all nullable; JSON columns marked in their field metadata."""
    fields = [
        pa.field(name, ARROW_TYPES[kind], nullable=True, metadata={"novalog.kind": JSON_NOTE} if kind == JSON else None)
        for name, kind in shape.columns.items()
    ]
    return pa.schema(fields, metadata=metadata)


def avro_schema(shape: TopicShape) -> dict[str, Any]:
    """The Avro record of a topic's rows: every field a union with null, default null."""
    fields = []
    for name, kind in shape.columns.items():
        field: dict[str, Any] = {"name": name, "type": ["null", AVRO_TYPES[kind]], "default": None}
        if kind == JSON:
            field["doc"] = JSON_NOTE
        fields.append(field)
    return {
        "type": "record",
        "name": "Row_" + shape.topic.replace(".", "_").replace("-", "_"),
        "namespace": "novalog.export",
        "doc": f"One record of {shape.topic}, flattened",
        "fields": fields,
    }


class ParquetSink:
    def __init__(self, path: Path, shape: TopicShape, metadata: dict[str, str]) -> None:
        self.schema = arrow_schema(shape, metadata)
        self._writer = pq.ParquetWriter(str(path), self.schema)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self._writer.write_table(pa.Table.from_pylist(list(rows), schema=self.schema))

    def close(self) -> None:
        self._writer.close()


class AvroSink:
    def __init__(self, path: Path, shape: TopicShape, metadata: dict[str, str]) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        schema = fastavro.parse_schema(avro_schema(shape))
        self._writer = fastavro.write.Writer(self._file, schema, codec="deflate", metadata=metadata)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._writer.write(row)

    def close(self) -> None:
        self._writer.flush()
        self._file.close()


SINKS: dict[str, type[ParquetSink] | type[AvroSink]] = {"parquet": ParquetSink, "avro": AvroSink}


@contextmanager
def open_sink(fmt: str, output: Path, shape: TopicShape, metadata: dict[str, str]) -> Iterator[RowSink]:
    """A sink writing `fmt` rows to a temporary file that becomes `output` when the block ends without error."""
    if fmt not in SINKS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(SINKS)}")
    temporary = output.with_name(f".{output.name}.partial")
    sink = SINKS[fmt](temporary, shape, metadata)
    try:
        yield sink
        sink.close()
        os.replace(temporary, output)
    except BaseException:
        with suppress(Exception):
            sink.close()
        temporary.unlink(missing_ok=True)
        raise
