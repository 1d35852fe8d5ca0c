"""`novalog bench startup`: how long `novalog schedule --explain --hosts FILE` takes from exec to exit.

The command is the one an operator runs by hand, over and over, to ask
"where would this go?", so its start is most of what they wait for. Each
run is a fresh interpreter (`python -m novalog ...` on the shipped example
files); the median wall time, and the CPU time the child spent (which a
loaded machine inflates less than the wall time), are printed beside a bare
interpreter's. `--imports` adds the slowest imports of one run
(`python -X importtime`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True, slots=True)
class Timing:
    """Median wall and CPU time of a command's runs, in ms."""

    wall_ms: float
    cpu_ms: float
    runs: int


def explain_command() -> list[str]:
    """`novalog schedule --explain` on the example host and request files shipped with the scheduler."""
    spec = importlib.util.find_spec("novalog.scheduler.examples")
    assert spec is not None and spec.submodule_search_locations, "novalog.scheduler.examples is a package"
    examples = Path(next(iter(spec.submodule_search_locations)))
    return [sys.executable, "-m", "novalog", "schedule", "--explain",
            "--hosts", str(examples / "hosts.json"), "--request", str(examples / "request.json")]


def time_runs(command: list[str], runs: int) -> Timing:
    """Run `command` `runs` times; it must succeed each time."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return Timing(statistics.median(walls) * 1000, statistics.median(cpus) * 1000, runs)


def slowest_imports(command: list[str], count: int) -> list[tuple[int, str]]:
    """The `count` top-level imports of one run of `command` that took longest (cumulative us, module)."""
    run = subprocess.run([command[0], "-X", "importtime", *command[1:]], check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    top = [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| (\S+)$", run.stderr, re.M)]
    return sorted(top, reverse=True)[:count]


@click.command("startup")
@click.option("--runs", default=20, show_default=True, help="fresh interpreters timed; the medians are printed")
@click.option("--imports", "import_count", default=0, show_default=True, help="also list this many slowest top-level imports")
def bench_startup(runs: int, import_count: int) -> None:
    """Start-to-exit time of `novalog schedule --explain --hosts FILE` (median wall and CPU ms), beside a bare interpreter."""
    command = explain_command()
    bare = time_runs([sys.executable, "-c", "pass"], runs)
    explain = time_runs(command, runs)
    click.echo(f"python {sys.version.split()[0]} on {sys.platform}; load average {' '.join(f'{x:.1f}' for x in _load())}")
    click.echo(f"schedule --explain --hosts (example files): median {explain.wall_ms:.0f} ms wall, {explain.cpu_ms:.0f} ms CPU ({runs} runs)")
    click.echo(f"bare interpreter (python -c pass):          median {bare.wall_ms:.0f} ms wall, {bare.cpu_ms:.0f} ms CPU")
    for micros, module in slowest_imports(command, import_count) if import_count else []:
        click.echo(f"  import {module}: {micros / 1000:.1f} ms")


def _load() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # not every platform has it
        return (0.0, 0.0, 0.0)
