"""Nova's extra_specs operator language (`match`), as today's Nova has it (unchanged since Kilo's <all-in>).

A requirement is words split on whitespace; the first word is the operator:

    =  ==  !=  >=  <=          numeric (float); `=` means "at least", not equality
    s==  s!=  s<  s<=  s>  s>= string, lexicographic ("9" s> "10")
    <in>                       the operand is a substring of the value
    <all-in>                   every further word is a substring of the value
    <or> a <or> b ...          the value equals an alternative (words 1, 3, 5...)

Anything else (`<` and `>` included, and an empty requirement) is compared
with the value as one whole string.
"""

from __future__ import annotations

import operator
from collections.abc import Callable


class ExtraSpecError(ValueError):
    """A requirement that cannot be evaluated: Nova raises, so the request fails."""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ExtraSpecError(f"{text!r} is not a number, and a numeric extra_specs operator needs one") from None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda value, arg: compare(_number(value), _number(arg))


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": _numeric(operator.ge),  # Nova's "at least", in every release
    "==": _numeric(operator.eq),
    "!=": _numeric(operator.ne),
    ">=": _numeric(operator.ge),
    "<=": _numeric(operator.le),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda value, arg: arg in value,
}


def match(value: str | None, req: str) -> bool:
    """Whether a host's (or aggregate's) value satisfies one extra_specs requirement.

    Raises ExtraSpecError for a bare `<or>` and for a numeric operator whose
    value or operand is not a number, as Nova does (it raises IndexError /
    ValueError there).
    """
    words = req.split()
    op = words[0] if words else None
    if op != "<or>" and op != "<all-in>" and op not in _OPERATORS:
        return value == req
    if value is None:
        return False
    if op == "<or>":
        if len(words) < 2:
            raise ExtraSpecError(f"{req!r}: <or> needs at least one alternative")
        # Alternatives sit at odd positions; the words between are dropped
        # unread, so "<or> a b" only tests "a".
        return value in words[1::2]
    if len(words) < 2:
        return False
    if op == "<all-in>":
        return all(word in value for word in words[1:])
    # Only the first operand counts: "s== abc def" compares with "abc".
    return _OPERATORS[op](value, words[1])
