"""`novalog bench boot`: POST /servers to ACTIVE on a fresh local stack, as a client sees it, and hop by hop.

Two loads:
* a burst (closed loop): `--count N` creates, `--concurrency C` POSTs in
  flight at a time, as fast as the API answers; the throughput is how fast
  the stack drains them;
* a steady rate (open loop): `--rate R --duration S` sends R creates a
  second for S seconds on schedule, whatever the answers; each latency runs
  from the create's scheduled time, so a slow answer cannot hide the wait of
  the creates queued behind it.

One watcher notes when each server is first ACTIVE (or ERROR) by polling
`GET /servers/detail?changes-since=...` every 20 ms, so it reads only the
servers that changed since its last look, not all of them. A row is stamped
with its event's time, which may be older than the look that first shows
it (the projections lag behind the log), so each look reaches back to the
oldest create that has not settled yet (and 0.1 s more), no further: a
look that re-read every server of the last second served fifty times the
rows a steady load creates, and loaded the API it measures. After the run,
the log gives each hop's share (novalog/boot_hops.py).
"""

from __future__ import annotations

import concurrent.futures
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from novalog.boot_hops import Hop, hops, percentile, read_stages
from novalog.demo import ComputeClient

TINY = {"name": "bench.tiny", "id": "bench-tiny", "vcpus": 1, "ram": 64, "disk": 1}
WATCH_EVERY_S = 0.02
# How much further back than the oldest unsettled create each look reaches: a margin for the stamps' clock.
LOOK_BACK_S = 0.1
# A benchmark boots thousands of servers in one project.
UNLIMITED_QUOTA = {"instances": -1, "cores": -1, "ram": -1}


@dataclass
class BootRun:
    """What the client saw: when each create was due and answered, and when each server settled."""

    due: dict[str, float] = field(default_factory=dict)  # server id -> when its create was scheduled (monotonic)
    settled: dict[str, tuple[float, str]] = field(default_factory=dict)  # server id -> (when, ACTIVE or ERROR)
    refused: list[str] = field(default_factory=list)  # creates that got no 202
    sending: dict[str, float] = field(default_factory=dict)  # name -> due, while its POST awaits an answer
    began: float = 0.0
    # Wall clock minus monotonic clock: turns this run's times into the log's (epoch) times.
    offset_s: float = field(default_factory=lambda: time.time() - time.monotonic())

    def oldest_unsettled(self) -> float | None:
        """The due time of the oldest create that may still change: in flight, or answered and not yet settled.

        No server of this run can be stamped earlier than its create's due
        time, so a look from there on misses none of them.
        """
        pending = list(self.sending.values())
        settled = self.settled.keys()
        pending += [due for sid, due in list(self.due.items()) if sid not in settled]
        return min(pending, default=None)

    def latencies_ms(self) -> list[float]:
        return [(at - self.due[sid]) * 1000 for sid, (at, status) in self.settled.items() if status == "ACTIVE" and sid in self.due]

    def summary(self) -> dict[str, float | int]:
        ours = {sid: s for sid, s in self.settled.items() if sid in self.due}
        latencies = self.latencies_ms()
        finished = max((at for at, _ in ours.values()), default=self.began)
        wall = finished - self.began
        return {
            "servers": len(self.due) + len(self.refused),
            "active": len(latencies),
            "error": sum(1 for _, status in ours.values() if status == "ERROR"),
            "refused": len(self.refused),
            "unsettled": len(self.due) - len(ours),
            "p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
            "throughput_per_s": len(ours) / wall if ours and wall > 0 else 0.0,
            "wall_s": wall,
        }


class Watcher:
    """Polls the servers that changed since its last look and notes when each first settles."""

    def __init__(self, api_url: str, run: BootRun) -> None:
        self.client = ComputeClient(api_url)
        self.run = run
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="bench-watcher", daemon=True)

    def _watch(self) -> None:
        since = datetime.now(UTC) - timedelta(seconds=5)
        while not self.done.is_set():
            now, asked = time.monotonic(), datetime.now(UTC)
            found = self.client.http.get("/servers/detail", params={"changes-since": since.isoformat()}).json()["servers"]
            for server in found:
                if server["status"] in ("ACTIVE", "ERROR") and server["id"] not in self.run.settled:
                    self.run.settled[server["id"]] = (now, server["status"])
            # Only the servers not settled yet matter, and none is stamped before its create was due.
            oldest = self.run.oldest_unsettled()
            since = asked - timedelta(seconds=LOOK_BACK_S + (0.0 if oldest is None else now - oldest))
            time.sleep(WATCH_EVERY_S)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(5)


