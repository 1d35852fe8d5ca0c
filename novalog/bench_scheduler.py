"""The scheduler's benchmarks against Kafka and Nova: placements per second of one scheduler process, and Nova's pass.

`placement_throughput` runs the scheduler service's own parts (HostTable,
ColumnViews, Scheduler with SchedulerOptions(), the ConsumeLoop on an
EventLog as the service makes it) over a fresh topic prefix:

    child process: host rows ──▶ state.hosts        this process: RSS before the table loads
                                                    HostTable catches up, ColumnViews built: RSS with the hosts
                                                    consumer joins its group (not timed)
    child process: build requests ──▶ instance.events
                                                    clock starts ─▶ poll, decode, pass, encode, produce, commit
                                                    ─▶ last proposal acknowledged: clock stops

The bench's own records are made and written by a child process, so this
process's RSS is what the scheduler holds. Nothing answers the proposals, so
every claim stays in flight: the hosts are sized to hold them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# A run shorter than this is not timed: the clock's and the broker's jitter would be most of it.
MIN_TIMED_S = 0.5


@dataclass(frozen=True, slots=True)
class PlacementRun:
    """What one Kafka-fed run measured; `per_second` is None when the run was too short to time."""

    hosts: int
    requests: int
    placed: int
    seconds: float
    cpu_seconds: float  # this process's CPU time (all its threads) over the timed run
    per_second: float | None
    rss_empty_mb: float
    rss_hosts_mb: float
    rss_end_mb: float
    filters: tuple[str, ...]
    weighers: tuple[str, ...]
    prefix: str = ""  # the run's topics, deleted at its end


def rss_mb() -> float:
    """This process's resident set now, in MB (after a collection, so garbage is not counted)."""
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _in_child(target: Any, *args: Any) -> None:
    """Run `target(*args)` in a forked child and wait for it; a failure there is raised here."""
    child = multiprocessing.get_context("fork").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the bench's writer process failed (exit code {child.exitcode})")


def _write_hosts(bootstrap: str, prefix: str, host_count: int) -> None:
    import random

    from novalog.events import topics
    from novalog.events.kafka.log import EventLog
    from novalog.events.outbound import Outbound
    from novalog.events.records import utcnow
    from novalog.events.state import HostState

    log = EventLog(bootstrap, prefix, linger_ms=20)
    rng, now = random.Random(0), utcnow()
    log.append(
        Outbound(topics.STATE_HOSTS, f"compute-{i:06d}", HostState(
            host=f"compute-{i:06d}", hypervisor_type="QEMU", hypervisor_hostname=f"compute-{i:06d}",
            vcpus=rng.choice((32, 64, 128)), memory_mb=rng.choice((131072, 262144)), disk_gb=2000,
            capacity_reported_at=now, last_heartbeat_at=now,
        ))
        for i in range(host_count)
    )  # fmt: skip
    log.close()


def _write_requests(bootstrap: str, prefix: str, requests: int) -> None:
    import uuid

    from novalog.events.kafka.log import EventLog
    from novalog.events.outbound import Outbound
    from novalog.events.records import Envelope, Flavor
    from novalog.events.types.instance import InstanceBuildRequested

    log = EventLog(bootstrap, prefix, linger_ms=20)
    flavor = Flavor(id="bench", name="bench.small", vcpus=1, ram=1024, disk=10)
    log.append(
        Outbound.event(iid, InstanceBuildRequested(
            envelope=Envelope.new(InstanceBuildRequested, "bench"), instance_id=iid, name=iid,
            project_id="bench", user_id="bench", flavor=flavor, image_ref="img",
        ))
        for iid in (str(uuid.uuid4()) for _ in range(requests))
    )  # fmt: skip
    log.close()


def _join_group(consumer: Any, patience: float = 60.0) -> None:
    """Poll until the consumer holds its partitions (the topic is still empty, so nothing is read)."""
    deadline = time.monotonic() + patience
    while not consumer.assignment() and time.monotonic() < deadline:
        if consumer.poll(0.1) is not None:
            raise RuntimeError("the bench's request topic was not empty when the scheduler joined")
    if not consumer.assignment():
        raise TimeoutError("the bench scheduler's consumer got no partitions")


