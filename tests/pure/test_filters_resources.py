"""RamFilter, CoreFilter, DiskFilter at the exact capacity boundary, with each host's own ratios."""

from __future__ import annotations

import pytest

from builders import build_claim, build_flavor, build_host_state, build_proposal, build_sched_host, build_spec
from novalog.events.capacity import shortfall, used_by_claims
from novalog.events.records import Claim, Resources
from novalog.events.types.placement import ClaimAccepted, ClaimRejected
from novalog.projections.host_state import decide_claim
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import AggregateDiskFilter, CoreFilter, DiskFilter, RamFilter
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


def claims_of(vcpus: int = 0, memory_mb: int = 0, disk_gb: int = 0) -> list[Claim]:
    """Two accepted claims "a" and "b" adding up to the totals (one alone may not exceed the host)."""
    half = dict(vcpus=vcpus // 2, memory_mb=memory_mb // 2, disk_gb=disk_gb // 2)
    rest = dict(vcpus=vcpus - half["vcpus"], memory_mb=memory_mb - half["memory_mb"], disk_gb=disk_gb - half["disk_gb"])
    return [build_claim("a", **half), build_claim("b", **rest)]


@pytest.mark.parametrize(
    ("host", "ram", "passes"),
    [
        # 8192 x 1.5 - 512 reserved - 11264 claimed = 512 MB room
        pytest.param(dict(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=claims_of(memory_mb=11264)), 512, True, id="room-512-request-512"),
        pytest.param(dict(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=claims_of(memory_mb=11264)), 513, False, id="room-512-request-513"),
        # 8192 x 1.0 - 0 - 7680 = 512 MB room
        pytest.param(dict(claims=claims_of(memory_mb=7680)), 512, True, id="ratio-1-room-512-request-512"),
        pytest.param(dict(claims=claims_of(memory_mb=7680)), 513, False, id="ratio-1-room-512-request-513"),
        # 8192 x 2.0 = 16384 room, but 8193 > 8192 physical: an instance never overcommits against itself
        pytest.param(dict(ram_allocation_ratio=2.0), 8192, True, id="physical-8192-request-8192"),
        pytest.param(dict(ram_allocation_ratio=2.0), 8193, False, id="physical-8192-request-8193"),
        # 8192 x 1.5 - 0 - 12800 = -512: overcommitted, no room
        pytest.param(dict(ram_allocation_ratio=1.5, claims=claims_of(memory_mb=12800)), 1, False, id="already-overcommitted"),
        # never reported: 0 total, 1 > 0 physical
        pytest.param(dict(capacity_reported_at=None), 1, False, id="never-reported"),
    ],
)
def test_ram_filter(host, ram, passes) -> None:
    spec = build_spec(build_flavor(ram=ram))

    assert RamFilter().host_passes(build_sched_host(**host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("host", "vcpus", "passes"),
    [
        # 4 x 4.0 - 1 reserved - 13 claimed = 2 vCPUs room
        pytest.param(dict(reserved_vcpus=1, claims=claims_of(vcpus=13)), 2, True, id="room-2-request-2"),
        pytest.param(dict(reserved_vcpus=1, claims=claims_of(vcpus=13)), 3, False, id="room-2-request-3"),
        # 4 x 1.5 - 0 - 4 = 2 vCPUs room
        pytest.param(dict(cpu_allocation_ratio=1.5, claims=claims_of(vcpus=4)), 2, True, id="ratio-1.5-room-2-request-2"),
        pytest.param(dict(cpu_allocation_ratio=1.5, claims=claims_of(vcpus=4)), 3, False, id="ratio-1.5-room-2-request-3"),
        # 4 x 16.0 = 64 room, but 5 > 4 physical vCPUs
        pytest.param(dict(cpu_allocation_ratio=16.0), 4, True, id="physical-4-request-4"),
        pytest.param(dict(cpu_allocation_ratio=16.0), 5, False, id="physical-4-request-5"),
        # Nova passes vcpus_total == 0 ("collection broken"); novalog does not
        pytest.param(dict(vcpus=0), 1, False, id="zero-vcpus-fails-unlike-nova"),
        pytest.param(dict(capacity_reported_at=None), 1, False, id="never-reported"),
    ],
)
def test_core_filter(host, vcpus, passes) -> None:
    spec = build_spec(build_flavor(vcpus=vcpus))

    assert CoreFilter().host_passes(build_sched_host(**host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("host", "flavor", "passes"),
    [
        # 80 x 1.0 - 10 reserved - 60 claimed = 10 GB room; root 8 + ephemeral 2 = 10
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=8, ephemeral=2), True, id="room-10-request-8+2"),
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=8, ephemeral=3), False, id="room-10-request-8+3"),
        # swap counts (Icehouse+), in MB rounded up to GB: root 8 + swap 2048 MB = 8 + 2 = 10 GB, room 10
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=8, swap=2048), True, id="room-10-request-8+swap-2048MB"),
        # root 8 + swap 2049 MB = 8 + 3 = 11 GB > room 10 (Stein: 8192 + 2049 = 10241 MB > 10240 MB)
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=8, swap=2049), False, id="room-10-request-8+swap-2049MB"),
        # root 9 + swap 1 MB = 9 + 1 = 10 GB, room 10
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=9, swap=1), True, id="room-10-request-9+swap-1MB"),
        # root 5 + ephemeral 3 + swap 4096 MB = 12 GB > room 10
        pytest.param(dict(reserved_disk_gb=10, claims=claims_of(disk_gb=60)), dict(disk=5, ephemeral=3, swap=4096), False, id="room-10-request-5+3+swap-4096MB"),
        # 80 x 1.5 - 0 - 100 = 20 GB room
        pytest.param(dict(disk_allocation_ratio=1.5, claims=claims_of(disk_gb=100)), dict(disk=20), True, id="ratio-1.5-room-20-request-20"),
        pytest.param(dict(disk_allocation_ratio=1.5, claims=claims_of(disk_gb=100)), dict(disk=21), False, id="ratio-1.5-room-20-request-21"),
        # 80 x 2.0 = 160 room, but 81 > 80 physical
        pytest.param(dict(disk_allocation_ratio=2.0), dict(disk=80), True, id="physical-80-request-80"),
        pytest.param(dict(disk_allocation_ratio=2.0), dict(disk=81), False, id="physical-80-request-81"),
        # Liberty's physical check counts swap too: 79 + 1 = 80 fits, 79 + 2 (1025 MB) = 81 > 80 at any ratio
        pytest.param(dict(disk_allocation_ratio=2.0), dict(disk=79, swap=1024), True, id="physical-80-request-79+swap-1024MB"),
        pytest.param(dict(disk_allocation_ratio=2.0), dict(disk=79, swap=1025), False, id="physical-80-request-79+swap-1025MB"),
        pytest.param(dict(capacity_reported_at=None), dict(disk=1), False, id="never-reported"),
    ],
)
def test_disk_filter(host, flavor, passes) -> None:
    spec = build_spec(build_flavor(**flavor))

    assert DiskFilter().host_passes(build_sched_host(**host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("in_flight", "passes"),
    [
        # table 5632 + in flight 5632 (another claim): 8192 x 1.5 - 512 - 11264 = 512 room
        pytest.param([build_claim("pending", memory_mb=5632)], False, id="pending-claim-takes-room"),
        # the in-flight claim is the table's own "a": 8192 x 1.5 - 512 - 5632 = 6144 room
        pytest.param([build_claim("a", memory_mb=5632)], True, id="claim-in-table-and-in-flight-counts-once"),
    ],
)
def test_in_flight_claims_count_once_against_room(in_flight, passes) -> None:
    state = build_host_state(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=[build_claim("a", memory_mb=5632)])
    spec = build_spec(build_flavor(ram=513))

    assert RamFilter().host_passes(build_sched_host(state, in_flight=in_flight), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("flavor",),
    [
        pytest.param(dict(vcpus=2, ram=512, disk=10), id="fits"),
        pytest.param(dict(vcpus=3, ram=512, disk=10), id="vcpus-short"),
        pytest.param(dict(vcpus=1, ram=513, disk=10), id="ram-short"),
        pytest.param(dict(vcpus=1, ram=512, disk=11), id="disk-short"),
        pytest.param(dict(vcpus=5, ram=512, disk=1), id="vcpus-over-physical"),
    ],
)
def test_resource_filters_agree_with_the_claim_check(flavor) -> None:
    # room: vcpus 4 x 4.0 - 1 - 13 = 2; ram 8192 x 1.5 - 512 - 11264 = 512; disk 80 - 10 - 60 = 10
    state = build_host_state(
        cpu_allocation_ratio=4.0, ram_allocation_ratio=1.5, reserved_vcpus=1, reserved_memory_mb=512,
        reserved_disk_gb=10, claims=claims_of(vcpus=13, memory_mb=11264, disk_gb=60),
    )
    spec = build_spec(build_flavor(**flavor))
    host = build_sched_host(state)

    filters_pass = all(f.host_passes(host, spec, OPTIONS) for f in (RamFilter(), CoreFilter(), DiskFilter()))
    claim_fits = shortfall(state, used_by_claims(state), Resources.of(spec.flavor)) is None

    assert filters_pass is claim_fits


@pytest.mark.parametrize(
    ("flavor", "fits"),
    [
        # room 80 x 1.0 - 10 reserved - 60 claimed = 10 GB
        pytest.param(dict(disk=8, swap=2048), True, id="8+swap-2048MB=10-fits"),  # 8 + 2 = 10
        pytest.param(dict(disk=8, swap=2049), False, id="8+swap-2049MB=11-too-big"),  # 8 + 3 = 11
        pytest.param(dict(disk=6, ephemeral=2, swap=1500), True, id="6+2+swap-1500MB=10-fits"),  # 6 + 2 + 2 = 10
        pytest.param(dict(disk=6, ephemeral=3, swap=1500), False, id="6+3+swap-1500MB=11-too-big"),  # 6 + 3 + 2 = 11
        pytest.param(dict(disk=0, swap=10 * 1024), True, id="swap-only-10GB-fits"),
        pytest.param(dict(disk=0, swap=10 * 1024 + 1), False, id="swap-only-10GB+1MB-too-big"),
    ],
)
def test_disk_filters_and_the_claim_count_swap_alike(flavor, fits) -> None:
    state = build_host_state(reserved_disk_gb=10, claims=claims_of(disk_gb=60))
    spec = build_spec(build_flavor(**flavor))
    host = build_sched_host(state)
    cols = HostColumns.from_hosts([host])
    # the claim as the scheduler proposes it: its resources are Resources.of(the flavor)
    decision = decide_claim(state, build_proposal("claim-new", resources=Resources.of(spec.flavor)))

    verdicts = {
        "DiskFilter": DiskFilter().host_passes(host, spec, OPTIONS),
        "DiskFilter columnar": bool(DiskFilter().mask(cols, spec, OPTIONS)[0]),
        "AggregateDiskFilter": AggregateDiskFilter().host_passes(host, spec, OPTIONS),
        "AggregateDiskFilter columnar": bool(AggregateDiskFilter().mask(cols, spec, OPTIONS)[0]),
        "claim accepted": isinstance(decision, ClaimAccepted),
    }

    assert verdicts == dict.fromkeys(verdicts, fits)
    assert isinstance(decision, ClaimAccepted if fits else ClaimRejected)


@pytest.mark.parametrize(
    ("swap_mb", "gb"),
    [(0, 0), (1, 1), (1024, 1), (1025, 2), (2048, 2), (4097, 5)],
)
def test_swap_takes_whole_gb_of_the_claim(swap_mb, gb) -> None:
    # root 10 + ephemeral 5 + ceil(swap / 1024)
    assert Resources.of(build_flavor(disk=10, ephemeral=5, swap=swap_mb)).disk_gb == 15 + gb
