"""select_host: the filter funnel, the weighing, the pick, and the trace that explains them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from builders import NOW, build_claim, build_flavor, build_sched_host, build_spec
from novalog.events.records import FilterCount, PlacementTrace, Resources, WeighedHost
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.host_state import consume
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import Selection, filter_hosts, no_valid_host_message, select_host

OPTIONS = SchedulerOptions(weight_classes=("RAMWeigher",))  # the traces below show the RAM parts only


def host_with_free_ram(name: str, free_mb: int, **fields):
    """A 8192 MB host with 8192 - free_mb claimed by one claim."""
    claims = [build_claim(f"{name}-c", memory_mb=8192 - free_mb)] if free_mb < 8192 else []
    return build_sched_host(host=name, claims=claims, **fields)


def test_each_filter_runs_on_the_previous_survivors_and_the_trace_shows_the_funnel() -> None:
    hosts = [
        host_with_free_ram("down", 8192, last_heartbeat_at=NOW - timedelta(minutes=5)),
        host_with_free_ram("tried", 8192),
        host_with_free_ram("full", 256),
        host_with_free_ram("ok-1", 2048),
        host_with_free_ram("ok-2", 4096),
    ]
    spec = build_spec(build_flavor(ram=1024), retry_hosts=["tried"], num_attempts=2)

    selection = select_host(hosts, spec, OPTIONS, random.Random(0))

    # RAM parts over [0, 4096]: ok-2 4096 / 4096 = 1.0, ok-1 2048 / 4096 = 0.5
    assert selection == Selection(
        host="ok-2",
        trace=PlacementTrace(
            hosts_before=5,
            filters=[
                FilterCount("ComputeFilter", 4),
                FilterCount("RetryFilter", 3),
                FilterCount("RamFilter", 2),
                FilterCount("CoreFilter", 2),
                FilterCount("DiskFilter", 2),
                FilterCount("ComputeCapabilitiesFilter", 2),
                FilterCount("ImagePropertiesFilter", 2),
                FilterCount("ServerGroupAntiAffinityFilter", 2),
                FilterCount("ServerGroupAffinityFilter", 2),
            ],
            top=[
                WeighedHost("ok-2", 1.0, {"RAMWeigher": 1.0}),
                WeighedHost("ok-1", 0.5, {"RAMWeigher": 0.5}),
            ],
        ),
    )


def test_filtering_stops_at_the_filter_that_leaves_no_host() -> None:
    hosts = [host_with_free_ram(f"h{i}", 512) for i in range(12)]
    spec = build_spec(build_flavor(ram=1024))

    selection = select_host(hosts, spec, OPTIONS, random.Random(0))

    assert selection.host is None
    assert selection.trace.filters == [
        FilterCount("ComputeFilter", 12),
        FilterCount("RetryFilter", 12),
        FilterCount("RamFilter", 0),
    ]
    assert selection.trace.top == []
    assert no_valid_host_message(selection.trace) == (
        "No valid host was found. 0/12 hosts: 12 not enough RAM. "
        "ComputeFilter: 12 -> 12, RetryFilter: 12 -> 12, RamFilter: 12 -> 0"
    )


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        pytest.param(
            PlacementTrace(hosts_before=12, filters=[FilterCount("RamFilter", 0)]),
            "No valid host was found. 0/12 hosts: 12 not enough RAM. RamFilter: 12 -> 0",
            id="one-filter-emptied-the-list",
        ),
        pytest.param(PlacementTrace(hosts_before=0), "No valid host was found. There are not enough hosts available.", id="no-hosts"),
    ],
)
def test_no_valid_host_message(trace, message) -> None:
    assert no_valid_host_message(trace) == message


def test_no_host_at_all_runs_no_filter() -> None:
    selection = select_host([], build_spec(), OPTIONS, random.Random(0))

    assert selection == Selection(host=None, trace=PlacementTrace(hosts_before=0))


def test_trace_keeps_the_top_five_best_first() -> None:
    # free RAM 1000, 2000, ..., 8000 MB: the 5 best are h8..h4
    hosts = [host_with_free_ram(f"h{i}", i * 1000) for i in range(1, 9)]

    trace = select_host(hosts, build_spec(), OPTIONS, random.Random(0)).trace

    assert [w.host for w in trace.top] == ["h8", "h7", "h6", "h5", "h4"]
    assert trace.top[0] == WeighedHost("h8", 1.0, {"RAMWeigher": 1.0})  # 8000 over [0, 8000]


@pytest.mark.parametrize(
    ("subset_size", "allowed"),
    [
        pytest.param(1, {"h6"}, id="subset-1-always-the-best"),
        pytest.param(3, {"h6", "h5", "h4"}, id="subset-3-among-top-3"),
        # clamped to the 6 candidates
        pytest.param(10, {"h1", "h2", "h3", "h4", "h5", "h6"}, id="subset-10-clamped-to-6"),
    ],
)
def test_host_subset_size_picks_at_random_among_the_best_n(subset_size, allowed) -> None:
    hosts = [host_with_free_ram(f"h{i}", i * 1000) for i in range(1, 7)]
    options = SchedulerOptions(host_subset_size=subset_size)
    rng = random.Random(42)

    picks = Counter(select_host(hosts, build_spec(), options, rng).host for _ in range(300))

    # every pick is among the best N, and with 300 draws each of them comes up
    assert set(picks) == allowed


def test_same_seed_same_picks() -> None:
    hosts = [host_with_free_ram(f"h{i}", i * 1000) for i in range(1, 7)]
    options = SchedulerOptions(host_subset_size=3)

    def picks(seed: int) -> list:
        rng = random.Random(seed)
        return [select_host(hosts, build_spec(), options, rng).host for _ in range(20)]

    assert picks(7) == picks(7)


def test_equal_weights_keep_input_order() -> None:
    hosts = [host_with_free_ram(name, 4096) for name in ("b", "a", "c")]

    selection = select_host(hosts, build_spec(), OPTIONS, random.Random(0))

    # all equal -> normalized 0 -> stable sort: the first input wins
    assert selection.host == "b"
    assert [w.host for w in selection.trace.top] == ["b", "a", "c"]


def test_a_consumed_host_is_seen_fuller_by_the_next_placement() -> None:
    # a 6144 free, b 5120 free; after consuming 2048 on a: a 4096 < b 5120
    a, b = host_with_free_ram("a", 6144), host_with_free_ram("b", 5120)
    spec = build_spec(build_flavor(ram=2048))

    first = select_host([a, b], spec, OPTIONS, random.Random(0)).host
    a = consume(a, Resources.of(spec.flavor), "claim-1")
    second = select_host([a, b], spec, OPTIONS, random.Random(0)).host

    assert (first, second) == ("a", "b")


def test_once_per_request_filters_run_for_the_first_instance_only() -> None:
    hosts = [host_with_free_ram("h1", 8192, disabled=True), host_with_free_ram("h2", 8192)]

    _, first = filter_hosts(hosts, build_spec(), OPTIONS, index=0)
    _, later = filter_hosts(hosts, build_spec(), OPTIONS, index=1)

    assert [c.name for c in first] == list(OPTIONS.enabled_filters)
    # Compute, ComputeCapabilities and ImageProperties run once per request; the group filters see each instance.
    assert [c.name for c in later] == [
        "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
    ]


# --- host list preparation (Nova's ignore_hosts, force_hosts, requested destination) ---


def _prep_hosts():
    full = build_claim("claim-full", memory_mb=8192)
    return [build_sched_host(host="host-1"), build_sched_host(host="host-2"), build_sched_host(host="host-3", claims=[full])]


@pytest.mark.parametrize("columns", [False, True], ids=["list", "columns"])
def test_ignored_hosts_are_never_picked(columns) -> None:
    hosts = _prep_hosts()
    spec = build_spec(ignore_hosts=["host-1"])
    picks = {select_host(HostColumns(hosts) if columns else hosts, spec, SchedulerOptions(), random.Random(seed)).host for seed in range(20)}
    assert picks == {"host-2"}


@pytest.mark.parametrize("columns", [False, True], ids=["list", "columns"])
def test_a_requested_host_is_still_judged_by_the_filters(columns) -> None:
    hosts = _prep_hosts()
    full = select_host(HostColumns(hosts) if columns else hosts, build_spec(requested_host="host-3"), SchedulerOptions(), random.Random(0))
    fits = select_host(HostColumns(hosts) if columns else hosts, build_spec(requested_host="host-2"), SchedulerOptions(), random.Random(0))
    assert full.host is None and "(requested_host): 3 -> 1" in no_valid_host_message(full.trace)
    assert fits.host == "host-2"


@pytest.mark.parametrize("columns", [False, True], ids=["list", "columns"])
def test_forced_hosts_skip_the_filters_as_in_nova(columns) -> None:
    hosts = _prep_hosts()
    forced = select_host(HostColumns(hosts) if columns else hosts, build_spec(force_hosts=["host-3"]), SchedulerOptions(), random.Random(0))
    unknown = select_host(HostColumns(hosts) if columns else hosts, build_spec(force_hosts=["host-9"]), SchedulerOptions(), random.Random(0))
    assert forced.host == "host-3" and [c.name for c in forced.trace.filters] == ["(force_hosts)"]
    assert unknown.host is None
