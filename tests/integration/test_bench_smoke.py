"""The benchmark commands that read or write the log run once at a tiny size, so none rots (no timing is asserted).

`novalog bench scheduler` runs in tests/pure/test_scheduler_bench.py; `bench
boot` needs a whole stack and is smoked on its own.

`bench nova-compare` is not run in CI: it installs Nova and its ~90
dependencies from PyPI into a separate virtualenv, which took 2 min 25 s on
the 2-core machine with pip's cache already warm (venv 28 s, pip 1 min 56 s),
an eighth of the time CI may take, and makes CI depend on PyPI and on
whatever Nova release is newest that day. Its novalog half is the pass that
`bench scheduler` smokes; the Nova half (deploy/bench/nova_filter_pass.py)
runs only where someone asks for the comparison.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient


def test_bench_replay_generates_the_log_replays_it_and_deletes_its_topics(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": kafka_bootstrap, "NOVALOG_STATE_DIR": str(tmp_path)}

    run = subprocess.run([sys.executable, "-m", "novalog", "bench", "replay", "--events", "2000"],
                         env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stdout + run.stderr
    generated = re.search(r"^generated (\d+) events \((\d+) undecodable or misplaced\)", run.stdout, re.M)
    replayed = re.search(r"^replay: (\d+) events in [\d.]+ s = [\d,]+ events/s \([\d.]+ s with planning; (\d+) dead letters\)", run.stdout, re.M)
    assert generated and replayed, run.stdout
    assert generated.group(1) == replayed.group(1) == "2000"
    assert generated.group(2) == replayed.group(2)  # every record the generator spoiled, and no other, is a dead letter
    rows = dict(re.findall(r"(\w+) (\d+)", run.stdout.split("rows: ", 1)[1].splitlines()[0]))
    assert int(rows["host_state"]) > 0 and int(rows["instances"]) > 0 and rows["catalog"] == "5", run.stdout
    prefix = re.search(r"deleted the bench topics \((\w+)\.\*\)", run.stdout).group(1)
    assert not [t for t in AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics if t.startswith(f"{prefix}.")]


def test_bench_placements_places_the_requests_it_wrote(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": kafka_bootstrap, "NOVALOG_STATE_DIR": str(tmp_path)}

    run = subprocess.run([sys.executable, "-m", "novalog", "bench", "placements", "--hosts", "50", "--requests", "20"],
                         env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stdout + run.stderr
    # 20 requests run too briefly to time: the command says so rather than printing a rate it could not measure.
    assert re.search(r"^one scheduler fed from Kafka, 50 hosts \(filters: ComputeFilter, .*; weighers: RAMWeigher", run.stdout, re.M), run.stdout
    assert re.search(r"^  20 placements in [\d.]+ s(: too short to time| = \d+ placements/s)", run.stdout, re.M), run.stdout
    assert re.search(r"^  scheduler RSS: \d+ MB before the host table loads, \d+ MB with 50 hosts", run.stdout, re.M), run.stdout
    prefix = re.search(r"^  deleted the bench topics \((\w+)\.\*\)", run.stdout, re.M).group(1)
    assert not [t for t in AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics if t.startswith(f"{prefix}.")]
