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
    }
    for sid in posted:
        client.delete(sid)
    return result


def placement_throughput(bootstrap: str, host_count: int, requests: int) -> dict[str, Any]:
    """Placements per second of one scheduler fed from Kafka: build requests in, proposals out.

    A fresh topic prefix gets `host_count` synthetic host rows on its state
    topic and `requests` build requests on its instance topic; then one
    Scheduler (the service's own classes: HostTable, ColumnViews, ConsumeLoop)
    turns them into PlacementProposed records, and the clock runs from its
    first poll to the acknowledgement of its last proposal. Nothing answers
    the proposals, so every claim stays in flight: hosts are sized to hold them.
    """
    import random as _random
    import uuid

    from confluent_kafka import Consumer

    from novalog.events import topics
    from novalog.events.kafka import ConsumeLoop, EventLog, consumer_config, ensure_topics
    from novalog.events.outbound import Outbound
    from novalog.events.records import Envelope, Flavor, utcnow
    from novalog.events.state import HostState
    from novalog.events.types import InstanceBuildRequested
    from novalog.scheduler.live import ColumnViews
    from novalog.scheduler.options import SchedulerOptions
    from novalog.scheduler.service import Scheduler
    from novalog.scheduler.table import HostTable

    prefix = f"benchplace{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, topics.topic_specs(prefix, 8))
    log = EventLog(bootstrap, prefix, linger_ms=5)
    rng, now = _random.Random(0), utcnow()
    rows = [
        HostState(
            host=f"compute-{i:06d}", hypervisor_type="QEMU", hypervisor_hostname=f"compute-{i:06d}",
            vcpus=rng.choice((32, 64, 128)), memory_mb=rng.choice((131072, 262144)), disk_gb=2000,
            capacity_reported_at=now, last_heartbeat_at=now,
        )
        for i in range(host_count)
    ]
    log.append(Outbound(topics.STATE_HOSTS, row.host, row) for row in rows)
    flavor = Flavor(id="bench", name="bench.small", vcpus=1, ram=1024, disk=10)
    log.append(
        Outbound.event(iid, InstanceBuildRequested(
            envelope=Envelope.new("InstanceBuildRequested", "bench"), instance_id=iid, name=iid,
            project_id="bench", user_id="bench", flavor=flavor, image_ref="img",
        ))
        for iid in (str(uuid.uuid4()) for _ in range(requests))
    )
    table = HostTable(bootstrap, f"{prefix}.{topics.STATE_HOSTS}", f"{prefix}.{topics.HOST_HEARTBEATS}").start(120)
    scheduler = Scheduler("bench-scheduler", ColumnViews(table, 3600.0), SchedulerOptions(), 3600.0)
    consumer = Consumer(consumer_config(bootstrap, f"{prefix}-scheduler"))
    consumer.subscribe([f"{prefix}.{topics.INSTANCE_EVENTS}"])
    loop = ConsumeLoop(log, consumer, "bench-scheduler", lambda msg, record: scheduler.handle(record))
    handled, started = 0, None
    deadline = time.monotonic() + 300
    try:
        while handled < requests and time.monotonic() < deadline:
            got = loop.run_once(0.5)
            if got and started is None:
                started = time.monotonic()
            handled += got
        elapsed = time.monotonic() - (started or time.monotonic())
    finally:
        consumer.close()
        table.stop()
        log.close()
    return {"hosts": host_count, "requests": handled, "seconds": elapsed, "per_second": handled / elapsed if elapsed else 0.0}


def nova_host_json(host: Any) -> dict[str, Any]:
    """A SchedHost in the Nova-named host file format (scheduler/README.md)."""
    return {
        "host": host.host, "nodename": host.nodename,
        "total_usable_ram_mb": host.total_usable_ram_mb, "free_ram_mb": host.free_ram_mb,
        "vcpus_total": host.vcpus_total, "vcpus_used": host.vcpus_used,
        "total_usable_disk_gb": host.total_usable_disk_gb, "free_disk_mb": host.free_disk_mb,
        "num_instances": host.num_instances, "num_io_ops": host.num_io_ops,
        "hypervisor_type": host.hypervisor_type, "hypervisor_version": host.hypervisor_version,
        "cpu_allocation_ratio": host.cpu_allocation_ratio, "ram_allocation_ratio": host.ram_allocation_ratio,
        "disk_allocation_ratio": host.disk_allocation_ratio,
        "supported_instances": [list(t) for t in host.supported_instances] or [["x86_64", "qemu", "hvm"]],
        "service": {"up": host.service_up, "disabled": host.disabled},
    }


def nova_pass(venv: Any, hosts: list[Any], passes: int, work: Any) -> dict[str, Any] | None:
    """Today's Nova filter scheduler pass over the same hosts, from a separate virtualenv (made if missing)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    python = Path(venv) / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(python), "-c", "import nova"], capture_output=True).returncode != 0:
        installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "nova"], capture_output=True, text=True)
        if installed.returncode != 0:
            return None
    hosts_file = Path(work) / "hosts.json"
    hosts_file.write_text(json.dumps([nova_host_json(h) for h in hosts]))
    script = Path(__file__).resolve().parents[1] / "deploy" / "bench" / "nova_filter_pass.py"
    run = subprocess.run(
        [str(python), "-W", "ignore", str(script), "--hosts-file", str(hosts_file), "--passes", str(passes)],
        capture_output=True, text=True, timeout=1800,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the Nova pass failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
