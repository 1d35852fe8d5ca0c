"""JsonFilter's query language (today's Nova, unchanged since Havana), evaluated against one host.

A query is a list `[op, arg, ...]`. An argument is a literal, a nested
query, or a string "$name.key..." read from the host: attribute `name`, then
one mapping key per segment (Nova's _parse_string). Arguments that come out
None (an unknown variable, JSON null) or are the empty string are dropped
before `op` runs.

Two names are mappings, as on Nova's HostState:

    $service.<field>        the compute service (SchedHost.service): disabled,
                            disabled_reason, forced_down, host, binary, topic
    $capabilities.<name>    Havana's capabilities dict, which held what the
                            compute last published about itself; it is gone from
                            Nova (Juno) and novalog never had it, so novalog reads a
                            name there as ComputeCapabilitiesFilter does: the host's
                            attribute, else its stat (`$capabilities.hypervisor_type`,
                            `$capabilities.free_ram_mb`, `$capabilities.<stat>`)

So ["not", "$service.disabled"] is [False] on a disabled host, and the
quirk stays Nova's: at the top level a disabled host fails, nested in `and`
the one-element list is truthy and the host passes.

    =  <  >  <=  >=   the first argument compared with every other one; < 2 arguments: False
    in                the first argument equals one of the others; < 2 arguments: False
    not               a LIST, each argument negated
    and  or           all() / any() of the arguments

Mixed types, decided here because Nova's Python 2 compared anything with
anything: a comparison Python 3 cannot make (a number against a string, a
list against a number...) is False, it does not raise. So
["<", "$stats.load", 5] is False when the stat is the string "3"; write
the literal as a string ("5") to compare strings. Equality across types
(1 against "1") is False, as in Python 3.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from novalog.scheduler.filters.compute_capabilities_filter import capability
from novalog.scheduler.host_state import SchedHost


class JsonQueryError(ValueError):
    """A query that cannot be evaluated (unknown operator, not a list, a key on a non-mapping): the request fails, as in Nova."""


def _holds(compare: Callable[[Any, Any], Any], left: Any, right: Any) -> bool:
    try:
        return bool(compare(left, right))
    except TypeError:
        return False


def _comparison(compare: Callable[[Any, Any], Any]) -> Callable[[list[Any]], bool]:
    return lambda args: len(args) >= 2 and all(_holds(compare, args[0], other) for other in args[1:])


_OPERATORS: dict[str, Callable[[list[Any]], Any]] = {
    "=": _comparison(operator.eq),
    "<": _comparison(operator.lt),
    ">": _comparison(operator.gt),
    "<=": _comparison(operator.le),
    ">=": _comparison(operator.ge),
    "in": lambda args: len(args) >= 2 and args[0] in args[1:],
    "not": lambda args: [not arg for arg in args],
    "or": any,
    "and": all,
}


class Capabilities(Mapping[str, Any]):
    """Havana's `capabilities` of a host, read-only: a name is the host's attribute, else its stat (`capability`)."""

    __slots__ = ("_host",)

    def __init__(self, host: SchedHost) -> None:
        self._host = host

    def __getitem__(self, name: str) -> Any:
        value = None if name.startswith("_") else capability(self._host, [name])
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        names = [f for f in SchedHost.__dataclass_fields__ if getattr(self._host, f) is not None]
        return iter([*names, *(k for k in self._host.stats if k not in SchedHost.__dataclass_fields__)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def resolve(text: str, host: SchedHost) -> Any:
    """A string argument's value: a literal, or a "$variable" read from the host (None when missing)."""
    if not text.startswith("$"):
        return text or None
    name, *keys = text[1:].split(".")
    if name == "capabilities":
        value: Any = Capabilities(host)
    else:
        value = None if name.startswith("_") else getattr(host, name, None)
    for key in keys:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise JsonQueryError(f"{text!r}: {key!r} looked up in a {type(value).__name__}, not a mapping")
        value = value.get(key)
    return value


def evaluate(query: Any, host: SchedHost) -> Any:
    """The query's value on this host: a bool, or a list for `not`; an empty query is True."""
    if not query:
        return True
    if not isinstance(query, list):
        raise JsonQueryError(f"a query is a list [op, arg, ...], not {query!r}")
    op = query[0]
    if not isinstance(op, str) or op not in _OPERATORS:
        raise JsonQueryError(f"unknown JsonFilter operator {op!r}; known: {', '.join(_OPERATORS)}")
    args = []
    for arg in query[1:]:
        if isinstance(arg, list):
            arg = evaluate(arg, host)
        elif isinstance(arg, str):
            arg = resolve(arg, host)
        if arg is not None:
            args.append(arg)
    return _OPERATORS[op](args)
