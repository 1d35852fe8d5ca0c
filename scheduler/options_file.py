"""The scheduler options file: JSON, reloaded when it changes, the last good options kept when it breaks.

Keys are SchedulerOptions' field names (today's Nova option names); Havana's
names are accepted as deprecated aliases. Unlike Nova (which fell back to
empty options on a bad file), a file that does not parse or names an unknown
plug-in leaves the last good options in force and says why in the log.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from novalog.scheduler.options import SchedulerOptions

log = logging.getLogger(__name__)

DEPRECATED_ALIASES = {
    "scheduler_default_filters": "enabled_filters",
    "scheduler_weight_classes": "weight_classes",
    "scheduler_host_subset_size": "host_subset_size",
    "scheduler_max_attempts": "max_attempts",
}
KNOWN = {f.name for f in fields(SchedulerOptions)}


class OptionsError(ValueError):
    """The options file cannot be used; the message says which key and why."""


def parse_options(raw: Mapping[str, Any], base: SchedulerOptions | None = None) -> SchedulerOptions:
    """Options from a parsed JSON object, over `base` (the defaults when None)."""
    if not isinstance(raw, Mapping):
        raise OptionsError("the options file must hold a JSON object")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = DEPRECATED_ALIASES.get(key, key)
        if name != key:
            log.warning("scheduler options: %r is deprecated, use %r", key, name)
        if name not in KNOWN:
            raise OptionsError(f"unknown option {key!r}; known: {', '.join(sorted(KNOWN))}")
        values[name] = value
    current = base or SchedulerOptions()
    merged = {f.name: getattr(current, f.name) for f in fields(SchedulerOptions)} | values
    try:
        return SchedulerOptions(**merged)
    except (TypeError, ValueError) as exc:
        raise OptionsError(str(exc)) from exc


class OptionsFile:
    """The options in force: re-read when the file's modification time changes."""

    def __init__(self, path: Path | None, defaults: SchedulerOptions | None = None) -> None:
        self.path = path
        self.defaults = defaults or SchedulerOptions()
        self._options = self.defaults
        self._stamp: tuple[int, int] | None = None
        self.last_error: str | None = None

    def current(self) -> SchedulerOptions:
        """The options now: reloaded if the file changed, else the last good ones."""
        path = self.path
        if path is None:
            return self._options
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return self._options
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            self._reload(path)
        return self._options

    def _reload(self, path: Path) -> None:
        try:
            raw = json.loads(Path(path).read_text())
            self._options = parse_options(raw, self.defaults)
            self.last_error = None
            log.info("scheduler options reloaded from %s", path)
        except (OSError, ValueError) as exc:
            self.last_error = f"{path}: {exc}"
            log.error("scheduler options: %s; keeping the last good options", self.last_error)
