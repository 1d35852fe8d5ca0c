"""`replace` for the frozen records, what dataclasses.replace does at a fraction of the cost.

The folds make a new row for nearly every event (`replace(state, ...)`), and
dataclasses.replace reads every field by name and runs the class's
`__init__`, which sets each field through `object.__setattr__`: 7-8 us for
a row of 30-40 fields, most of a fold's time. Here each class gets, once, a
function generated from its fields that fills a new instance's slots
directly, old values first and the changes over them: the same value
dataclasses.replace gives, for the slotted, frozen dataclasses without
`__post_init__` this project uses (any other class is left to
dataclasses.replace). tests/pure/test_evolve.py checks both agree for every
record type.

`changed(new, old)` is `new != old` for the rows a fold returns, as the
storing rule asks it for every event (projections/registry.py): the
dataclass's `!=` builds a tuple of every field on each side, where a row
usually differs in a field or two and shares the rest with the row it was
copied from. It compares field by field, simple values first, and stops at
the first difference; like the tuples' comparison, a field holding the same
object on both sides is equal (so a NaN kept from the old row is no change).

`reduce_record` pickles a record as its field values and a generated
`fill_<Class>` that sets the slots, for the rows a replay's helper process
sends back (novalog/replay_fold.py).
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

R = TypeVar("R")  # the record replaced, and its copy

# A class's copier takes and makes instances of that class: a dict cannot say so per key, hence Any.
_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}
_COMPARERS: dict[type, Callable[[Any, Any], bool]] = {}


def replace(obj: R, /, **changes: Any) -> R:
    """A copy of the record with `changes` (field names to new values), as dataclasses.replace."""
    copier: Callable[[R, dict[str, Any]], R] | None = _COPIERS.get(type(obj))
    if copier is None:
        copier = _COPIERS[type(obj)] = _copier(type(obj))
    return copier(obj, changes)


def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    if not _fills_slots(cls, names):
        return lambda obj, changes: dataclasses.replace(obj, **changes)
    scope: dict[str, Any] = {"cls": cls, "new": object.__new__, "setters": {n: getattr(cls, n).__set__ for n in names},
                             "unknown": _unknown(cls)}
    scope.update({f"set_{n}": getattr(cls, n).__set__ for n in names})
    lines = ["def copy(obj, changes):", "    made = new(cls)"]
    lines += [f"    set_{n}(made, obj.{n})" for n in names]
    lines += ["    for name, value in changes.items():", "        setter = setters.get(name)", "        if setter is None:",
              "            unknown(name)", "        setter(made, value)", "    return made"]
    exec(compile("\n".join(lines), f"<novalog replace {cls.__name__}>", "exec"), scope)  # noqa: S102 - our own generated source
    copy: Callable[[Any, dict[str, Any]], Any] = scope["copy"]
    return copy


def _fills_slots(cls: type, names: list[str]) -> bool:
    """Whether a copy slot by slot is what `__init__` would make: every field an init field in a slot, nothing run after."""
    fields = dataclasses.fields(cls)
    return (
        hasattr(cls, "__slots__") and not hasattr(cls, "__post_init__")
        and all(f.init for f in fields) and all(type(getattr(cls, n, None)).__name__ == "member_descriptor" for n in names)
    )


def _unknown(cls: type) -> Callable[[str], None]:
    def refuse(name: str) -> None:
        raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument '{name}'")

    return refuse


def changed(new: object, old: object) -> bool:
    """`new != old`, for a record and whatever it is compared with."""
    if type(new) is type(old):
        comparer = _COMPARERS.get(type(new))
        if comparer is not None:
            return comparer(new, old)
        if dataclasses.is_dataclass(new):
            comparer = _COMPARERS[type(new)] = _comparer(type(new))
            return comparer(new, old)
    return new != old


def _comparer(cls: type) -> Callable[[Any, Any], bool]:
    """`a != b` for two instances of `cls` as its dataclass `__eq__` decides it, stopping at the first field that differs."""
    if not _generated_eq(cls):
        return lambda a, b: a != b
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.compare]
    names.sort(key=lambda name: not _simple(hints[name]))  # cheap to compare, and what a fold changes (offsets, states, times)
    terms = " or ".join(f"(a.{n} is not b.{n} and not a.{n} == b.{n})" for n in names) or "False"
    scope: dict[str, Any] = {}
    exec(compile(f"def differ(a, b):\n    return {terms}\n", f"<novalog changed {cls.__name__}>", "exec"), scope)  # noqa: S102
    differ: Callable[[Any, Any], bool] = scope["differ"]
    return differ


def _generated_eq(cls: type) -> bool:
    """Whether `cls.__eq__` is the one the dataclass decorator wrote (fields compared as a tuple), not the class's own."""
    params, eq = getattr(cls, "__dataclass_params__", None), cls.__dict__.get("__eq__")
    return params is not None and params.eq and eq is not None and eq.__code__.co_filename == "<string>"


def _simple(tp: Any) -> bool:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return all(_simple(arg) for arg in typing.get_args(tp))
    return tp in (str, int, float, bool, datetime, type(None))


# --- pickling: a record rebuilt slot by slot, for the rows a replay's helper process sends back ---

class _Filler(Protocol):
    """A generated `fill_<Class>`: the record from its field values, in field order; `values` gives them back."""

    values: Callable[[Any], tuple[Any, ...]]

    def __call__(self, *values: Any) -> Any: ...


_FILLERS: dict[type, _Filler] = {}


def reduce_record(obj: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """What pickle keeps of a record: its class's filler (this module's `fill_<Class>`, by name) and its field values.

    The dataclass's own pickling goes through __getstate__/__setstate__,
    which look the fields up and set each through object.__setattr__ for
    every record; the filler sets the slots directly, like `replace`.
    """
    filler = _filler(type(obj))
    return filler, filler.values(obj)


def _filler(cls: type) -> _Filler:
    filler = _FILLERS.get(cls)
    if filler is None:
        names = [f.name for f in dataclasses.fields(cls)]
        if not _fills_slots(cls, names):
            raise TypeError(f"{cls.__name__} is not a slotted, frozen record")
        scope: dict[str, Any] = {"cls": cls, "new": object.__new__, **{f"set_{n}": getattr(cls, n).__set__ for n in names}}
        name = f"fill_{cls.__name__}"
        lines = [f"def {name}({', '.join(names)}):", "    made = new(cls)", *[f"    set_{n}(made, {n})" for n in names], "    return made"]
        exec(compile("\n".join(lines), f"<novalog fill {cls.__name__}>", "exec"), scope)  # noqa: S102 - our own generated source
        filler = _FILLERS[cls] = scope[name]
        filler.__module__, filler.__qualname__ = __name__, name
        get = operator.attrgetter(*names)  # in C; one name gives the value alone, not a tuple
        filler.values = get if len(names) > 1 else (lambda record: (get(record),))
    return filler


def __getattr__(name: str) -> Any:
    """`fill_<Class>` for any record class, made on first use (an unpickling process asks for it by name)."""
    if name.startswith("fill_"):
        from novalog.events.avro_shapes import COMMON_RECORDS
        from novalog.events.state import STATE_TYPES
        from novalog.events.types import EVENT_TYPES

        for cls in (*EVENT_TYPES, *STATE_TYPES, *COMMON_RECORDS):
            if cls.__name__ == name[len("fill_"):]:
                return _filler(cls)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