def placement_throughput(bootstrap: str, host_count: int, requests: int, timeout: float = 600.0) -> PlacementRun:
    """Placements per second of one scheduler process fed from Kafka: build requests in, proposals out."""
    import uuid

    from confluent_kafka import Consumer

    from novalog.bench_replay import delete_prefixed_topics
    from novalog.events import topics
    from novalog.events.kafka.log import ConsumeLoop, EventLog, consumer_config, ensure_topics
    from novalog.events.records import utcnow
    from novalog.scheduler.live import ColumnViews
    from novalog.scheduler.options import SchedulerOptions
    from novalog.scheduler.service import Scheduler
    from novalog.scheduler.table import HostTable
    from novalog.services import SCHEDULER_LINGER_MS

    prefix = f"benchplace{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, topics.topic_specs(prefix, 8))
    _in_child(_write_hosts, bootstrap, prefix, host_count)
    rss_empty = rss_mb()
    options = SchedulerOptions()  # the service's defaults (it adds only max_attempts, which no pass reads)
    table = HostTable(bootstrap, f"{prefix}.{topics.STATE_HOSTS}", f"{prefix}.{topics.HOST_HEARTBEATS}").start(300)
    log = EventLog(bootstrap, prefix, linger_ms=SCHEDULER_LINGER_MS, polled=False)  # as serve_scheduler makes it
    consumer = Consumer(consumer_config(bootstrap, f"{prefix}-scheduler"))
    try:
        scheduler = Scheduler("bench-scheduler", ColumnViews(table, 3600.0), options, 3600.0)
        scheduler.views.current({}, utcnow())  # the columns the first request would build
        rss_hosts = rss_mb()
        loop = ConsumeLoop(log, consumer, "bench-scheduler", lambda msg, record: scheduler.handle(record), dead_letter_failures=True)
        loop.subscribe([f"{prefix}.{topics.INSTANCE_EVENTS}"])  # as serve_scheduler subscribes
        _join_group(consumer)
        _in_child(_write_requests, bootstrap, prefix, requests)
        placed, started, cpu_started = 0, time.monotonic(), time.process_time()
        deadline = started + timeout
        while placed < requests and time.monotonic() < deadline:
            placed += loop.run_once(0.5)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
        rss_end = rss_mb()
    finally:
        consumer.close()
        table.stop()
        log.close()
        delete_prefixed_topics(bootstrap, prefix)
    return PlacementRun(
        hosts=host_count, requests=requests, placed=placed, seconds=elapsed, cpu_seconds=cpu,
        per_second=placed / elapsed if elapsed >= MIN_TIMED_S else None,
        rss_empty_mb=rss_empty, rss_hosts_mb=rss_hosts, rss_end_mb=rss_end,
        filters=options.enabled_filters, weighers=options.weight_classes, prefix=prefix,
    )  # fmt: skip


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


# --- the commands ---


def _machine() -> str:
    return f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _plugins(options: Any) -> str:
    return f"filters: {', '.join(options.enabled_filters) or '(none)'}; weighers: {', '.join(options.weight_classes) or '(none)'}"


def _kafka_run(host_count: int, requests: int) -> PlacementRun:
    from novalog.cli import _ensure_local_broker
    from novalog.settings import get_settings

    settings = get_settings()
    broker = _ensure_local_broker(settings)
    try:
        return placement_throughput(settings.kafka_bootstrap, host_count, requests)
    finally:
        if broker is not None:
            broker.stop()


def _echo_kafka_run(r: PlacementRun) -> None:
    click.echo(f"one scheduler fed from Kafka, {r.hosts} hosts ({_plugins_of(r)})")
    if r.per_second is None:
        click.echo(f"  {r.placed} placements in {r.seconds:.3f} s: too short to time (under {MIN_TIMED_S} s); give more --requests")
    else:
        click.echo(f"  {r.placed} placements in {r.seconds:.2f} s = {r.per_second:.0f} placements/s "
                   f"({r.cpu_seconds:.2f} s CPU in the scheduler process: {r.cpu_seconds / r.placed * 1e6:.0f} us a placement)")
    if r.placed < r.requests:
        click.echo(f"  only {r.placed} of the {r.requests} requests were placed before the timeout")
    click.echo(
        f"  scheduler RSS: {r.rss_empty_mb:.0f} MB before the host table loads, {r.rss_hosts_mb:.0f} MB with {r.hosts} hosts "
        f"(+{r.rss_hosts_mb - r.rss_empty_mb:.0f} MB), {r.rss_end_mb:.0f} MB after the run"
    )
    click.echo(f"  deleted the bench topics ({r.prefix}.*)")


