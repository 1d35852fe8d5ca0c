"""What `novalog bench scheduler` measures: one scheduling pass over N synthetic hosts.

The pass is `select_host` on a HostColumns with the scheduler service's own
default options, `SchedulerOptions()`, its filters and weighers (or, with
ALL_FILTERS_OPTIONS, every registered filter, the default ones first), so
the figure is what the running scheduler pays. Everything a scheduler keeps between
requests (the hosts, their columns, the options, the plug-ins) is built once,
outside the timed part; each timed pass is what one request costs.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, replace

from novalog.events.records import Flavor, RequestSpec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.host_state import Aggregate, SchedHost
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import select_host

# What the scheduler service runs without an options file (it sets only max_attempts, which no pass reads).
OPTIONS = SchedulerOptions()
# All registered filters, the default list first in its order, then the rest in registry order.
ALL_FILTERS_OPTIONS = replace(
    OPTIONS, enabled_filters=(*OPTIONS.enabled_filters, *(name for name in FILTERS if name not in OPTIONS.enabled_filters))
)
# (vCPUs, RAM MB, disk GB): a few host sizes, as in a real fleet.
SIZES = ((8, 32_768, 250), (16, 65_536, 500), (32, 131_072, 1_000), (64, 262_144, 2_000))
AZ1 = Aggregate("az1", "az1", {"availability_zone": "az1"})
AZ2 = Aggregate("az2", "az2", {"availability_zone": "az2"})
SSD = Aggregate("ssd", "ssd", {"ssd": "true", "disk_weight_multiplier": "2.0"})
AGGREGATE_SETS = ((AZ1,), (AZ2,), (AZ1, SSD), (AZ2, SSD), ())


@dataclass(frozen=True, slots=True)
class PassTiming:
    """The median time of one pass, and the funnel of the last pass, to show what was measured."""

    hosts: int
    passes: int
    median_ms: float
    funnel: str
    chosen: str | None


def synthetic_hosts(count: int, seed: int = 0) -> list[SchedHost]:
    """`count` hosts, the same for the same seed: mixed sizes and usage, a few aggregate sets, ~3% down or disabled."""
    rng = random.Random(seed)
    hosts = []
    for i in range(count):
        vcpus, ram_mb, disk_gb = rng.choice(SIZES)
        instances = rng.randint(0, 2 * vcpus)
        used_vcpus, used_ram, used_disk = instances * 2, rng.randint(0, ram_mb), rng.randint(0, disk_gb)
        hosts.append(SchedHost(
            host=f"compute-{i:06d}", nodename=f"compute-{i:06d}",
            total_usable_ram_mb=ram_mb, free_ram_mb=ram_mb - 512 - used_ram,
            vcpus_total=vcpus, vcpus_used=used_vcpus,
            total_usable_disk_gb=disk_gb, free_disk_mb=(disk_gb - used_disk) * 1024,
            num_instances=instances, num_io_ops=rng.randint(0, 3),
            hypervisor_type="QEMU", hypervisor_version=8_002_000,
            cpu_allocation_ratio=4.0, ram_allocation_ratio=rng.choice((1.0, 1.5)), disk_allocation_ratio=1.0,
            reserved_vcpus=0, reserved_memory_mb=512, reserved_disk_gb=0,
            service_up=rng.random() > 0.02, disabled=rng.random() < 0.01,
            claims_ids=frozenset(), updated=None,
            aggregates=rng.choice(AGGREGATE_SETS),
        ))  # fmt: skip
    return hosts


def bench_request() -> RequestSpec:
    """An m1.medium (2 vCPUs, 4 GB, 40 GB) on its second attempt, so RetryFilter has a host to drop."""
    flavor = Flavor(id="3", name="m1.medium", vcpus=2, ram=4096, disk=40)
    return RequestSpec(
        instance_id="bench-instance", project_id="bench", user_id="bench", flavor=flavor, image_ref="bench-image",
        num_attempts=2, retry_hosts=["compute-000000"],
    )  # fmt: skip


def time_scheduler_pass(count: int, passes: int = 100, seed: int = 0, options: SchedulerOptions = OPTIONS) -> PassTiming:
    """The median over `passes` timed scheduling passes (after a short warm-up) on `count` synthetic hosts, in ms."""
    cols = HostColumns.from_hosts(synthetic_hosts(count, seed))
    spec, rng = bench_request(), random.Random(seed)
    for _ in range(3):
        select_host(cols, spec, options, rng)
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        selection = select_host(cols, spec, options, rng)
        times.append(time.perf_counter() - start)
    return PassTiming(
        hosts=count, passes=passes, median_ms=statistics.median(times) * 1000,
        funnel=selection.trace.funnel(), chosen=selection.host,
    )  # fmt: skip
