"""The events are written by family: each module's registry holds every event class it defines, of its family, and the
global list and the topic map are composed from those registries."""

from __future__ import annotations

import dataclasses
import pkgutil
from importlib import import_module

import novalog.events.types as types_package
from novalog.events import topics
from novalog.events.types import EVENT_TYPES

FAMILY_MODULES = [import_module(f"novalog.events.types.{m.name}") for m in pkgutil.iter_modules(types_package.__path__)]


def test_each_family_registers_every_event_class_it_defines_and_only_those() -> None:
    assert len(FAMILY_MODULES) == 11
    for module in FAMILY_MODULES:
        defined = [v for v in vars(module).values() if dataclasses.is_dataclass(v) and v.__module__ == module.__name__]
        assert sorted(module.EVENTS, key=lambda c: c.__name__) == sorted(defined, key=lambda c: c.__name__), module.__name__
        family = module.__name__.rpartition(".")[2]
        assert {cls.FAMILY for cls in module.EVENTS} == {family}, module.__name__


def test_the_global_list_is_every_family_registry_once() -> None:
    composed = [cls for module in FAMILY_MODULES for cls in module.EVENTS]
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == len(composed) >= 55
    assert set(EVENT_TYPES) == set(composed)


def test_every_event_travels_on_a_topic() -> None:
    assert [cls.__name__ for cls in EVENT_TYPES if cls not in topics.TOPIC_OF] == []