def _plugins_of(r: PlacementRun) -> str:
    return f"filters: {', '.join(r.filters)}; weighers: {', '.join(r.weighers)}"


def _echo_nova(nova: dict[str, Any] | None, ours_ms: float) -> None:
    if nova is None:
        click.echo("Nova could not be installed in a separate virtualenv: no comparison")
        return
    click.echo(
        f"Nova {nova['nova_version']} filter scheduler pass over the same hosts ({', '.join(nova['filters'])}; "
        f"{', '.join(nova['weighers'])}): median {nova['median_ms']:.1f} ms"
    )
    click.echo(f"ratio: Nova / novalog = {nova['median_ms'] / ours_ms:.0f}x")


@click.command("scheduler")
@click.option("--hosts", "host_count", default=10_000, show_default=True, help="synthetic hosts in the pass")
@click.option("--passes", default=100, show_default=True, help="timed passes; the median is printed")
@click.option("--all-filters", is_flag=True, help="enable every registered filter, not only the service's default list")
@click.option("--requests", default=5000, show_default=True, help="build requests for the Kafka-fed placements/s (0: skip)")
@click.option("--nova-venv", default=str(Path(".state") / "nova-venv"), show_default=True,
              help="virtualenv with Nova from PyPI for the comparison, made if missing ('' to skip)")
def bench_scheduler(host_count: int, passes: int, all_filters: bool, requests: int, nova_venv: str) -> None:
    """One scheduling pass over HOSTS synthetic hosts (median ms), placements/s fed from Kafka, and Nova's pass for comparison.

    The pass runs the scheduler service's default options (SchedulerOptions()) unless --all-filters.
    """
    from novalog.scheduler.bench import ALL_FILTERS_OPTIONS, OPTIONS, synthetic_hosts, time_scheduler_pass

    options = ALL_FILTERS_OPTIONS if all_filters else OPTIONS
    r = time_scheduler_pass(host_count, passes, options=options)
    click.echo(_machine())
    click.echo(f"scheduler pass over {r.hosts} hosts: median {r.median_ms:.3f} ms ({r.passes} passes)")
    click.echo(f"  {'every registered filter' if all_filters else 'the service defaults'}: {_plugins(options)}")
    click.echo(f"  last pass: {r.funnel}; chose {r.chosen}")
    if requests:
        _echo_kafka_run(_kafka_run(host_count, requests))
    if nova_venv and not all_filters:
        _echo_nova(nova_pass(nova_venv, synthetic_hosts(host_count), min(passes, 20), tempfile.mkdtemp(prefix="novalog-nova-")), r.median_ms)


@click.command("placements")
@click.option("--hosts", "host_count", default=10000, show_default=True)
@click.option("--requests", default=5000, show_default=True)
def bench_placements(host_count: int, requests: int) -> None:
    """Placements per second of one scheduler process fed from Kafka (requests in, proposals out), and its RSS."""
    click.echo(_machine())
    _echo_kafka_run(_kafka_run(host_count, requests))


@click.command("nova-compare")
@click.option("--hosts", "host_count", default=10000, show_default=True)
@click.option("--passes", default=20, show_default=True)
@click.option("--venv", default=".state/nova-venv", show_default=True, help="virtualenv with Nova from PyPI (made if missing)")
def bench_nova_compare(host_count: int, passes: int, venv: str) -> None:
    """novalog's pass (the service's default options) and today's Nova filter scheduler pass on the same synthetic hosts."""
    from novalog.scheduler.bench import OPTIONS, synthetic_hosts, time_scheduler_pass

    ours = time_scheduler_pass(host_count, passes=max(passes, 50))
    nova = nova_pass(venv, synthetic_hosts(host_count), passes, tempfile.mkdtemp(prefix="novalog-nova-"))
    click.echo(_machine())
    click.echo(f"novalog pass over {host_count} hosts: median {ours.median_ms:.3f} ms ({_plugins(OPTIONS)})")
    _echo_nova(nova, ours.median_ms)


COMMANDS = (bench_scheduler, bench_placements, bench_nova_compare)
