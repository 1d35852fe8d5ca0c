"""A log holding one record of every version of every record type, written with that version's own schema, replays.

Each record is written as a producer of its day wrote it: with the writer
schema the manifest keeps for its id (schemas/history/ for old versions),
framed with that id. The codec reads every one of them into today's type,
and nothing the old writer put in is lost on the way.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import fastavro
import pytest
from pydantic import TypeAdapter
from test_codec import EXAMPLES

from novalog.events.avro_shapes import full_name
from novalog.events.codec import HEADER, SCHEMAS_DIR, ManifestEntry, decode, load_entry_schema, read_manifest

MANIFEST = read_manifest()
EXAMPLE_BY_NAME = {full_name(cls): example for cls, example in EXAMPLES.items()}


def named_records(schema: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every record a schema defines, by full name (a later use names it without repeating it)."""
    if isinstance(schema, list):
        for branch in schema:
            named_records(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            found[schema["name"]] = schema
            for f in schema["fields"]:
                named_records(f["type"], found)
        for key in ("items", "values"):
            if key in schema:
                named_records(schema[key], found)
    return found


def fit(value: Any, schema: Any, named: dict[str, dict[str, Any]]) -> Any:
    """The value as an older writer schema holds it: only its fields, its defaults for what today's value lacks."""
    if isinstance(schema, str):
        return fit(value, named[schema], named) if schema in named else value
    if isinstance(schema, list):  # ["null", X]
        (branch,) = [b for b in schema if b != "null"]
        return None if value is None else fit(value, branch, named)
    kind = schema["type"]
    if kind == "record":
        return {
            f["name"]: fit(value[f["name"]] if f["name"] in value else f["default"], f["type"], named)
            for f in schema["fields"]
        }
    if kind == "array":
        return [fit(item, schema["items"], named) for item in value]
    if kind == "map":
        return {k: fit(v, schema["values"], named) for k, v in value.items()}
    return value


def as_written(entry: ManifestEntry) -> tuple[bytes, dict[str, Any], Any]:
    """The framed record a producer of this version wrote, the datum it wrote, and its writer schema."""
    example = EXAMPLE_BY_NAME[entry.name]
    writer = load_entry_schema(entry.file, SCHEMAS_DIR)
    datum = fit(TypeAdapter(type(example)).dump_python(example), writer, named_records(writer, {}))
    buf = io.BytesIO()
    buf.write(HEADER.pack(0, entry.id))
    fastavro.schemaless_writer(buf, fastavro.parse_schema(writer), datum, strict=True)
    return buf.getvalue(), datum, writer


LOG = [as_written(entry) for entry in MANIFEST]


def test_the_log_holds_every_version_of_every_record_and_every_kept_history_file() -> None:
    history = {p.relative_to(SCHEMAS_DIR).as_posix() for p in (SCHEMAS_DIR / "history").glob("*.avsc")}

    assert [HEADER.unpack_from(frame)[1] for frame, _, _ in LOG] == [e.id for e in MANIFEST]
    assert history <= {e.file for e in MANIFEST}
    assert any(e.file.startswith("history/") for e in MANIFEST), "no old version to replay"


@pytest.mark.parametrize(
    ("entry", "written"), list(zip(MANIFEST, LOG)), ids=[f"{e.id}-{e.name.rpartition('.')[2]}-v{e.version}" for e in MANIFEST]
)
def test_each_version_decodes_to_todays_type_keeping_what_it_wrote(entry, written) -> None:
    frame, datum, writer = written

    record = decode(frame)

    assert full_name(type(record)) == entry.name
    # read back and held to the old schema again, it is what the old producer wrote
    assert fit(TypeAdapter(type(record)).dump_python(record), writer, named_records(writer, {})) == datum


def test_the_whole_log_replays_in_order() -> None:
    records = [decode(frame) for frame, _, _ in LOG]

    assert Counter(full_name(type(r)) for r in records) == Counter(e.name for e in MANIFEST)


@pytest.mark.parametrize("name", ["novalog.agent.InstanceSpawnOrdered", "novalog.agent.InstanceMoveOrdered"])
def test_an_order_from_before_orders_carried_the_build_offset_reads_as_unnumbered(name: str) -> None:
    # v2 of each order had no build_offset: read today, it is -1, and the agent gives the guest its default name.
    (frame, _, writer), = [w for e, w in zip(MANIFEST, LOG) if e.name == name and e.version == 2]
    assert "build_offset" not in {f["name"] for f in writer["fields"]}
    assert decode(frame).build_offset == -1
