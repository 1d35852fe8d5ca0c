"""Avro encoding of events and table rows, framed as the Schema Registry does.

Byte 0 is 0, bytes 1-4 the schema id (big-endian), then the Avro body.
Ids come from schemas/manifest.json and are permanent. Decoding resolves the
writer's schema (by id) against the current one for that record name, so
records written by older schema versions still decode.

The common case is fast: every schema is parsed once; a record written with
its name's current schema (nearly every record) is read by a reader
generated from that schema (events/readers.py), or, if it is not the plain
case that reader handles, by fastavro without resolution and a constructor
generated from the type hints (events/constructors.py); only older versions
go through fastavro's resolution and pydantic's validation, as they always
did. Encoding is the mirror: a writer generated from the current schema
(events/writers.py) writes the record object, and a record it does not
handle is dumped with a generated dumper and written by fastavro.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.repository.flat_dict import FlatDictRepository
from fastavro.schema import fingerprint, load_schema, parse_schema, to_parsing_canonical_form
from pydantic import TypeAdapter

from novalog.events.avro_shapes import COMMON_RECORDS, full_name
from novalog.events.constructors import constructor, dumper
from novalog.events.readers import reader
from novalog.events.state import STATE_TYPES
from novalog.events.types import EVENT_TYPES
from novalog.events.writers import writer

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
HEADER = struct.Struct(">bI")
RECORD_TYPES: tuple[type, ...] = (*EVENT_TYPES, *STATE_TYPES)


class DecodeError(ValueError):
    """The bytes are not a record this project can read."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    id: int
    subject: str
    name: str
    version: int
    file: str
    fingerprint: str


def read_manifest(schemas_dir: Path = SCHEMAS_DIR) -> list[ManifestEntry]:
    raw = json.loads((schemas_dir / "manifest.json").read_text())
    return [ManifestEntry(**entry) for entry in raw["schemas"]]


def load_entry_schema(file: str, schemas_dir: Path = SCHEMAS_DIR) -> Any:
    """Parse a manifest file (`X.avsc` or `history/X.vN.avsc`); named types resolve from `schemas_dir`."""
    repo = FlatDictRepository(str(schemas_dir))  # type: ignore[no-untyped-call]  # fastavro leaves its __init__ unannotated
    return load_schema(str(Path(file).with_suffix("")), repo=repo, _write_hint=False)


def schema_fingerprint(path: Path, schemas_dir: Path | None = None) -> str:
    """CRC-64-AVRO of the schema's parsing canonical form (what the manifest pins)."""
    base = schemas_dir or path.parent
    schema = load_entry_schema(str(path.relative_to(base)), base)
    return fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")


@dataclass(frozen=True, slots=True)
class _Reading:
    """How the records of one schema id are read: the writer's parsed schema, the reader's (None: the same), the builder,
    and the generated reader tried first (None: fastavro alone)."""

    name: str
    writer: Any
    reader: Any
    build: Callable[[Any], Any]
    fast: Callable[[bytes, int], tuple[Any, int]] | None = None


def _no_type(name: str) -> Callable[[Any], Any]:
    def refuse(raw: Any) -> Any:
        raise LookupError(f"no record type is named {name}")

    return refuse


class Codec:
    """Encodes the project's frozen records to framed Avro and back."""

    def __init__(self, schemas_dir: Path = SCHEMAS_DIR) -> None:
        self._classes = {full_name(cls): cls for cls in RECORD_TYPES}
        self._all_classes = {full_name(cls): cls for cls in (*RECORD_TYPES, *COMMON_RECORDS)}
        self._adapters: dict[type, TypeAdapter[Any]] = {cls: TypeAdapter(cls) for cls in RECORD_TYPES}
        writers: dict[int, tuple[str, Any]] = {}
        self._current: dict[str, tuple[int, Any]] = {}
        for entry in read_manifest(schemas_dir):
            schema = parse_schema(load_entry_schema(entry.file, schemas_dir))
            writers[entry.id] = (entry.name, schema)
            latest = self._current.get(entry.name)
            if latest is None or entry.id > latest[0]:
                self._current[entry.name] = (entry.id, schema)
        missing = set(self._classes) - set(self._current)
        if missing:
            raise RuntimeError(f"records without a schema in the manifest: {sorted(missing)}")
        self._readings = {schema_id: self._reading(schema_id, name, schema) for schema_id, (name, schema) in writers.items()}
        self._dumpers = {cls: (self._current[full_name(cls)], dumper(cls)) for cls in RECORD_TYPES}
        self._writers = {cls: _writer_or_none(self._current[full_name(cls)][1], self._all_classes) for cls in RECORD_TYPES}

    def _reading(self, schema_id: int, name: str, writer: Any) -> _Reading:
        current_id, current = self._current[name]
        cls = self._classes.get(name)
        if cls is None:
            return _Reading(name, writer, current, _no_type(name))
        if schema_id == current_id:
            return _Reading(name, writer, None, constructor(cls), reader(writer, self._all_classes))
        return _Reading(name, writer, current, self._adapters[cls].validate_python)

    def schema_id(self, cls: type) -> int:
        return self._current[full_name(cls)][0]

    def encode(self, record: Any) -> bytes:
        """Framed Avro bytes of a record; unknown or missing fields raise ValueError."""
        (schema_id, schema), dump = self._dumpers[type(record)]
        fast = self._writers[type(record)]
        if fast is not None:
            out = bytearray(HEADER.pack(0, schema_id))
            try:
                fast(record, out)
            except Exception:  # noqa: BLE001 - not the plain case: fastavro writes it, or says why it cannot
                pass
            else:
                return bytes(out)
        buf = io.BytesIO()
        buf.write(HEADER.pack(0, schema_id))
        fastavro.schemaless_writer(buf, schema, dump(record), strict=True)
        return buf.getvalue()

    def decode(self, data: bytes | None) -> Any:
        """The record in framed Avro bytes, or DecodeError saying why not."""
        if data is None or len(data) < HEADER.size:
            raise DecodeError("shorter than the 5-byte header")
        magic, schema_id = HEADER.unpack_from(data)
        reading = self._readings.get(schema_id)
        if magic != 0 or reading is None:
            raise DecodeError(f"not a novalog record: magic byte {magic}, schema id {schema_id}")
        if reading.fast is not None:
            try:
                record, end = reading.fast(data, HEADER.size)
            except Exception:  # noqa: BLE001 - not the plain case: fastavro reads it, or says why it cannot
                pass
            else:
                if end == len(data):
                    return record
        buf = io.BytesIO(data)
        buf.seek(HEADER.size)
        try:
            raw = fastavro.schemaless_reader(buf, reading.writer, reading.reader)
        except Exception as exc:  # fastavro raises EOFError, UnicodeDecodeError, SchemaResolutionError...
            raise DecodeError(f"{reading.name} (schema id {schema_id}): {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise DecodeError(f"{reading.name} (schema id {schema_id}): {len(data) - buf.tell()} trailing bytes")
        try:
            return reading.build(raw)
        except Exception as exc:
            raise DecodeError(f"{reading.name}: {exc}") from exc


def _writer_or_none(schema: Any, classes: dict[str, type]) -> Callable[[Any, bytearray], None] | None:
    """The generated writer of a schema, or None where its shapes are beyond the generator (fastavro alone then)."""
    try:
        return writer(schema, classes)
    except TypeError:
        return None


@cache
def default_codec() -> Codec:
    return Codec()


def encode(record: Any) -> bytes:
    return default_codec().encode(record)


def decode(data: bytes | None) -> Any:
    return default_codec().decode(data)
