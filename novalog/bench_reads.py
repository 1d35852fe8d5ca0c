"""`novalog bench reads`: list and show latency of the real API at 1,000 to 100,000 servers, and the memory it takes.

How the servers get there: projections/synthetic_fleet.py folds each
server's boot (the user's create, the scheduler's proposal, the claim
decision, the agent's spawn) through the real instance fold; this command
publishes the rows it leaves, Avro encoded as the worker publishes them, on
the instance table's compacted state topic of a fresh topic prefix, and on
the table's changelog. Then, at each size:

```
rows ─▶ <prefix>.state.instances ─▶ `novalog serve api` (ReadCache, its TopicFeed) ◀── HTTP GETs (noauth2 tokens, as bench boot)
     └▶ <prefix>-projections-instances-changelog ─▶ `novalog serve projections` (Faust, RocksDB) recovers them ─▶ RSS once ready
```

Both processes are started afresh at each size, so each reads every row
through its normal start (the API's feed from the beginning of the state
topics, the worker's recovery of its tables). The bench topics are deleted
afterwards unless --keep.
"""

from __future__ import annotations

import itertools
import os
import platform
import random
import shutil
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import httpx

from novalog.bench_replay import PRODUCE_BATCH, _produce
from novalog.boot_hops import percentile

PROJECTS, HOSTS = 100, 100
ADMIN = "admin:admin"  # noauth2: the user `admin` is an admin


@dataclass(frozen=True, slots=True)
class Latency:
    """One request's figures over a run: what was asked, who asked, rows per answer, p50 and p99 in ms."""

    what: str
    who: str
    rows: int
    p50: float
    p99: float


@dataclass(frozen=True, slots=True)
class Size:
    servers: int
    caught_up_s: float
    latencies: list[Latency]
    api_rss: int
    worker_rss: int | None
    worker_ready_s: float | None


