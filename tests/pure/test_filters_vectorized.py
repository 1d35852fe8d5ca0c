"""The columnar masks of Compute/Retry/Ram/Core/DiskFilter at the capacity boundaries, row by row as host_passes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import build_claim, build_flavor, build_sched_host, build_spec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import ComputeFilter, CoreFilter, DiskFilter, RamFilter, RetryFilter
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


def claims_of(vcpus: int = 0, memory_mb: int = 0, disk_gb: int = 0) -> list:
    """Two claims adding up to the totals (one alone may not exceed the host)."""
    half = dict(vcpus=vcpus // 2, memory_mb=memory_mb // 2, disk_gb=disk_gb // 2)
    rest = dict(vcpus=vcpus - half["vcpus"], memory_mb=memory_mb - half["memory_mb"], disk_gb=disk_gb - half["disk_gb"])
    return [build_claim("a", **half), build_claim("b", **rest)]


def assert_mask(host_filter, hosts, spec, expected) -> None:
    """The mask over all hosts at once is `expected`, and so is host_passes host by host."""
    mask = host_filter.mask(HostColumns.from_hosts(hosts), spec, OPTIONS)

    assert mask.dtype == bool
    assert mask.tolist() == expected
    assert [bool(host_filter.host_passes(h, spec, OPTIONS)) for h in hosts] == expected


RAM_HOSTS = [
    # 8192 x 1.5 - 512 reserved - 11264 claimed = 512 MB room
    build_sched_host(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=claims_of(memory_mb=11264)),
    # 8192 x 1.0 - 0 - 7680 = 512 MB room
    build_sched_host(claims=claims_of(memory_mb=7680)),
    # 8192 x 2.0 = 16384 room, physical 8192
    build_sched_host(ram_allocation_ratio=2.0),
    # 8192 x 1.5 - 0 - 12800 = -512: overcommitted
    build_sched_host(ram_allocation_ratio=1.5, claims=claims_of(memory_mb=12800)),
    # never reported: 0 total
    build_sched_host(capacity_reported_at=None),
    # 8192 x 0.1 - 0 - 307 claimed = 512.2 MB room: a fractional room, compared as a float in both forms
    build_sched_host(ram_allocation_ratio=0.1, claims=claims_of(memory_mb=307)),
]


@pytest.mark.parametrize(
    ("ram", "expected"),
    [
        pytest.param(512, [True, True, True, False, False, True], id="room-512-request-512"),
        pytest.param(513, [False, False, True, False, False, False], id="room-512-request-513"),
        pytest.param(8192, [False, False, True, False, False, False], id="physical-8192-request-8192"),
        pytest.param(8193, [False, False, False, False, False, False], id="physical-8192-request-8193"),
        # 0 fits everywhere but on the overcommitted host (room -512 < 0)
        pytest.param(0, [True, True, True, False, True, True], id="request-0"),
    ],
)
def test_ram_filter_mask(ram, expected) -> None:
    assert_mask(RamFilter(), RAM_HOSTS, build_spec(build_flavor(ram=ram)), expected)


CORE_HOSTS = [
    # 4 x 4.0 - 1 reserved - 13 claimed = 2 vCPUs room
    build_sched_host(reserved_vcpus=1, claims=claims_of(vcpus=13)),
    # 4 x 1.5 - 0 - 4 = 2 vCPUs room
    build_sched_host(cpu_allocation_ratio=1.5, claims=claims_of(vcpus=4)),
    # 4 x 16.0 = 64 room, physical 4
    build_sched_host(cpu_allocation_ratio=16.0),
    # 0 vCPUs: fails (Nova would pass it)
    build_sched_host(vcpus=0),
]


@pytest.mark.parametrize(
    ("vcpus", "expected"),
    [
        pytest.param(2, [True, True, True, False], id="room-2-request-2"),
        pytest.param(3, [False, False, True, False], id="room-2-request-3"),
        pytest.param(4, [False, False, True, False], id="physical-4-request-4"),
        pytest.param(5, [False, False, False, False], id="physical-4-request-5"),
        pytest.param(0, [True, True, True, False], id="request-0-zero-vcpus-still-fails"),
    ],
)
def test_core_filter_mask(vcpus, expected) -> None:
    assert_mask(CoreFilter(), CORE_HOSTS, build_spec(build_flavor(vcpus=vcpus)), expected)


DISK_HOSTS = [
    # 80 x 1.0 - 10 reserved - 60 claimed = 10 GB room
    build_sched_host(reserved_disk_gb=10, claims=claims_of(disk_gb=60)),
    # 80 x 1.5 - 0 - 100 = 20 GB room
    build_sched_host(disk_allocation_ratio=1.5, claims=claims_of(disk_gb=100)),
    # free_disk_mb 10751 (not whole GB): claimed 80 - 0 - 10751 // 1024 = 70, room 10 (floored, not 10.5)
    replace(build_sched_host(), free_disk_mb=10751),
    # free_disk_mb -1: claimed 80 - (-1 // 1024 = -1) = 81, room -1 (floor towards minus infinity, as Python)
    replace(build_sched_host(), free_disk_mb=-1),
]


@pytest.mark.parametrize(
    ("flavor", "expected"),
    [
        pytest.param(dict(disk=8, ephemeral=2), [True, True, True, False], id="room-10-request-8+2"),
        pytest.param(dict(disk=8, ephemeral=3), [False, True, False, False], id="room-10-request-8+3"),
        # swap counts, in whole GB rounded up: 6 + 4096 MB = 10 fits room 10; 6 + 4097 MB = 11 only room 20
        pytest.param(dict(disk=6, swap=4096), [True, True, True, False], id="room-10-request-6+swap-4096MB"),
        pytest.param(dict(disk=6, swap=4097), [False, True, False, False], id="room-10-request-6+swap-4097MB"),
        pytest.param(dict(disk=20), [False, True, False, False], id="room-20-request-20"),
        pytest.param(dict(disk=81), [False, False, False, False], id="physical-80-request-81"),
    ],
)
def test_disk_filter_mask(flavor, expected) -> None:
    assert_mask(DiskFilter(), DISK_HOSTS, build_spec(build_flavor(**flavor)), expected)


def test_compute_filter_mask() -> None:
    hosts = [
        build_sched_host(host="up"),
        build_sched_host(host="disabled", disabled=True),
        build_sched_host(host="down", last_heartbeat_at=None),
        build_sched_host(host="both", disabled=True, last_heartbeat_at=None),
    ]

    assert_mask(ComputeFilter(), hosts, build_spec(), [True, False, False, False])


@pytest.mark.parametrize(
    ("retry_hosts", "expected"),
    [
        pytest.param([], [True, True, True], id="first-attempt"),
        # both hosts named "a" were the same host as far as the retry list can tell
        pytest.param(["a"], [False, True, False], id="tried-a"),
        pytest.param(["b", "elsewhere"], [True, False, True], id="tried-b-and-an-unknown-host"),
    ],
)
def test_retry_filter_mask(retry_hosts, expected) -> None:
    hosts = [build_sched_host(host="a"), build_sched_host(host="b"), build_sched_host(host="a")]

    assert_mask(RetryFilter(), hosts, build_spec(retry_hosts=retry_hosts), expected)