def _creator(api_url: str) -> ComputeClient:
    local = threading.local()

    def client() -> ComputeClient:
        if not hasattr(local, "client"):
            local.client = ComputeClient(api_url)
        return local.client

    return client


def _boot(client: ComputeClient, run: BootRun, name: str, due: float) -> None:
    run.sending[name] = due
    try:
        run.due[client.boot(name, TINY["id"])] = due
    except RuntimeError as exc:
        run.refused.append(str(exc))
    finally:
        del run.sending[name]


def _wait_settled(run: BootRun, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not set(run.due) <= set(run.settled):
        time.sleep(0.05)


def burst(api_url: str, count: int, concurrency: int, timeout: float = 300.0) -> BootRun:
    """`count` creates, `concurrency` at a time (closed loop); each latency from the moment its POST went."""
    ComputeClient(api_url).ensure_flavor(TINY)
    run, client = BootRun(), _creator(api_url)
    with Watcher(api_url, run):
        run.began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda i: _boot(client(), run, f"bench-{i}", time.monotonic()), range(count)))
        _wait_settled(run, timeout)
    return run


def steady(api_url: str, rate: float, duration: float, timeout: float = 300.0, senders: int = 64) -> BootRun:
    """`rate` creates a second for `duration` seconds, each sent at its time whatever the others' answers (open loop).

    A pool of `senders` threads sends them; if all are busy a create goes out
    late, and its latency still counts from its scheduled time.
    """
    ComputeClient(api_url).ensure_flavor(TINY)
    run, client = BootRun(), _creator(api_url)
    total = int(rate * duration)
    with Watcher(api_url, run), concurrent.futures.ThreadPoolExecutor(senders) as pool:
        run.began = time.monotonic()
        for i in range(total):
            due = run.began + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(_boot, client(), run, f"bench-{i}", due)
        pool.shutdown(wait=True)
        _wait_settled(run, timeout)
    return run


def client_hops(at: dict[str, dict[str, float]], run: BootRun) -> list[Hop]:
    """The path's two ends that only the client sees, p50 and p99 in ms.

    From a create's due time to its request's append (the client's send,
    the API's handling), and from the ACTIVE row's append to the look that
    first showed it (the API's read of the row, the watcher's poll). The
    client's clock and the broker's are the same machine's.
    """
    sent, seen = [], []
    for sid, due in run.due.items():
        stages = at.get(sid, {})
        if "request accepted" in stages:
            sent.append(stages["request accepted"] - (due + run.offset_s) * 1000)
        settled = run.settled.get(sid)
        if settled is not None and settled[1] == "ACTIVE" and "instance ACTIVE" in stages:
            seen.append((settled[0] + run.offset_s) * 1000 - stages["instance ACTIVE"])
    names = ("create due → request accepted", "instance ACTIVE → seen by the client")
    return [Hop(name, len(deltas), statistics.median(deltas), percentile(deltas, 99)) for name, deltas in zip(names, (sent, seen)) if deltas]


