"""The progress bar every command that reads the log shows on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click


@contextmanager
def log_progress(quiet: bool) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A progress bar on stderr for a command that reads the log: (advance by n, start with the total)."""
    bars: list[Any] = []

    def on_plan(total: int) -> None:
        if not quiet:
            click.echo(f"reading {total} records", err=True)
            bars.append(click.progressbar(length=max(total, 1), label="log", file=sys.stderr).__enter__())

    def advance(n: int) -> None:
        if bars:
            bars[-1].update(n)

    try:
        yield advance, on_plan
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
