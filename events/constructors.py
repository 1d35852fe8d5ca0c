"""Fast, exact conversions between the frozen records and the dicts fastavro reads and writes.

`constructor(cls)` builds a record from the dict fastavro reads with the
record's current schema; `dumper(cls)` gives the dict fastavro writes. Each
is Python source generated once per class from its type hints (nested
records, lists, maps, optionals), so a call is one expression with no type
dispatch: what pydantic's TypeAdapter does, at a fraction of the cost.

They are exact only for dicts shaped by the record's own schema (the codec
reads a record written with its current schema this way, and resolves older
versions with pydantic, as before). tests/pure/test_constructors.py proves
for every record type that both give the same values.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any


def _optional_inner(tp: Any) -> Any | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner
    return None


def _expr(tp: Any, src: str, depth: int, needs: dict[str, type], verb: str) -> str:
    """A Python expression converting `src`, a value of type `tp`: from what fastavro read (verb "build") or for it to write ("dump").

    Nested records go through the nested class's own function (`build_X`,
    `dump_X`, listed in `needs`); everything else is fastavro's value as it
    is: str, int, float, bool, and datetime (fastavro's timestamp-millis
    reader makes the aware UTC datetime). A list or map is taken as it is
    when its items need nothing: the one fastavro read is fresh, the record's own.
    """
    inner = _optional_inner(tp)
    if inner is not None:
        expr = _expr(inner, src, depth, needs, verb)
        return src if expr == src else f"(None if {src} is None else {expr})"
    origin, var = typing.get_origin(tp), f"x{depth}"
    if origin is list:
        item = _expr(typing.get_args(tp)[0], var, depth + 1, needs, verb)
        return src if item == var else f"[{item} for {var} in {src}]"
    if origin is dict:
        value = _expr(typing.get_args(tp)[1], var, depth + 1, needs, verb)
        return src if value == var else f"{{k{depth}: {value} for k{depth}, {var} in {src}.items()}}"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = f"{verb}_{tp.__name__}"
        needs[name] = tp
        return f"{name}({src})"
    return src


def _compile(name: str, source: str, scope: dict[str, Any]) -> Callable[..., Any]:
    exec(compile(source, f"<novalog {name}>", "exec"), scope)  # noqa: S102 - our own generated source
    made: Callable[..., Any] = scope[name]
    return made


@cache
def constructor(cls: type) -> Callable[[dict[str, Any]], Any]:
    """The function that builds a `cls` from the dict fastavro reads with the record's current schema."""
    hints, needs = typing.get_type_hints(cls), dict[str, type]()
    args = ", ".join(_expr(hints[f.name], f"d[{f.name!r}]", 0, needs, "build") for f in dataclasses.fields(cls))
    name = f"build_{cls.__name__}"
    scope: dict[str, Any] = {"cls": cls, **{n: constructor(tp) for n, tp in needs.items()}}
    return _compile(name, f"def {name}(d):\n    return cls({args})\n", scope)


@cache
def dumper(cls: type) -> Callable[[Any], dict[str, Any]]:
    """The function that gives the dict fastavro writes for a `cls` (every field, nested records as dicts)."""
    hints, needs = typing.get_type_hints(cls), dict[str, type]()
    items = ", ".join(f"{f.name!r}: {_expr(hints[f.name], f'r.{f.name}', 0, needs, 'dump')}" for f in dataclasses.fields(cls))
    name = f"dump_{cls.__name__}"
    scope: dict[str, Any] = {n: dumper(tp) for n, tp in needs.items()}
    return _compile(name, f"def {name}(r):\n    return {{{items}}}\n", scope)
