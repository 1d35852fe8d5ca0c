"""Derives the Avro schema a record class should have, to check schemas/ against the code.

The .avsc files in schemas/ are the published contract; this module only
states what the dataclasses imply, so a test can prove both agree.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

from novalog.events import records

COMMON_RECORDS: tuple[type, ...] = (
    records.Envelope,
    records.Flavor,
    records.Fault,
    records.Resources,
    records.InstanceGroup,
    records.RequestSpec,
    records.FilterCount,
    records.WeighedHost,
    records.PlacementTrace,
    records.Claim,
    records.Migration,
    records.ActionEvent,
    records.InstanceAction,
    records.HostAggregate,
    records.ImageFiles,
    records.AllocationPool,
    records.FixedIp,
    records.Subnet,
    records.Port,
    records.SecurityGroupRule,
)


def full_name(cls: type) -> str:
    """`novalog.<family>.<Class>`; the shared records live in `novalog.common`."""
    family = getattr(cls, "FAMILY", "common")
    return f"novalog.{family}.{cls.__name__}"


def _avro_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return ["null", _avro_type(inner)]
    if origin is dict:
        return {"type": "map", "values": _avro_type(typing.get_args(tp)[1])}
    if origin is list:
        return {"type": "array", "items": _avro_type(typing.get_args(tp)[0])}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return full_name(tp)
    simple = {str: "string", int: "long", float: "double", bool: "boolean"}
    if tp in simple:
        return simple[tp]
    if tp is datetime:
        return {"type": "long", "logicalType": "timestamp-millis"}
    raise TypeError(f"no Avro type for {tp!r}")


def _default(f: dataclasses.Field[Any]) -> tuple[bool, Any]:
    if f.default is not dataclasses.MISSING:
        return True, f.default
    if f.default_factory is not dataclasses.MISSING:
        return True, f.default_factory()
    return False, None


def schema_of(cls: type) -> dict[str, Any]:
    """The Avro record schema implied by a frozen dataclass."""
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        entry: dict[str, Any] = {"name": f.name, "type": _avro_type(hints[f.name])}
        has_default, value = _default(f)
        if has_default:
            entry["default"] = value
        fields.append(entry)
    name = full_name(cls)
    namespace, _, short = name.rpartition(".")
    return {
        "type": "record",
        "name": short,
        "namespace": namespace,
        "doc": (cls.__doc__ or "").strip().splitlines()[0],
        "fields": fields,
    }