def hosts_file(work: Path, hosts: int, servers: int) -> Path:
    """Test-driver hosts that hold `servers` tiny servers between them, with room to spare."""
    vcpus = max(4, servers // hosts + 2)
    path = work / "hosts.toml"
    path.write_text("".join(
        f'[[hosts]]\nname = "bench{i}"\nvcpus = {vcpus}\nmemory_mb = {vcpus * 128}\ndisk_gb = {vcpus * 2}\n\n' for i in range(hosts)
    ))  # fmt: skip
    return path


def service_pids(stack, bootstrap: str) -> dict[str, int]:
    """The stack's processes, and the broker's when it listens on this machine."""
    import psutil

    pids = {name: proc.pid for name, proc in stack.procs.items()}
    port = int(bootstrap.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            pids["kafka broker"] = conn.pid
    return pids


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
            out[name] = times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
    return out


def print_cpu(before: dict[str, float], after: dict[str, float], servers: int) -> None:
    """CPU each process spent during the load: on a shared two-core machine, this is what latency waits behind."""
    used = {name: after[name] - before[name] for name in after if name in before}
    click.echo(f"CPU during the load: {sum(used.values()):.1f} s in all, {1000 * sum(used.values()) / max(servers, 1):.1f} ms per server")
    for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {name:<20} {seconds:6.1f} s  {1000 * seconds / max(servers, 1):6.2f} ms per server")


def print_hops(breakdown: list[Hop], ends: list[Hop]) -> None:
    click.echo("per hop, from the log (each record's append time):")
    for hop in breakdown:
        click.echo(f"  {hop.name:<42} p50 {hop.p50_ms:6.1f} ms, p99 {hop.p99_ms:6.1f} ms  ({hop.count} servers)")
    click.echo("the client's ends (its clock against the append times):")
    for hop in ends:
        click.echo(f"  {hop.name:<42} p50 {hop.p50_ms:6.1f} ms, p99 {hop.p99_ms:6.1f} ms  ({hop.count} servers)")


@click.command("boot")
@click.option("--count", default=100, show_default=True, help="creates of a burst (closed loop)")
@click.option("--concurrency", default=10, show_default=True, help="POSTs in flight at a time in a burst")
@click.option("--rate", type=float, default=None, help="creates per second, sent on schedule (open loop); with --duration")
@click.option("--duration", type=float, default=None, help="seconds of the open-loop load")
@click.option("--hosts", "host_count", default=3, show_default=True, help="simulated hosts of the fresh bench stack")
def bench_boot(count: int, concurrency: int, rate: float | None, duration: float | None, host_count: int) -> None:
    """Boot servers through the API on a fresh local stack; print POST-to-ACTIVE p50/p99, the throughput, and each hop."""
    from novalog.bench_replay import delete_prefixed_topics
    from novalog.cli import _ensure_local_broker
    from novalog.services import ensure_all_topics
    from novalog.settings import get_settings
    from novalog.stack import LocalStack

    if (rate is None) != (duration is None):
        raise click.UsageError("--rate and --duration go together")
    if rate is not None and (rate <= 0 or duration <= 0):
        raise click.UsageError("--rate and --duration must be positive")
    servers = int(rate * duration) if rate is not None else count
    settings = get_settings()
    broker = _ensure_local_broker(settings)
    work = Path(tempfile.mkdtemp(prefix="novalog-bench-"))
    bench_settings = settings.model_copy(update={
        "topic_prefix": f"bench{uuid.uuid4().hex[:8]}", "hosts_file": hosts_file(work, host_count, servers), "state_dir": work,
        "auth_strategy": "noauth2", "quota_defaults": UNLIMITED_QUOTA,
    })  # fmt: skip
    ensure_all_topics(bench_settings)
    stack = LocalStack(bench_settings)
    try:
        stack.start_all([f"bench{i}" for i in range(host_count)])
        stack.wait_api(90)
        stack.wait_hosts_up(host_count)
        pids = service_pids(stack, bench_settings.kafka_bootstrap)
        pids["bench client"] = os.getpid()
        before = cpu_seconds(pids)
        run = steady(stack.api_url, rate, duration) if rate is not None else burst(stack.api_url, count, concurrency)
        after = cpu_seconds(pids)
        stages = read_stages(bench_settings.kafka_bootstrap, bench_settings.topic_prefix).at
        breakdown, ends = hops(stages, list(run.due)), client_hops(stages, run)
    finally:
        stack.stop_all()
        prefix = bench_settings.topic_prefix
        delete_prefixed_topics(settings.kafka_bootstrap, prefix)
        if broker is not None:
            broker.stop()
    r = run.summary()
    load = f"{rate:g}/s for {duration:g} s (open loop)" if rate is not None else f"burst, {concurrency} concurrent POSTs"
    click.echo(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    click.echo(f"boot {r['servers']} servers ({load}, {host_count} test-driver hosts): "
               f"{r['active']} ACTIVE, {r['error']} ERROR, {r['refused']} refused, {r['unsettled']} unsettled")  # fmt: skip
    click.echo(f"POST-to-ACTIVE latency: p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms")
    click.echo(f"throughput: {r['throughput_per_s']:.1f} servers/s ({r['wall_s']:.1f} s wall)")
    print_hops(breakdown, ends)
    print_cpu(before, after, r["servers"])
    click.echo(f"deleted the bench topics ({prefix}.*)")
