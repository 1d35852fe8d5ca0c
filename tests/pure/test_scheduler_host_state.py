"""host_view: what the scheduler counts on a host; consume: one more instance on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from builders import NOW, SERVICE_DOWN_TIME, build_claim, build_host_state, build_sched_host
from novalog.events.records import Resources
from novalog.scheduler.host_state import SchedHost, consume, host_view

C1 = build_claim("c1", vcpus=1, memory_mb=1024, disk_gb=10)
C2 = build_claim("c2", vcpus=2, memory_mb=2048, disk_gb=20)
C3 = build_claim("c3", vcpus=1, memory_mb=512, disk_gb=5)


def test_a_reported_host_is_seen_with_nova_field_names_and_claimed_usage() -> None:
    # 8192 - 512 reserved - (1024 + 2048) claimed = 4608 MB free;
    # (80 - 5 reserved - (10 + 20)) x 1024 = 46080 MB free disk.
    state = build_host_state(
        "h1", reserved_memory_mb=512, reserved_disk_gb=5, reserved_vcpus=1, claims=[C1, C2], ram_allocation_ratio=1.5
    )

    assert host_view(state, {}, NOW, SERVICE_DOWN_TIME) == SchedHost(
        host="h1",
        nodename="h1",
        total_usable_ram_mb=8192,
        free_ram_mb=4608,
        vcpus_total=4,
        vcpus_used=3,
        total_usable_disk_gb=80,
        free_disk_mb=46080,
        num_instances=2,
        num_io_ops=0,
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        cpu_allocation_ratio=4.0,
        ram_allocation_ratio=1.5,
        disk_allocation_ratio=1.0,
        reserved_vcpus=1,
        reserved_memory_mb=512,
        reserved_disk_gb=5,
        service_up=True,
        disabled=False,
        claims_ids=frozenset({"c1", "c2"}),
        updated=NOW,
        instances={C1.instance_id: C1, C2.instance_id: C2},
    )


@pytest.mark.parametrize(
    ("table", "in_flight", "rejected", "released", "ids", "ram_claimed"),
    [
        pytest.param([C1], [], [], [], {"c1"}, 1024, id="table-only"),
        # 1024 + 2048
        pytest.param([C1], [C2], [], [], {"c1", "c2"}, 3072, id="in-flight-added"),
        # c1 is in both: counted once, 1024 + 2048
        pytest.param([C1, C2], [C1], [], [], {"c1", "c2"}, 3072, id="in-table-and-in-flight-counts-once"),
        # c2 was rejected by the claim check: only the table's 1024
        pytest.param([C1], [C2], ["c2"], [], {"c1"}, 1024, id="in-flight-but-rejected-not-counted"),
        # c2 was accepted then released: 1024 + 512 (c3 still pending)
        pytest.param([C1], [C2, C3], [], ["c2"], {"c1", "c3"}, 1536, id="in-flight-but-released-not-counted"),
        pytest.param([], [], [], [], set(), 0, id="empty-host"),
    ],
)
def test_claims_are_united_by_claim_id(table, in_flight, rejected, released, ids, ram_claimed) -> None:
    state = build_host_state(claims=table, rejected=rejected, released=released)

    host = build_sched_host(state, in_flight=in_flight)

    assert host.claims_ids == frozenset(ids)
    assert host.ram_claimed_mb == ram_claimed
    assert host.free_ram_mb == 8192 - ram_claimed
    assert host.num_instances == len(ids)


def test_pending_claims_are_the_io_ops() -> None:
    # c1 is in the table; c2 and c3 are only proposed: still building.
    host = build_sched_host(build_host_state(claims=[C1]), in_flight=[C1, C2, C3])

    assert (host.num_instances, host.num_io_ops) == (3, 2)


def test_free_goes_negative_when_claims_overcommit() -> None:
    # 8192 x 1.5 allows 12288 MB of claims: 8192 - 0 - 10240 = -2048 MB free.
    claims = [build_claim(f"c{i}", memory_mb=2048) for i in range(5)]
    host = build_sched_host(ram_allocation_ratio=1.5, claims=claims)

    assert host.free_ram_mb == -2048
    assert host.ram_claimed_mb == 10240


def test_a_host_that_never_reported_capacity_has_zero_totals() -> None:
    state = build_host_state(capacity_reported_at=None, reserved_memory_mb=512, reserved_vcpus=1)

    host = build_sched_host(state)

    assert (host.vcpus_total, host.total_usable_ram_mb, host.total_usable_disk_gb) == (0, 0, 0)
    assert (host.free_ram_mb, host.free_disk_mb, host.reserved_memory_mb) == (0, 0, 0)
    assert host.updated is None


@pytest.mark.parametrize(
    ("last_heartbeat_at", "up"),
    [
        pytest.param(NOW, True, id="beat-just-now"),
        pytest.param(NOW - timedelta(seconds=20), True, id="exactly-service-down-time-old"),
        pytest.param(NOW - timedelta(seconds=20, milliseconds=1), False, id="1ms-past-service-down-time"),
        pytest.param(NOW + timedelta(seconds=3), True, id="clock-skew-beat-in-future"),
        pytest.param(None, False, id="never-beat"),
    ],
)
def test_service_is_up_iff_last_heartbeat_within_service_down_time(last_heartbeat_at, up) -> None:
    host = build_sched_host(last_heartbeat_at=last_heartbeat_at, service_down_time=20.0)

    assert host.service_up is up


def test_consume_counts_one_more_instance_and_returns_a_new_value() -> None:
    before = build_sched_host(claims=[C1])

    after = consume(before, Resources(vcpus=2, memory_mb=1024, disk_gb=10), "new")

    # ram 8192 - 1024 - 1024; disk (80 - 10 - 10) x 1024; vcpus 1 + 2
    assert after == replace(
        before,
        free_ram_mb=6144,
        free_disk_mb=61440,
        vcpus_used=3,
        num_instances=2,
        num_io_ops=1,
        claims_ids=frozenset({"c1", "new"}),
    )
    assert before.free_ram_mb == 7168  # untouched


def test_consume_never_counts_a_claim_twice() -> None:
    host = build_sched_host(claims=[C1])

    assert consume(host, Resources(vcpus=1, memory_mb=1024, disk_gb=10), "c1") is host
