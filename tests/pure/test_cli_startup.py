"""The CLI starts without importing what a command does not need (no timing asserted), and its lazy commands all resolve."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from novalog.bench_startup import explain_command
from novalog.cli import LazyGroup, main

# The service shells' libraries, and what only the columnar pass or the live table needs.
HEAVY = ("confluent_kafka", "faust", "fastapi", "rocksdict", "libvirt", "httpx", "numpy", "pydantic_settings",
         "novalog.settings", "novalog.events.state", "novalog.services")


def modules_loaded_by(args: list[str]) -> set[str]:
    """The HEAVY modules in sys.modules after `novalog ARGS` ran to completion in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        "from novalog.cli import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_explaining_a_host_file_imports_no_service_shell_numpy_or_settings() -> None:
    args = explain_command()[3:]  # after "python -m novalog"

    assert args[:2] == ["schedule", "--explain"]
    assert modules_loaded_by(args) == set()


def test_the_probe_sees_a_heavy_import_when_one_happens() -> None:
    # the same probe on the scheduler benchmark's tiny pass: the columnar pass needs numpy
    loaded = modules_loaded_by(["bench", "scheduler", "--hosts", "20", "--passes", "1", "--requests", "0", "--nova-venv", ""])

    assert "numpy" in loaded


def lazy_groups(group: click.Group, path: str = "novalog"):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from lazy_groups(command, f"{path} {name}")
    if isinstance(group, LazyGroup):
        yield path, group


@pytest.mark.parametrize(("path", "group"), list(lazy_groups(main)), ids=lambda v: v if isinstance(v, str) else "")
def test_every_lazy_command_resolves_to_a_command_of_its_name(path, group) -> None:
    ctx = click.Context(group)
    for name in group.lazy:
        command = group.get_command(ctx, name)
        assert isinstance(command, click.Command), f"{path} {name}"
        assert name in group.list_commands(ctx)


def test_bench_startup_prints_the_medians() -> None:
    result = CliRunner().invoke(main, ["bench", "startup", "--runs", "1", "--imports", "3"])

    assert result.exit_code == 0, result.output
    assert "schedule --explain --hosts (example files): median" in result.output
    assert "bare interpreter (python -c pass):" in result.output
    assert result.output.count("  import ") == 3
