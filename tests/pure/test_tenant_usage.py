"""os-simple-tenant-usage arithmetic over a known day of boots and deletes, and Nova's reading of start and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from builders import build_flavor, build_instance_state
from novalog.api.compute.usage import (
    INVALID_TIME,
    MAX_SERVERS,
    START_AFTER_END,
    InvalidPeriod,
    Period,
    hours_in,
    parse_query,
    parse_time,
    tenant_usages,
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 5, 1, hour, minute, tzinfo=UTC)


SMALL = build_flavor(id="2", name="m1.small", vcpus=1, ram=2048, disk=20)
MEDIUM = build_flavor(id="3", name="m1.medium", vcpus=2, ram=4096, disk=40, ephemeral=10)
TINY = build_flavor(id="1", name="m1.tiny", vcpus=1, ram=512, disk=1)

# The period 10:00-14:00; it is 15:00 now.
PERIOD, NOW = Period(at(10), at(14)), at(15)


def server(iid: str, project: str, flavor, launched: datetime | None, terminated: datetime | None = None, vm_state: str = "active"):
    return build_instance_state(iid, name=f"vm-{iid}", project_id=project, flavor=flavor, launched_at=launched,
                                terminated_at=terminated, vm_state="deleted" if terminated else vm_state, task_state=None)


DAY = [
    server("a", "p1", SMALL, at(9)),                 # running since before the period: 10:00-14:00 = 4 h
    server("b", "p1", MEDIUM, at(11), at(12, 30)),   # booted and deleted inside: 11:00-12:30 = 1.5 h
    server("c", "p2", TINY, at(13, 30), vm_state="stopped"),  # booted late, stopped since (still counts): 13:30-14:00 = 0.5 h
    server("d", "p1", SMALL, at(8), at(9, 30)),      # gone before the period began: not listed
    server("e", "p2", TINY, at(14, 30)),             # launched after it ended: not listed
    server("f", "p1", SMALL, None, vm_state="error"),  # never launched (no valid host): not listed
    server("g", "p2", TINY, at(9), at(10)),          # deleted the moment it began (terminated_at > start fails): not listed
    server("h", "p2", TINY, at(14)),                 # launched the moment it ended (launched_at < stop fails): not listed
]


def test_each_project_totals_its_servers_hours_times_their_flavors() -> None:
    usages = tenant_usages(DAY, PERIOD, NOW, detailed=False)
    assert usages == [
        {
            "tenant_id": "p1", "start": "2025-05-01T10:00:00.000000", "stop": "2025-05-01T14:00:00.000000",
            "total_hours": 5.5,                # a 4 + b 1.5
            "total_vcpus_usage": 7.0,          # a 1 x 4 + b 2 x 1.5 = 4 + 3
            "total_memory_mb_usage": 14336.0,  # a 2048 x 4 + b 4096 x 1.5 = 8192 + 6144
            "total_local_gb_usage": 155.0,     # a 20 x 4 + b (40 + 10) x 1.5 = 80 + 75
        },
        {
            "tenant_id": "p2", "start": "2025-05-01T10:00:00.000000", "stop": "2025-05-01T14:00:00.000000",
            "total_hours": 0.5,                # c 0.5
            "total_vcpus_usage": 0.5,          # c 1 x 0.5
            "total_memory_mb_usage": 256.0,    # c 512 x 0.5
            "total_local_gb_usage": 0.5,       # c 1 x 0.5
        },
    ]


def test_detailed_lists_each_server_with_its_life_so_far() -> None:
    (p1,) = tenant_usages(DAY, PERIOD, NOW, project_id="p1")
    assert p1["server_usages"] == [
        {
            "instance_id": "a", "name": "vm-a", "tenant_id": "p1", "hours": 4.0, "flavor": "m1.small",
            "memory_mb": 2048, "local_gb": 20, "vcpus": 1,
            "started_at": "2025-05-01T09:00:00.000000", "ended_at": None, "state": "active",
            "uptime": 6 * 3600,  # 09:00 to now (15:00), whatever the period
        },
        {
            "instance_id": "b", "name": "vm-b", "tenant_id": "p1", "hours": 1.5, "flavor": "m1.medium",
            "memory_mb": 4096, "local_gb": 50, "vcpus": 2,  # local_gb: root 40 + ephemeral 10
            "started_at": "2025-05-01T11:00:00.000000", "ended_at": "2025-05-01T12:30:00.000000", "state": "terminated",
            "uptime": 90 * 60,  # 11:00 to 12:30
        },
    ]
    (p2,) = tenant_usages(DAY, PERIOD, NOW, project_id="p2")
    assert [(s["instance_id"], s["state"]) for s in p2["server_usages"]] == [("c", "stopped")]


def test_a_project_without_servers_in_the_period_has_no_entry() -> None:
    assert tenant_usages(DAY, PERIOD, NOW, project_id="p3") == []
    assert tenant_usages(DAY, Period(at(6), at(7)), NOW) == []


def test_an_empty_period_at_now_lists_the_running_servers_with_no_hours() -> None:
    usages = tenant_usages(DAY, Period(NOW, NOW), NOW)
    # running now: a, c, e, h (b, d, g were deleted before; f never launched)
    assert [(u["tenant_id"], u["total_hours"], [s["instance_id"] for s in u["server_usages"]]) for u in usages] == [
        ("p1", 0.0, ["a"]), ("p2", 0.0, ["c", "e", "h"])]


@pytest.mark.parametrize(
    "period, hours",
    [
        (Period(at(10), at(14)), 4.0),         # 10:00-14:00
        (Period(at(8), at(14)), 5.0),          # from launch, 09:00-14:00
        (Period(at(10), at(15)), 5.0),         # up to the end of the period while it runs: 10:00-15:00
        (Period(at(15, 30), at(15)), 0.0),     # starts after its (clamped) end: none, where Nova goes negative
    ],
    ids=["inside", "from-launch", "to-period-end", "future-start"],
)
def test_hours_of_a_running_server(period: Period, hours: float) -> None:
    assert hours_in(DAY[0], period) == hours


def test_the_end_is_now_at_the_latest_and_the_start_defaults_to_now() -> None:
    period, detailed = parse_query("start=2025-05-01T10:00:00&end=2030-01-01T00:00:00&detailed=1", NOW)
    assert (period, detailed) == (Period(at(10), NOW), True)
    # a running server counts up to now: 09:00 launch, 10:00-15:00 = 5 h
    assert tenant_usages(DAY, period, NOW, project_id="p1")[0]["server_usages"][0]["hours"] == 5.0
    with pytest.raises(InvalidPeriod, match=START_AFTER_END):
        parse_query("end=2025-05-01T10:00:00", NOW)  # start is now (15:00), after the end


@pytest.mark.parametrize(
    "query, period, detailed",
    [
        ("start=2025-05-01T10:00:00&end=2025-05-01T14:00:00", Period(at(10), at(14)), False),
        ("start=2025-05-01T10:00:00.250000&end=2025-05-01 14:00:00.5", Period(at(10) + timedelta(microseconds=250000), at(14) + timedelta(microseconds=500000)), False),
        ("start=&start=2025-05-01T10:00:00&start=2025-05-01T11:00:00", Period(at(10), NOW), False),  # first non-empty value
        ("start=2025-05-01T10:00:00&detailed=true", Period(at(10), NOW), False),  # only "1" is detailed
        ("start=2025-05-01T10:00:00&detailed=1&detailed=0", Period(at(10), NOW), True),
        ("start=2025-05-01T10:00:00&limit=1&marker=x", Period(at(10), NOW), False),  # before 2.40 no paging: ignored
        ("", Period(NOW, NOW), False),  # neither: empty at now, as Nova's two clock readings give
        ("end=2030-01-01T00:00:00", Period(NOW, NOW), False),  # start now, end cut to now
    ],
    ids=["plain", "fractions", "repeated", "detailed-true", "detailed-first", "paging-ignored", "neither", "future-end"],
)
def test_parse_query(query: str, period: Period, detailed: bool) -> None:
    assert parse_query(query, NOW) == (period, detailed)


@pytest.mark.parametrize("text", ["2025-05-01", "2025-05-01T10:00:00Z", "2025-05-01T10:00:00+00:00", "yesterday", "0000-01-01T00:00:00"])
def test_times_nova_does_not_read_are_its_400_message(text: str) -> None:
    with pytest.raises(InvalidPeriod, match=INVALID_TIME):
        parse_time(text, NOW)


def test_equal_start_and_end_are_refused() -> None:
    with pytest.raises(InvalidPeriod, match=START_AFTER_END):
        parse_query("start=2025-05-01T10:00:00&end=2025-05-01T10:00:00", NOW)


def test_a_report_covers_novas_max_limit_of_servers_first_by_project_then_id() -> None:
    many = [server(f"s{i:04d}", "p2" if i % 2 else "p1", TINY, at(9)) for i in range(MAX_SERVERS + 1)]
    usages = tenant_usages(many, PERIOD, NOW)
    listed = [s["instance_id"] for u in usages for s in u["server_usages"]]
    # p1 has the 501 even numbers s0000-s1000 and comes first; of p2's 500 odd ones, the last (s0999) is left out
    assert len(listed) == MAX_SERVERS and listed[:2] == ["s0000", "s0002"] and listed[-1] == "s0997"
    assert [u["total_hours"] for u in usages] == [501 * 4.0, 499 * 4.0]
