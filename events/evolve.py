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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def replace(obj: Any, /, **changes: Any) -> Any:
    """A copy of the record with `changes` (field names to new values), as dataclasses.replace."""
    copier = _COPIERS.get(type(obj))
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
    return scope["copy"]


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
