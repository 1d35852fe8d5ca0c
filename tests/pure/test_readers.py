"""The generated Avro readers (events/readers.py) give what fastavro and the constructors give, or step aside.

For any value of any record type, the reader generated from the current
schema reads the encoded bytes into the very record fastavro's dict and the
generated constructor make (compared by repr: types, float signs and dict
orders count). Valid Avro it does not handle (a block with a negative count,
a ten-byte varint) and bad bytes make it raise, and the codec then reads them
with fastavro: the same record, or the same DecodeError as before.
"""

from __future__ import annotations

import io
import struct

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_constructors import RECORD_TYPES, SIMPLE, current_schema, read_raw, values_of

from builders import build_envelope, build_extra_specs_set, build_flavor_deleted, build_heartbeat
from novalog.events.avro_shapes import COMMON_RECORDS, full_name
from novalog.events.codec import HEADER, DecodeError, default_codec, encode
from novalog.events.constructors import constructor
from novalog.events.readers import reader
from novalog.events.types import HostHeartbeatReported

CLASSES = {full_name(cls): cls for cls in (*RECORD_TYPES, *COMMON_RECORDS)}
READERS = {cls: reader(current_schema(cls), CLASSES) for cls in RECORD_TYPES}
# Longs whose varint is at most nine bytes: the generated reader leaves longer ones to fastavro (tested apart).
NINE_BYTE_LONGS = {**SIMPLE, int: st.integers(-(2**62), 2**62 - 1)}


def zigzag(n: int) -> bytes:
    """Avro's long: zigzag, then base-128 varint."""
    z, out = (n << 1) ^ (n >> 63), bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    return bytes(out + bytes([z]))


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_generated_reader_reads_what_fastavro_and_the_constructor_read(cls, data) -> None:
    encoded = encode(data.draw(values_of(cls, NINE_BYTE_LONGS)))

    record, end = READERS[cls](encoded, HEADER.size)

    assert end == len(encoded)
    assert repr(record) == repr(constructor(cls)(read_raw(cls, encoded)))


def test_a_block_with_a_negative_count_is_valid_avro_and_decodes_through_fastavro() -> None:
    # extra_specs {"a": "b"} as one block of -1 items with its byte size, as some writers write maps
    record = build_extra_specs_set(extra_specs={"a": "b"})
    plain = encode(record)
    entry = zigzag(1) + b"a" + zigzag(1) + b"b"
    block = zigzag(-1) + zigzag(len(entry)) + entry + zigzag(0)
    sized = plain.replace(zigzag(1) + entry + zigzag(0), block)
    assert sized != plain

    with pytest.raises(Exception):
        READERS[type(record)](sized, HEADER.size)
    assert default_codec().decode(sized) == record


def test_a_ten_byte_varint_decodes_through_fastavro() -> None:
    record = build_heartbeat(envelope=build_envelope(HostHeartbeatReported, schema_version=-(2**63)))
    encoded = encode(record)

    with pytest.raises(Exception):
        READERS[type(record)](encoded, HEADER.size)
    assert default_codec().decode(encoded) == record


@pytest.mark.parametrize("body", [b"\x04", b"\x7f\xff", b""], ids=["union-branch-2", "negative-length", "empty"])
def test_bytes_the_reader_refuses_get_fastavros_verdict(body) -> None:
    data = struct.pack(">bI", 0, default_codec().schema_id(type(build_flavor_deleted()))) + body
    buf = io.BytesIO(body)

    with pytest.raises(DecodeError) as refused:
        default_codec().decode(data)
    try:
        fastavro.schemaless_reader(buf, current_schema(type(build_flavor_deleted())), None)
    except Exception as exc:  # noqa: BLE001 - fastavro's own verdict on the same bytes
        assert str(refused.value).endswith(f"{type(exc).__name__}: {exc}")
    else:
        pytest.fail("fastavro read garbage")
