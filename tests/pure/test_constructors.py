"""The codec's generated constructors and dumpers give exactly what pydantic gives, for every record type.

The codec reads a record written with its current schema through a
constructor generated from the class's type hints, and writes through a
generated dumper (events/constructors.py), where it used pydantic's
TypeAdapter before. For any value of any record type (generated from the
type hints, every field drawn), both must agree to the last type: values are
compared by repr, so 1 and 1.0, a list and a tuple, or two dict orders differ.
"""

from __future__ import annotations

import dataclasses
import io
import types
import typing
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from fastavro.schema import parse_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from novalog.events.codec import HEADER, default_codec, load_entry_schema, read_manifest
from novalog.events.constructors import constructor, dumper
from novalog.events.state import STATE_TYPES
from novalog.events.types import EVENT_TYPES

RECORD_TYPES = (*EVENT_TYPES, *STATE_TYPES)
ADAPTERS = {cls: TypeAdapter(cls) for cls in RECORD_TYPES}

# timestamp-millis: aware UTC, whole milliseconds, over datetime's whole range
MILLIS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
SIMPLE = {
    str: st.text(max_size=4),
    int: st.integers(-(2**63), 2**63 - 1),
    float: st.floats(),  # NaN and the infinities too: repr compares them
    bool: st.booleans(),
    datetime: MILLIS,
}


def values_of(tp: Any, simple: dict[type, st.SearchStrategy] = SIMPLE) -> st.SearchStrategy:
    """Any value of a record field's type, read from the type hints as the codec's generator reads them."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | values_of(inner, simple)
    if origin is list:
        return st.lists(values_of(args[0], simple), max_size=2)
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), values_of(args[1], simple), max_size=2)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: st.deferred(lambda t=hints[f.name]: values_of(t, simple)) for f in dataclasses.fields(tp)})
    return simple[tp]


CURRENT = {entry.id: parse_schema(load_entry_schema(entry.file)) for entry in read_manifest()}


def current_schema(cls: type) -> Any:
    return CURRENT[default_codec().schema_id(cls)]


def written(cls: type, datum: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, current_schema(cls), datum, strict=True)
    return buf.getvalue()


def read_raw(cls: type, data: bytes) -> Any:
    """The dict fastavro reads from framed bytes with the record's current schema."""
    return fastavro.schemaless_reader(io.BytesIO(data[HEADER.size:]), current_schema(cls), None)


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
def test_a_record_of_the_current_schema_is_read_without_resolution_by_the_generated_constructor(cls) -> None:
    reading = default_codec()._readings[default_codec().schema_id(cls)]

    assert (reading.reader, reading.build) == (None, constructor(cls))


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_generated_constructor_and_dumper_give_what_pydantic_gives(cls, data) -> None:
    record, pydantic = data.draw(values_of(cls)), ADAPTERS[cls]
    theirs = pydantic.dump_python(record)
    ours = dumper(cls)(record)
    assert repr(ours) == repr(theirs)

    encoded = default_codec().encode(record)
    assert encoded[HEADER.size:] == written(cls, theirs)
    raw = read_raw(cls, encoded)
    assert repr(constructor(cls)(raw)) == repr(pydantic.validate_python(raw))
    assert repr(default_codec().decode(encoded)) == repr(pydantic.validate_python(raw))
