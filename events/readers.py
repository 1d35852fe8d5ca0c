"""Avro binary readers generated per record schema: framed bytes straight to the frozen record, no dict between.

fastavro reads a record into dicts, walking its schema at every call, and a
constructor then turns the dicts into the record (events/constructors.py).
For a record written with its name's current schema the codec first tries
the reader made here: Python source generated once from the parsed schema,
one straight-line function per record type, which reads each field where it
lies and calls the class with the values.

It reads the common, well-formed case only. Anything else raises (any
exception: a cut body, a union branch or boolean byte out of range, a
negative block count or length, a varint of ten bytes or more), and the
codec then reads the record with fastavro as before, so a bad record is
refused with fastavro's own message and an odd but valid one decodes as
fastavro decodes it. tests/pure/test_readers.py checks that it gives what
fastavro and the constructors give, for every record type.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

# fastavro's timestamp-millis: the epoch plus the milliseconds (aware, UTC).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DOUBLE = struct.Struct("<d").unpack_from


class Unread(ValueError):
    """The bytes are not the plain case this reader handles: the codec reads them with fastavro."""


def varint_tail(data: bytes, pos: int, first: int) -> tuple[int, int]:
    """The rest of a varint whose first byte had its high bit set: the unsigned value and the position after it."""
    value, shift = first & 0x7F, 7
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 63:  # ten bytes or more: fastavro's 64-bit arithmetic decides those
            raise Unread("varint of ten bytes or more")


class _Source:
    """The generated module's text: one function per named record, each a straight line of field reads."""

    def __init__(self, named: dict[str, Any], classes: dict[str, type]) -> None:
        self.named, self.classes = named, classes
        self.functions: dict[str, list[str]] = {}
        self.used: dict[str, type] = {}
        self.temp = 0

    def var(self) -> str:
        self.temp += 1
        return f"v{self.temp}"

    def record(self, schema: Any) -> str:
        """The function reading the whole record, nested records inline."""
        lines = ["def read(b, p):", "    end = len(b)"]
        top = self.value(schema, lines, "    ")
        lines.append(f"    return {top}, p")
        self.functions["read"] = lines
        return "read"

    def value(self, schema: Any, lines: list[str], ind: str) -> str:
        """Append the lines reading one value of `schema` at `p`; return the variable holding it."""
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        if isinstance(schema, list):
            return self.optional(schema, lines, ind)
        kind = schema if isinstance(schema, str) else schema["type"]
        v = self.var()
        if isinstance(schema, dict) and schema.get("logicalType") == "timestamp-millis":
            lines += self.long(v, ind) + [f"{ind}{v} = EPOCH + timedelta(0, 0, {v} * 1000)"]  # (days, seconds, microseconds)
        elif kind == "record":
            cls = self.classes[schema["name"]]
            if [f["name"] for f in schema["fields"]] != [f.name for f in dataclasses.fields(cls)]:
                raise TypeError(f"{schema['name']}: the schema's fields are not {cls.__name__}'s")
            self.used[schema["name"]] = cls
            values = [self.value(f["type"], lines, ind) for f in schema["fields"]]
            lines.append(f"{ind}{v} = C_{schema['name'].replace('.', '_')}({', '.join(values)})")
        elif kind == "long" or kind == "int":
            lines += self.long(v, ind)
        elif kind == "string":  # a length: never negative, so an even zigzag (an odd one is refused)
            lines += [
                f"{ind}{v} = b[p]", f"{ind}p += 1", f"{ind}if {v} > 127: {v}, p = varint_tail(b, p, {v})",
                f"{ind}if {v} & 1: raise Unread('negative length')", f"{ind}{v} >>= 1",
                f"{ind}if p + {v} > end: raise Unread('string')",
                f"{ind}{v}, p = b[p:p + {v}].decode(), p + {v}",
            ]
        elif kind == "double":
            lines.append(f"{ind}{v}, p = DOUBLE(b, p)[0], p + 8")
        elif kind == "boolean":
            lines += [f"{ind}{v} = b[p]", f"{ind}p += 1", f"{ind}if {v} > 1: raise Unread('boolean')", f"{ind}{v} = {v} == 1"]
        elif kind in ("array", "map"):
            self.block(v, schema, lines, ind)
        else:
            raise TypeError(f"no generated reader for {schema!r}")
        return v

    def long(self, v: str, ind: str) -> list[str]:
        return [f"{ind}{v} = b[p]", f"{ind}p += 1", f"{ind}if {v} > 127: {v}, p = varint_tail(b, p, {v})",
                f"{ind}{v} = ({v} >> 1) ^ -({v} & 1)"]

    def optional(self, schema: list[Any], lines: list[str], ind: str) -> str:
        if len(schema) != 2 or schema[0] != "null":
            raise TypeError(f"no generated reader for the union {schema!r}")
        v, branch = self.var(), self.var()
        # The branch index as its one byte: 0 is null, 2 (zigzag of 1) the value.
        lines += [f"{ind}{branch} = b[p]", f"{ind}p += 1", f"{ind}if {branch} == 0:", f"{ind}    {v} = None", f"{ind}elif {branch} == 2:"]
        inner = self.value(schema[1], lines, ind + "    ")
        lines += [f"{ind}    {v} = {inner}", f"{ind}else: raise Unread('union branch')"]
        return v

    def block(self, v: str, schema: dict[str, Any], lines: list[str], ind: str) -> None:
        """An array or map: blocks of items, each block's count first, a zero count last."""
        count, i = self.var(), self.var()
        lines.append(f"{ind}{v} = []" if schema["type"] == "array" else f"{ind}{v} = {{}}")
        # Most are empty: one zero byte, and nothing else to read.
        lines += [f"{ind}if b[p] == 0:", f"{ind}    p += 1", f"{ind}else:"]
        ind += "    "
        lines += self.long(count, ind) + [f"{ind}while {count}:", f"{ind}    if {count} < 0: raise Unread('block size')",
                                          f"{ind}    for {i} in range({count}):"]
        inner = ind + "        "
        if schema["type"] == "array":
            item = self.value(schema["items"], lines, inner)
            lines.append(f"{inner}{v}.append({item})")
        else:
            key = self.value("string", lines, inner)
            item = self.value(schema["values"], lines, inner)
            lines.append(f"{inner}{v}[{key}] = {item}")
        lines += self.long(count, ind + "    ")


def reader(schema: Any, classes: dict[str, type]) -> Callable[[bytes, int], tuple[Any, int]]:
    """The generated reader of a parsed record schema: (bytes, position) -> (the record, the position after it).

    `classes` maps each record's full name to its class, whose fields must be the schema's, in order.
    """
    source = _Source(schema.get("__named_schemas", {}), classes)
    top = source.record(schema)
    scope: dict[str, Any] = {"EPOCH": EPOCH, "timedelta": timedelta, "DOUBLE": DOUBLE, "Unread": Unread, "varint_tail": varint_tail}
    scope.update({f"C_{name.replace('.', '_')}": cls for name, cls in source.used.items()})
    text = "\n".join(line for lines in source.functions.values() for line in lines)
    exec(compile(text, f"<novalog reader {schema['name']}>", "exec"), scope)  # noqa: S102 - our own generated source
    read: Callable[[bytes, int], tuple[Any, int]] = scope[top]
    return read
