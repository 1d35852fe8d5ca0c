"""`novalog bench boot` runs once at a tiny size in each of its loads, so it does not rot (no timing is asserted)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from novalog.boot_hops import STAGES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("load", [["--count", "4", "--concurrency", "2"], ["--rate", "4", "--duration", "1"]], ids=["burst", "open-loop"])
def test_bench_boot_boots_prints_every_hop_and_deletes_its_topics(kafka_bootstrap: str, tmp_path: Path, load: list[str]) -> None:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": kafka_bootstrap, "NOVALOG_STATE_DIR": str(tmp_path),
           "NOVALOG_API_PORT": str(free_port()), "NOVALOG_SCHEMA_REGISTRY_PORT": str(free_port())}

    run = subprocess.run([sys.executable, "-m", "novalog", "bench", "boot", *load, "--hosts", "2"],
                         env=env, capture_output=True, text=True, timeout=300)

    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert re.search(r"^boot 4 servers \(.*2 test-driver hosts\): 4 ACTIVE, 0 ERROR, 0 refused, 0 unsettled$", out, re.M), out
    assert re.search(r"^POST-to-ACTIVE latency: p50 \d+ ms, p99 \d+ ms$", out, re.M), out
    hops = re.findall(r"^  (.+?) +p50 +[\d.]+ ms, p99 +[\d.]+ ms  \(4 servers\)$", out, re.M)
    ends = ["create due → request accepted", "instance ACTIVE → seen by the client"]
    assert hops == [f"{a} → {b}" for a, b in zip(STAGES, STAGES[1:])] + ["whole path", *ends], out
    assert re.search(r"^  kafka broker +[\d.]+ s", out, re.M) and re.search(r"^  projections +[\d.]+ s", out, re.M), out
    prefix = re.search(r"deleted the bench topics \((\w+)\.\*\)", out).group(1)
    assert not [t for t in AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics if t.startswith(prefix)]
