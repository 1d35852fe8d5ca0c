"""Operators' own filters and weighers, loaded by dotted path (Nova's `available_filters` / `weight_classes`).

Nova loads a plug-in from any importable module: `available_filters` lists
dotted paths whose classes `enabled_filters` may then name by class name,
and `weight_classes` lists dotted paths. novalog does the same on top of its
registries (`FILTERS`, `WEIGHERS`):

    enabled_filters  a registry name | the NAME of a class in available_filters | "package.module.ClassName"
    weight_classes   a registry name | "package.module.ClassName"

Each path is imported and checked once, when the options are made (an
options file naming a bad one keeps the last good options): the class must
derive from the plug-in base (`BaseHostFilter` / `BaseHostWeigher`),
implement its abstract methods and carry the contract's class variables,
and its NAME may not shadow a built-in. Nova's loader also accepts a path
to a function returning classes (`nova.scheduler.filters.all_filters`);
novalog takes classes only, as its built-ins are named one by one.

A plug-in has no columnar form: the columnar pass runs its scalar method
host by host over the survivors (`columnar.passing`, `_raw_values`). The
loaded classes are kept by NAME (`loaded_filter`), so a trace that names a
plug-in's step is explained with its REASON.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from functools import cache
from typing import Any

from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.weights import WEIGHERS
from novalog.scheduler.weights.base import BaseHostWeigher


class UnknownPluginError(ValueError):
    """An option names a filter or weigher that is neither registered nor loadable (Nova's SchedulerHostFilterNotFound)."""


class PluginLoadError(UnknownPluginError):
    """A dotted path that does not lead to a usable plug-in: no such module or class, or not a filter / weigher."""


_LOADED_FILTERS: dict[str, type[BaseHostFilter]] = {}


def is_dotted_path(name: str) -> bool:
    """Whether an option's entry is a "package.module.ClassName" path rather than a registry name."""
    return "." in name


def load_filter(path: str) -> type[BaseHostFilter]:
    """The filter class at `path`, checked against the filter contract."""
    cls = _load(path, "filter", BaseHostFilter, FILTERS)
    _require_text(cls, path, "filter", "REASON")
    _LOADED_FILTERS[cls.NAME] = cls
    return cls


def load_weigher(path: str, option_names: frozenset[str]) -> type[BaseHostWeigher]:
    """The weigher class at `path`, checked against the weigher contract.

    `option_names` are SchedulerOptions' fields: a weigher whose
    MULTIPLIER_OPTION is none of them must compute its own multiplier
    (override `weight_multiplier`), as the options have no value for it.
    """
    cls = _load(path, "weigher", BaseHostWeigher, WEIGHERS)
    _require_text(cls, path, "weigher", "MULTIPLIER_OPTION")
    if cls.MULTIPLIER_OPTION not in option_names and cls.weight_multiplier is BaseHostWeigher.weight_multiplier:
        raise PluginLoadError(
            f"{path!r} is not a usable weigher: MULTIPLIER_OPTION {cls.MULTIPLIER_OPTION!r} is not a scheduler option "
            "and the class does not override weight_multiplier"
        )
    return cls


def filter_classes(enabled: tuple[str, ...], available: tuple[str, ...]) -> tuple[type[BaseHostFilter], ...]:
    """The classes `enabled_filters` names, in its order; `available` are the dotted paths it may name by NAME."""
    extra = {cls.NAME: cls for cls in map(load_filter, available)}
    unknown = [n for n in enabled if not is_dotted_path(n) and n not in FILTERS and n not in extra]
    if unknown:
        raise UnknownPluginError(
            f"enabled_filters: unknown filter {', '.join(map(repr, unknown))}; known: {', '.join(sorted({*FILTERS, *extra}))}"
            " (or a dotted path package.module.ClassName)"
        )
    return tuple(load_filter(n) if is_dotted_path(n) else FILTERS.get(n) or extra[n] for n in enabled)


def weigher_classes(names: tuple[str, ...], option_names: frozenset[str]) -> tuple[type[BaseHostWeigher], ...]:
    """The classes `weight_classes` names, in its order."""
    unknown = [n for n in names if not is_dotted_path(n) and n not in WEIGHERS]
    if unknown:
        raise UnknownPluginError(
            f"weight_classes: unknown weigher {', '.join(map(repr, unknown))}; known: {', '.join(sorted(WEIGHERS))}"
            " (or a dotted path package.module.ClassName)"
        )
    return tuple(load_weigher(n, option_names) if is_dotted_path(n) else WEIGHERS[n] for n in names)


def loaded_filter(name: str) -> type[BaseHostFilter] | None:
    """A plug-in filter loaded in this process under this NAME, or None."""
    return _LOADED_FILTERS.get(name)


@cache
def _import(path: str) -> Any:
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise PluginLoadError(f"{path!r} is not a dotted path package.module.ClassName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PluginLoadError(f"cannot load plug-in {path!r}: module {module_name!r} does not import ({error})") from None
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise PluginLoadError(f"cannot load plug-in {path!r}: module {module_name!r} has no {class_name!r}") from None


def _load(path: str, kind: str, base: type, builtins: Mapping[str, type]) -> Any:
    found: Any = _import(path)
    if not (inspect.isclass(found) and issubclass(found, base)):
        raise PluginLoadError(f"{path!r} is not a {kind}: a {kind} is a subclass of {base.__module__}.{base.__name__}")
    if inspect.isabstract(found):
        missing = ", ".join(sorted(getattr(found, "__abstractmethods__", ())))
        raise PluginLoadError(f"{path!r} is not a usable {kind}: it does not implement {missing}")
    name = _require_text(found, path, kind, "NAME")
    if name in builtins and builtins[name] is not found:
        raise PluginLoadError(f"{path!r}: NAME {name!r} is a built-in {kind}'s; a plug-in needs a name of its own")
    return found


def _require_text(cls: type, path: str, kind: str, attribute: str) -> str:
    value = getattr(cls, attribute, None)
    if not isinstance(value, str) or not value:
        raise PluginLoadError(f"{path!r} is not a usable {kind}: class variable {attribute} must be a non-empty string")
    return value
