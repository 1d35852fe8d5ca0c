"""The generated Avro writers (events/writers.py) write fastavro's bytes, or step aside.

For any value of any record type, the writer generated from the current
schema gives byte for byte what the dumper and fastavro give. Values it
does not handle (an int where a double is due, a naive datetime) make it
raise, and the codec then writes them with fastavro: the same bytes, or the
same error, as before.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_constructors import RECORD_TYPES, current_schema, values_of

from builders import build_heartbeat, build_host_state
from novalog.events.avro_shapes import COMMON_RECORDS, full_name
from novalog.events.codec import HEADER, default_codec, encode
from novalog.events.constructors import dumper
from novalog.events.writers import Unwritten, long_bytes, writer

CLASSES = {full_name(cls): cls for cls in (*RECORD_TYPES, *COMMON_RECORDS)}
WRITERS = {cls: writer(current_schema(cls), CLASSES) for cls in RECORD_TYPES}


def fastavro_bytes(record) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, current_schema(type(record)), dumper(type(record))(record), strict=True)
    return buf.getvalue()


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_generated_writer_writes_fastavros_bytes(cls, data) -> None:
    record = data.draw(values_of(cls))
    out = bytearray()

    WRITERS[cls](record, out)

    assert bytes(out) == fastavro_bytes(record)
    assert encode(record) == HEADER.pack(0, default_codec().schema_id(cls)) + bytes(out)


@pytest.mark.parametrize(
    "n", [0, -1, 1, 63, -64, 64, 2**31, -(2**63), 2**63 - 1], ids=lambda n: str(n)
)
def test_long_bytes_is_avros_zigzag_varint(n) -> None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, "long", n)

    assert long_bytes(n) == buf.getvalue()


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(build_host_state(cpu_allocation_ratio=4), id="int-in-a-double"),
        pytest.param(build_heartbeat(at=datetime(2026, 1, 2, 3, 4, 5)), id="naive-datetime"),
        pytest.param(build_host_state(claims=()), id="tuple-for-an-array"),
    ],
)
def test_a_value_the_writer_does_not_handle_is_written_by_fastavro(record) -> None:
    # A tuple is still the plain case for an array; the other two make the generated writer step aside.
    try:
        WRITERS[type(record)](record, bytearray())
    except Unwritten:
        pass

    assert encode(record) == HEADER.pack(0, default_codec().schema_id(type(record))) + fastavro_bytes(record)


def test_a_value_neither_writer_takes_is_refused_as_before() -> None:
    record = replace(build_host_state(), host=None)

    with pytest.raises(Exception) as refused:
        encode(record)

    with pytest.raises(type(refused.value)):
        fastavro_bytes(record)
