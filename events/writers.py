"""Avro binary writers generated per record schema: the frozen record straight to bytes, no dict between.

The writing twin of events/readers.py. fastavro writes a record from the
dict a dumper makes (events/constructors.py), walking its schema and
checking each value's type at every call: about 115 us for a placement
proposal, more than a scheduling pass over 10,000 hosts. The writer made
here is Python source generated once from the parsed schema, one
straight-line function per record type, which writes each field of the
record object where it belongs.

It writes the plain case only: every value of exactly the type its schema
names (str, int, float, bool, an aware datetime, list or tuple, dict, the
record's own class). Anything else raises (any exception), and the codec
then writes the record through the dumper and fastavro as before, so a bad
value is refused with fastavro's own message and an odd but valid one
(an int where a double is due) is written as fastavro writes it.
tests/pure/test_writers.py checks that it gives fastavro's bytes, for every
record type.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DOUBLE = struct.Struct("<d").pack


class Unwritten(ValueError):
    """The value is not the plain case this writer handles: the codec writes it with fastavro."""


def long_bytes(n: int) -> bytes:
    """Avro's long: zigzag, then base-128 varint (values of 64 bits only, as fastavro's writer takes)."""
    if not -(2**63) <= n < 2**63:
        raise Unwritten("long out of range")
    z = (n << 1) ^ (n >> 63)
    if z < 0x80:
        return SMALL[z]
    out = bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


SMALL = [bytes([z]) for z in range(0x80)]
# The bytes of 0..63 (zigzag 2n, one byte): most lengths, counts and small numbers, without a call.
LOW = [bytes([2 * n]) for n in range(64)]


def _long(expr: str) -> str:
    """Source writing the long `expr` evaluates to (evaluated twice: a name or len() only)."""
    return f"LOW[{expr}] if 0 <= {expr} < 64 else long_bytes({expr})"


def millis(value: datetime) -> int:
    """fastavro's timestamp-millis of an aware datetime; a naive one is left to fastavro (it reads local time)."""
    if value.tzinfo is None:
        raise Unwritten("naive datetime")
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


class _Source:
    """The generated module's text: one function writing a whole record, nested records inline."""

    def __init__(self, named: dict[str, Any], classes: dict[str, type]) -> None:
        self.named, self.classes = named, classes
        self.used: dict[str, type] = {}
        self.temp = 0

    def var(self) -> str:
        self.temp += 1
        return f"v{self.temp}"

    def value(self, schema: Any, src: str, lines: list[str], ind: str) -> None:
        """Append the lines writing the value held by the expression `src` (a plain name) to `out`."""
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        if isinstance(schema, list):
            self.optional(schema, src, lines, ind)
            return
        kind = schema if isinstance(schema, str) else schema["type"]
        if isinstance(schema, dict) and schema.get("logicalType") == "timestamp-millis":
            lines += [f"{ind}if type({src}) is not datetime: raise Unwritten('timestamp')", f"{ind}w(long_bytes(millis({src})))"]
        elif kind == "record":
            cls = self.classes[schema["name"]]
            if [f["name"] for f in schema["fields"]] != [f.name for f in dataclasses.fields(cls)]:
                raise TypeError(f"{schema['name']}: the schema's fields are not {cls.__name__}'s")
            name = f"C_{schema['name'].replace('.', '_')}"
            self.used[name] = cls
            lines.append(f"{ind}if type({src}) is not {name}: raise Unwritten('record')")
            for field in schema["fields"]:
                v = self.var()
                lines.append(f"{ind}{v} = {src}.{field['name']}")
                self.value(field["type"], v, lines, ind)
        elif kind in ("long", "int"):
            lines += [f"{ind}if type({src}) is not int: raise Unwritten('long')", f"{ind}w({_long(src)})"]
        elif kind == "string":
            e = self.var()
            lines += [f"{ind}if type({src}) is not str: raise Unwritten('string')", f"{ind}{e} = {src}.encode()",
                      f"{ind}w({_long(f'len({e})')})", f"{ind}w({e})"]
        elif kind == "double":
            lines += [f"{ind}if type({src}) is not float: raise Unwritten('double')", f"{ind}w(DOUBLE({src}))"]
        elif kind == "boolean":
            lines += [f"{ind}if type({src}) is not bool: raise Unwritten('boolean')", f"{ind}w(b'\\x01' if {src} else b'\\x00')"]
        elif kind in ("array", "map"):
            self.block(schema, src, lines, ind)
        else:
            raise TypeError(f"no generated writer for {schema!r}")

    def optional(self, schema: list[Any], src: str, lines: list[str], ind: str) -> None:
        if len(schema) != 2 or schema[0] != "null":
            raise TypeError(f"no generated writer for the union {schema!r}")
        # The branch index as its one byte: 0 is null, 2 (zigzag of 1) the value.
        lines += [f"{ind}if {src} is None:", f"{ind}    w(b'\\x00')", f"{ind}else:", f"{ind}    w(b'\\x02')"]
        self.value(schema[1], src, lines, ind + "    ")

    def block(self, schema: dict[str, Any], src: str, lines: list[str], ind: str) -> None:
        """An array or map as fastavro writes it: one block of all the items (none when empty), then a zero count."""
        item, key = self.var(), self.var()
        if schema["type"] == "array":
            lines.append(f"{ind}if type({src}) is not list and type({src}) is not tuple: raise Unwritten('array')")
            header = f"{ind}for {item} in {src}:"
        else:
            lines.append(f"{ind}if type({src}) is not dict: raise Unwritten('map')")
            header = f"{ind}for {key}, {item} in {src}.items():"
        lines += [f"{ind}if {src}:", f"{ind}    w({_long(f'len({src})')})", f"{ind}    {header.strip()}"]
        inner = ind + "        "
        if schema["type"] == "map":
            self.value("string", key, lines, inner)
        self.value(schema["items"] if schema["type"] == "array" else schema["values"], item, lines, inner)
        lines.append(f"{ind}w(b'\\x00')")


def writer(schema: Any, classes: dict[str, type]) -> Callable[[Any, bytearray], None]:
    """The generated writer of a parsed record schema: (record, out) appends the record's Avro body to `out`.

    `classes` maps each record's full name to its class, whose fields must be the schema's, in order.
    """
    source = _Source(schema.get("__named_schemas", {}), classes)
    lines = ["def write(r, out):", "    w = out.extend"]
    source.value(schema, "r", lines, "    ")
    scope: dict[str, Any] = {"datetime": datetime, "DOUBLE": DOUBLE, "Unwritten": Unwritten, "long_bytes": long_bytes, "millis": millis, "LOW": LOW}
    scope.update(source.used)
    exec(compile("\n".join(lines), f"<novalog writer {schema['name']}>", "exec"), scope)  # noqa: S102 - our own generated source
    write: Callable[[Any, bytearray], None] = scope["write"]
    return write
