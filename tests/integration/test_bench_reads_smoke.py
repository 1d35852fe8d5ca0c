"""`novalog bench reads` runs once at a tiny size, so it does not rot (no timing is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient

FIGURE = r"p50 [\d.]+ ms, p99 [\d.]+ ms"


def test_bench_reads_prints_the_latencies_and_the_memory_at_each_size_and_deletes_its_topics(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {**os.environ, "NOVALOG_KAFKA_BOOTSTRAP": kafka_bootstrap, "NOVALOG_STATE_DIR": str(tmp_path)}

    run = subprocess.run([sys.executable, "-m", "novalog", "bench", "reads", "--servers", "20,50", "--requests", "5"],
                         env=env, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    for size, rows in (("20", "20"), ("50", "50")):
        section = out.split(f"at {size} servers", 1)[1].split("\nat ", 1)[0]
        assert re.search(rf"GET /servers/detail\?limit=1000&all_tenants=1 \(admin, {rows} rows\): {FIGURE}", section), out
        assert re.search(rf"GET /servers/\{{id\}} \(random ids\) \(admin, 1 row\): {FIGURE}", section), out
        assert re.search(r"API RSS: [\d.]+ MB", section) and re.search(r"projection worker RSS: [\d.]+ MB", section), out
    assert re.search(r"^how the servers got there: each server's boot folded by the real instance fold", out, re.M), out
    table = out.split("servers  detail p50/p99 ms", 1)[1].splitlines()[1:3]
    assert [line.split()[0] for line in table] == ["20", "50"], out
    prefix = re.search(r"deleted the bench topics \((\w+)\.\*", out).group(1)
    assert not [t for t in AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics if t.startswith(prefix)]
