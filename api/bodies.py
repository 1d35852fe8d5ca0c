"""Request bodies as pydantic models, and their faults in Nova's words.

Each service declares its bodies with these types, so `/openapi.json`
shows every request's real shape, and FastAPI refuses a body that does not
fit before the route runs. A refusal is a 400 worded as Nova's JSON-schema
validator words it: "Invalid input for field/attribute <field>. Value:
<value>. <reason>", with the field the validator stopped at (for a missing
or unexpected key, the object that holds it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, WithJsonSchema

from novalog.api.faults import BadRequest

# What a type error says the value should have been (JSON schema's names, as Nova reports them).
_JSON_TYPES = {
    "string_type": "string", "int_type": "integer", "int_parsing": "integer", "bool_type": "boolean",
    "dict_type": "object", "model_type": "object", "model_attributes_type": "object", "list_type": "array",
    "float_type": "number", "none_required": "null",
}
# Steps pydantic adds to an error's location that are not fields of the body (a union member, a validator).
_STEP = re.compile(r"^(str|int|bool|float|dict|list|none|null|function-[a-z]+\[.*\]|constrained-str|lax-or-strict\[.*\]|json-or-python\[.*\]|.*\[.*\])$")


class Body(BaseModel):
    """A request body object: exactly the keys Nova's schema allows, nothing else."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    def given(self) -> dict[str, Any]:
        """The keys the client sent, under their wire names, as plain JSON values."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class OpenBody(Body):
    """An object that takes any further keys (metadata, extra specs, hints)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)


def _whole(value: Any) -> Any:
    """Nova's positive and non-negative integers also come as strings of digits ("2")."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


# An integer, or its digits as a string (Nova's `positive_integer` and friends); never a boolean.
WholeNumber = Annotated[int, BeforeValidator(_whole), WithJsonSchema({"type": ["integer", "string"], "pattern": "^[0-9]+$"})]
# A reference by id or by link (flavorRef, imageRef): a string or an integer.
Reference = Annotated[str | int, WithJsonSchema({"type": ["string", "integer"], "minLength": 1})]
Name = Annotated[str, Field(min_length=1, max_length=255)]


def reference_id(ref: str | int) -> str:
    """The id a Reference names: the ref itself, or the last part of a link to the resource."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]
Flag = StrictBool


B = TypeVar("B", bound=BaseModel)
T = TypeVar("T")


def parse(model: type[B], body: Any, fault: Callable[[str], Exception] = BadRequest) -> B:
    """A body read through its model outside a route's signature (a command builder's own check); refused in Nova's words."""
    return parse_as(TypeAdapter(model), body, fault)


def parse_as(adapter: TypeAdapter[T], body: Any, fault: Callable[[str], Exception] = BadRequest) -> T:
    """A value read through a type adapter; refused in Nova's words, raised as `fault(message)`."""
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise fault(nova_message(errors, body)) from None


def nova_message(errors: Sequence[Any], body: Any) -> str:
    """The 400 message for the first thing wrong with a body, in Nova's validator's words."""
    if not errors:
        return "Malformed request body"
    error = errors[0]
    kind, loc = error.get("type", ""), [part for part in error.get("loc", ()) if not _is_step(part)]
    if kind in ("json_invalid", "json_type") or (kind == "missing" and len(loc) <= 1) or isinstance(error.get("input"), bytes):
        return "Malformed request body"
    path = loc[1:] if loc and loc[0] == "body" else loc
    if kind in ("missing", "extra_forbidden"):
        holder = path[:-1]
        value = _at(body, holder)
        reason = (f"'{path[-1]}' is a required property" if kind == "missing"
                  else f"Additional properties are not allowed ('{path[-1]}' was unexpected)")
        return f"Invalid input for field/attribute {_name(holder)}. Value: {value}. {reason}"
    value = error.get("input")
    return f"Invalid input for field/attribute {_name(path)}. Value: {value}. {_reason(kind, value, error)}"


def _is_step(part: Any) -> bool:
    return isinstance(part, str) and bool(_STEP.match(part))


def _name(path: Sequence[Any]) -> str:
    names = [str(part) for part in path if not isinstance(part, int)]
    return names[-1] if names else "body"


def _at(body: Any, path: Sequence[Any]) -> Any:
    for part in path:
        try:
            body = body[part]
        except (KeyError, IndexError, TypeError):
            return body
    return body


def _reason(kind: str, value: Any, error: Any) -> str:
    limits = error.get("ctx") or {}
    match kind:
        case "string_too_long" | "too_long":
            return f"{value!r} is too long"
        case "string_too_short" | "too_short":
            return f"{value!r} is too short"
        case "greater_than_equal":
            return f"{value} is less than the minimum of {limits.get('ge')}"
        case "greater_than":  # an exclusive minimum
            return f"{value} is less than or equal to the minimum of {limits.get('gt')}"
        case "less_than_equal":
            return f"{value} is greater than the maximum of {limits.get('le')}"
        case "less_than":  # an exclusive maximum
            return f"{value} is greater than or equal to the maximum of {limits.get('lt')}"
        case "string_pattern_mismatch":
            return f"{value!r} does not match {limits.get('pattern')!r}"
        case "literal_error" | "enum":
            return f"{value!r} is not one of [{limits.get('expected', '')}]"
        case "value_error" | "assertion_error":
            return str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _JSON_TYPES:
        return f"{value!r} is not of type '{_JSON_TYPES[kind]}'"
    return str(error.get("msg", "is not valid"))
