"""The dependency rule of STYLE.md, kept by import-linter's contracts in pyproject.toml.

import-linter walks the `novalog` package on disk, and in the source tree its
subpackages live in sibling folders (events/, api/...), so the check runs on
the package as it installs: built into a temporary folder first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# import-linter's command, run by the interpreter that runs the tests: a virtualenv that reaches its
# packages through a .pth file has no `lint-imports` script of its own.
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def test_import_contracts_hold(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert build.returncode == 0, build.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    lint = subprocess.run(
        [*LINT_IMPORTS, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "4 kept, 0 broken" in lint.stdout, lint.stdout


def test_no_events_module_but_the_kafka_shell_is_declared_a_shell() -> None:
    """The purity contract holds every module pure but the shells it names; in novalog.events, only the Kafka shell."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (pure,) = [c for c in contracts if c["name"].startswith("Decisions are pure")]
    assert pure["source_modules"] == ["novalog"]
    importers = {line.split("->")[0].strip() for line in pure["ignore_imports"]}
    in_events = {m for m in importers if m == "novalog.events" or m.startswith("novalog.events.")}
    assert sorted(m for m in in_events if not m.startswith("novalog.events.kafka.")) == []
