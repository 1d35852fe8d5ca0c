"""An envelope's event_type is its event's class name.

The constructors take the name from the class (`Envelope.new(InstanceSpawned, ...)`,
`cause.caused(ClaimAccepted, ...)`), so no call site spells it as a string; these
tests fail if one does, if an event is built with an envelope made for another
class, or if a record of a synthetic cloud's log carries another type's name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from novalog.events.records import Envelope
from novalog.events.types import EVENT_TYPES, InstanceDeleted, InstanceSpawned
from novalog.projections.synthetic_log import CloudShape, synthetic_log

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("agent", "api", "events", "novalog", "projections", "scheduler", "tests")
EVENT_NAMES = frozenset(cls.__name__ for cls in EVENT_TYPES)
# The functions that make or retype an envelope; none of them may be given an event's name as a string.
ENVELOPE_MAKERS = frozenset({"new", "caused", "envelope", "_envelope", "_caused", "build_envelope", "build_caused_envelope", "replace"})


def _calls() -> Iterator[tuple[str, ast.Call]]:
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _envelope_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "envelope":
            return keyword.value
    return call.args[0] if call.args else None


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_the_constructors_write_the_class_name(cls: type) -> None:
    envelope = Envelope.new(cls, "tests")
    assert envelope.event_type == cls.__name__
    assert envelope.caused(cls, "tests", salt="s").event_type == cls.__name__


def test_a_type_given_as_a_string_is_refused() -> None:
    with pytest.raises(AttributeError):
        Envelope.new(InstanceSpawned.__name__, "tests")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Envelope.new(InstanceSpawned, "tests").caused(InstanceDeleted.__name__, "tests")  # type: ignore[arg-type]
    assert Envelope.new(InstanceSpawned, "tests").caused(InstanceDeleted, "tests").event_type == "InstanceDeleted"


def test_no_call_site_names_an_event_type_as_a_string() -> None:
    spelled = [
        f"{where}: {arg.value}"
        for where, call in _calls()
        if _name(call.func) in ENVELOPE_MAKERS
        for arg in (*call.args, *(k.value for k in call.keywords))
        if isinstance(arg, ast.Constant) and arg.value in EVENT_NAMES
    ]
    assert spelled == []


def test_every_event_built_in_the_code_gets_an_envelope_of_its_own_class() -> None:
    other = []
    for where, call in _calls():
        event = _name(call.func)
        if event not in EVENT_NAMES or (argument := _envelope_argument(call)) is None:
            continue
        named = {name for node in ast.walk(argument) if (name := _name(node)) in EVENT_NAMES}
        named |= {node.value for node in ast.walk(argument) if isinstance(node, ast.Constant) and node.value in EVENT_NAMES}
        if named - {event}:
            other.append(f"{where}: {event} with an envelope of {sorted(named - {event})}")
    assert other == []


def test_every_record_of_a_synthetic_cloud_carries_its_own_class_name() -> None:
    seen = set()
    for record in synthetic_log(3000, CloudShape(hosts=6, projects=10, busy=0.9)):
        events = [record.value, *getattr(record.value, "builds", [])]
        for event in events:
            assert event.envelope.event_type == type(event).__name__, event
            seen.add(type(event))
    assert len(seen) > 15