def timed(client: httpx.Client, path: str, token: str, count: int, paths: Callable[[int], str] | None = None) -> tuple[list[float], int]:
    """`count` sequential GETs (after a few untimed ones); their latencies in ms and the rows of the last answer."""
    rows, samples = 0, []
    for i in range(count + 5):
        url = paths(i) if paths else path
        began = time.perf_counter()
        answer = client.get(url, headers={"X-Auth-Token": token})
        took = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            raise click.ClickException(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
        if i >= 5:
            samples.append(took)
        body = answer.json()
        rows = len(body["servers"]) if "servers" in body else 1
    return samples, rows


def measure(api_url: str, fleet_ids: list[str], requests: int, seed: int) -> list[Latency]:
    """The lists and shows timed at one size."""
    rng = random.Random(seed)
    middle = fleet_ids[len(fleet_ids) // 2]
    runs = [
        ("GET /servers/detail?limit=1000&all_tenants=1", "admin", ADMIN, "/v2.1/servers/detail?limit=1000&all_tenants=1", requests),
        ("GET /servers/detail?limit=1000&all_tenants=1&marker=<the middle server>", "admin", ADMIN,
         f"/v2.1/servers/detail?limit=1000&all_tenants=1&marker={middle}", requests),
        ("GET /servers/detail?limit=1000", "member of p0000", "bench-user:p0000", "/v2.1/servers/detail?limit=1000", requests),
        ("GET /servers?limit=1000&all_tenants=1", "admin", ADMIN, "/v2.1/servers?limit=1000&all_tenants=1", requests),
    ]
    out = []
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for what, who, token, path, count in runs:
            samples, rows = timed(client, path, token, count)
            out.append(Latency(what, who, rows, statistics.median(samples), percentile(samples, 99)))
        shows = [rng.choice(fleet_ids) for _ in range(requests * 5 + 5)]
        samples, _ = timed(client, "", ADMIN, requests * 5, lambda i: f"/v2.1/servers/{shows[i]}")
        out.append(Latency("GET /servers/{id} (random ids)", "admin", 1, statistics.median(samples), percentile(samples, 99)))
    return out


def publish(bootstrap: str, prefix: str, rows: Iterator, count: int, ids: list[str]) -> None:
    """Append `count` rows of the fleet to the instance table's state topic and changelog (same key, same partition)."""
    from confluent_kafka import KafkaException, Producer

    from novalog.events import topics
    from novalog.events.codec import encode
    from novalog.events.kafka.log import producer_config
    from novalog.projections.worker import changelog_specs

    producer = Producer({**producer_config(bootstrap), **PRODUCE_BATCH})
    failures: list[str] = []

    def delivered(err, msg) -> None:  # noqa: ANN001 - confluent-kafka's callback
        if err is not None:
            failures.append(str(err))

    state, changelog = f"{prefix}.{topics.STATE_INSTANCES}", f"{prefix}-projections-instances-changelog"
    targets = [state, changelog] if changelog in changelog_specs(prefix, 1) else [state]
    for n, row in enumerate(itertools.islice(rows, count), 1):
        key, value = row.instance_id.encode(), encode(row)
        for topic in targets:
            _produce(producer, topic, key, value, delivered)
        ids.append(row.instance_id)
        if n % 5000 == 0:
            producer.poll(0)
    if producer.flush(120) or failures:
        raise KafkaException(f"the fleet was not all written: {failures[:3] or 'flush timed out'}")


def rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def api_at_size(stack, ids: list[str], requests: int, seed: int) -> tuple[float, list[Latency], int]:  # noqa: ANN001
    """Start the API, time its catch-up and the requests, note its RSS, stop it."""
    began = time.perf_counter()
    proc = stack.start("api", "api")
    try:
        stack.wait_api(300)
        caught_up = time.perf_counter() - began
        latencies = measure(stack.api_url, ids, requests, seed)
        return caught_up, latencies, rss(proc.pid)
    finally:
        stack.stop("api")


def worker_at_size(stack, timeout: float = 600) -> tuple[float, int]:  # noqa: ANN001
    """Start the projection worker, wait until Faust says it is ready (its tables recovered) and its RSS has settled, note it, stop it."""
    log = stack.log_dir / "projections.log"
    seen = log.stat().st_size if log.exists() else 0
    began = time.perf_counter()
    proc = stack.start("projections", "projections")

    def waited() -> float:
        stack.check_alive()
        if time.perf_counter() - began > timeout:
            raise click.ClickException(f"the projection worker was not ready in {timeout:g} s: {stack.tail('projections')}")
        time.sleep(0.5)
        return time.perf_counter() - began

    try:
        while "Worker ready" not in log.read_bytes()[seen:].decode(errors="replace"):
            waited()
        ready, last = waited(), rss(proc.pid)
        # Tables kept outside Faust may still be catching up: wait until the RSS stops growing (under 1 MB in 2 s).
        while (now := rss(proc.pid)) - last > 1 << 20 or time.perf_counter() - began - ready < 2:
            last = now
            waited()
        return ready, now
    finally:
        stack.stop("projections")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@click.command("reads")
@click.option("--servers", default="1000,10000,100000", show_default=True, help="fleet sizes, ascending, comma separated")
@click.option("--requests", default=200, show_default=True, help="timed GETs per list at each size (shows: five times as many)")
@click.option("--worker/--no-worker", default=True, show_default=True, help="also start the projection worker at each size and print its RSS")
@click.option("--seed", default=0, show_default=True)
@click.option("--keep", is_flag=True, help="keep the bench topics (their prefix is printed) instead of deleting them")
def bench_reads(servers: str, requests: int, worker: bool, seed: int, keep: bool) -> None:
    """List and show latency (p50/p99) of the API over HTTP at each fleet size, and the API's and the worker's RSS."""
    from novalog.bench_replay import delete_prefixed_topics
    from novalog.cli import _ensure_local_broker
    from novalog.events import topics
    from novalog.events.kafka.log import ensure_topics
    from novalog.projections.synthetic_fleet import fleet
    from novalog.projections.worker import changelog_specs
    from novalog.services import ensure_all_topics
    from novalog.settings import get_settings
    from novalog.stack import LocalStack

    sizes = [int(s) for s in servers.split(",")]
    if sizes != sorted(sizes) or sizes[0] < 1:
        raise click.BadParameter("sizes must be positive and ascending", param_hint="--servers")
    settings = get_settings()
    broker = _ensure_local_broker(settings)
    prefix, work = f"benchreads{uuid.uuid4().hex[:8]}", Path(tempfile.mkdtemp(prefix="novalog-bench-reads-"))
    bench = settings.model_copy(update={"topic_prefix": prefix, "state_dir": work, "auth_strategy": "noauth2", "api_port": free_port()})
    results: list[Size] = []
    ids: list[str] = []
    rows = fleet(PROJECTS, HOSTS, seed)
    try:
        ensure_all_topics(bench)
        ensure_topics(settings.kafka_bootstrap, changelog_specs(prefix, settings.partitions))
        with LocalStack(bench) as stack:
            for size in sizes:
                click.echo(f"publishing rows {len(ids) + 1} to {size} ...", err=True)
                publish(settings.kafka_bootstrap, prefix, rows, size - len(ids), ids)
                caught_up, latencies, api_rss = api_at_size(stack, ids, requests, seed)
                ready, worker_rss = worker_at_size(stack) if worker else (None, None)
                results.append(Size(size, caught_up, latencies, api_rss, worker_rss, ready))
                _report_size(results[-1])
    finally:
        if not keep:
            delete_prefixed_topics(settings.kafka_bootstrap, prefix)
        shutil.rmtree(work, ignore_errors=True)
        if broker is not None:
            broker.stop()
    _report(results, prefix, keep, f"{prefix}.{topics.STATE_INSTANCES}")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _report_size(size: Size) -> None:
    click.echo(f"at {size.servers:,} servers (the API read them in {size.caught_up_s:.1f} s, start included):")
    for lat in size.latencies:
        click.echo(f"  {lat.what} ({lat.who}, {lat.rows} row{'s' if lat.rows != 1 else ''}): p50 {lat.p50:.1f} ms, p99 {lat.p99:.1f} ms")
    click.echo(f"  API RSS: {_mb(size.api_rss)}")
    if size.worker_rss is not None:
        click.echo(f"  projection worker RSS: {_mb(size.worker_rss)} (its instance table of {size.servers:,} rows recovered "
                   f"from the changelog; ready in {size.worker_ready_s:.1f} s)")


def _report(results: list[Size], prefix: str, keep: bool, state_topic: str) -> None:
    click.echo(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    click.echo(f"how the servers got there: each server's boot folded by the real instance fold (projections/synthetic_fleet.py: "
               f"create, proposal, claim decision, spawn; {PROJECTS} projects, {HOSTS} hosts), its row published on {state_topic} "
               f"and the instance table's changelog, read by a fresh `novalog serve api` (and `serve projections`) at each size")
    click.echo("servers  detail p50/p99 ms  show p50/p99 ms  API RSS  worker RSS")
    for size in results:
        detail, show = size.latencies[0], size.latencies[-1]
        worker = _mb(size.worker_rss) if size.worker_rss is not None else "-"
        click.echo(f"{size.servers:>7}  {detail.p50:6.1f} {detail.p99:6.1f}    {show.p50:6.1f} {show.p99:6.1f}   "
                   f"{_mb(size.api_rss):>9}  {worker:>9}")
    click.echo(f"kept the bench topics: prefix {prefix}" if keep else f"deleted the bench topics ({prefix}.*, {prefix}-*)")
