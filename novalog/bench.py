"""Benchmarks that print their figures (never timed tests): boot N servers through the API."""

from __future__ import annotations

import concurrent.futures
import statistics
import threading
import time
from typing import Any

from novalog.demo import ComputeClient

TINY = {"name": "bench.tiny", "id": "bench-tiny", "vcpus": 1, "ram": 64, "disk": 1}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def boot_benchmark(api_url: str, count: int, concurrency: int = 10, timeout: float = 300.0) -> dict[str, Any]:
    """Boot `count` servers at `concurrency` POSTs at a time; measure POST-to-ACTIVE as the client sees it.

    One watcher polls GET /servers/detail every 20 ms and notes when each
    server is first ACTIVE (or ERROR), so polling adds one request per tick,
    not one per server.
    """
    client = ComputeClient(api_url)
    client.ensure_flavor(TINY)
    posted: dict[str, float] = {}
    settled: dict[str, tuple[float, str]] = {}
    done = threading.Event()

    def watch() -> None:
        watcher = ComputeClient(api_url)
        while not done.is_set():
            now = time.monotonic()
            for server in watcher.http.get("/servers/detail").json()["servers"]:
                if server["status"] in ("ACTIVE", "ERROR") and server["id"] not in settled:
                    settled[server["id"]] = (now, server["status"])
            time.sleep(0.02)

    def boot(i: int) -> None:
        start = time.monotonic()
        server_id = client.boot(f"bench-{i}", TINY["id"])
        posted[server_id] = start

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(boot, range(count)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not set(posted) <= set(settled):
        time.sleep(0.05)
    done.set()
    watcher.join(2)
    ours = {sid: settled[sid] for sid in posted if sid in settled}
    latencies = [(at - posted[sid]) * 1000 for sid, (at, status) in ours.items() if status == "ACTIVE"]
    finished = max((at for at, _ in ours.values()), default=time.monotonic())
    result = {
        "servers": count,
        "active": len(latencies),
        "error": sum(1 for _, status in ours.values() if status == "ERROR"),
        "unsettled": count - len(ours),
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
        "throughput_per_s": len(ours) / (finished - began) if ours else 0.0,
        "wall_s": finished - began,
        "ids": list(posted),
    }
    for sid in posted:
        client.delete(sid)
    return result
