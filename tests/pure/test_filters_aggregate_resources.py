"""AggregateRamFilter, AggregateCoreFilter, AggregateDiskFilter: the aggregate's ratio, lowest value wins.

The global options differ from the host's own ratios (ram 1.0, cpu 4.0,
disk 1.0) on purpose, so each table shows which ratio was used.
"""

from __future__ import annotations

import pytest

from builders import build_aggregated_host, build_claim, build_flavor, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.aggregate_core_filter import AggregateCoreFilter
from novalog.scheduler.filters.aggregate_disk_filter import AggregateDiskFilter
from novalog.scheduler.filters.aggregate_ram_filter import AggregateRamFilter
from novalog.scheduler.filters.aggregate_values import lowest, metadata_of, values_of
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions(ram_allocation_ratio=1.25, cpu_allocation_ratio=2.0, disk_allocation_ratio=1.5)


def used(**resources: int) -> list:
    """One accepted claim holding those resources (vcpus, memory_mb, disk_gb; the rest 0)."""
    return [build_claim("used", **{"vcpus": 0, "memory_mb": 0, "disk_gb": 0, **resources})]


@pytest.mark.parametrize(
    ("values", "default", "cast", "expected"),
    [
        pytest.param([], 1.5, float, 1.5, id="none-default"),
        pytest.param(["2.0"], 1.5, float, 2.0, id="one-value"),
        # Kilo+: numeric minimum; Juno's min of the raw strings would pick "10.0"
        pytest.param(["2.0", "10.0"], 1.5, float, 2.0, id="numeric-minimum-not-string-minimum"),
        pytest.param(["3", "2.5", "8"], 1.5, float, 2.5, id="minimum-of-three"),
        pytest.param(["2.0", "abc"], 1.5, float, 1.5, id="any-unparsable-default"),
        pytest.param(["abc"], 1.5, float, 1.5, id="only-unparsable-default"),
        pytest.param(["2.0,3.0"], 1.5, float, 1.5, id="comma-list-is-not-split-unparsable"),
        pytest.param([" 2.0 "], 1.5, float, 2.0, id="surrounding-blanks-parse"),
        pytest.param(["nan", "2.0"], 1.5, float, 1.5, id="nan-counts-as-unparsable"),
        pytest.param(["inf"], 1.5, float, 1.5, id="infinity-counts-as-unparsable"),
        pytest.param(["-1"], 1.5, float, -1.0, id="negative-is-a-number"),
        pytest.param(["8", "4"], 50, int, 4, id="int-minimum"),
        pytest.param(["8.0"], 50, int, 50, id="int-refuses-8.0"),
    ],
)
def test_lowest(values, default, cast, expected) -> None:
    result = lowest(values, default, cast)

    assert result == expected
    assert type(result) is type(expected)


def test_values_of_and_metadata_of() -> None:
    host = build_aggregated_host({"k": "a, b", "zone": "z1"}, {"k": "c"}, {"other": "x"})

    # raw values, no comma split, only aggregates that carry the key
    assert values_of(host.aggregates, "k") == {"a, b", "c"}
    # every key, comma split and trimmed
    assert metadata_of(host.aggregates) == {"k": {"a", "b", "c"}, "zone": {"z1"}, "other": {"x"}}
    # with a key: all the keys of the aggregates that carry it, and only those
    assert metadata_of(host.aggregates, "zone") == {"k": {"a", "b"}, "zone": {"z1"}}


@pytest.mark.parametrize(
    ("aggregates", "host", "ram", "passes"),
    [
        # no aggregate: global 1.25 (not the host's 1.0): 8192 x 1.25 - 9728 = 512 room
        pytest.param([], dict(claims=used(memory_mb=9728)), 512, True, id="global-1.25-room-512-request-512"),
        pytest.param([], dict(claims=used(memory_mb=9728)), 513, False, id="global-1.25-room-512-request-513"),
        # an aggregate without the key: global again
        pytest.param([{"other": "2.0"}], dict(claims=used(memory_mb=9728)), 513, False, id="no-key-global"),
        # 8192 x 2.0 - 15872 = 512
        pytest.param([{"ram_allocation_ratio": "2.0"}], dict(claims=used(memory_mb=15872)), 512, True, id="agg-2.0-room-512-request-512"),
        pytest.param([{"ram_allocation_ratio": "2.0"}], dict(claims=used(memory_mb=15872)), 513, False, id="agg-2.0-room-512-request-513"),
        # lowest wins, numerically: 2.0 of {2.0, 10.0}; with 10.0 the room would be 81920 - 15872
        pytest.param([{"ram_allocation_ratio": "2.0"}, {"ram_allocation_ratio": "10.0"}], dict(claims=used(memory_mb=15872)), 513, False, id="two-aggs-lowest-2.0"),
        # any unparsable: global 1.25: 10240 - 9728 = 512 (with 2.0: 16384 - 9728 = 6656)
        pytest.param([{"ram_allocation_ratio": "2.0"}, {"ram_allocation_ratio": "lots"}], dict(claims=used(memory_mb=9728)), 513, False, id="unparsable-global"),
        pytest.param([{"ram_allocation_ratio": "2.0"}, {"ram_allocation_ratio": "lots"}], dict(claims=used(memory_mb=9728)), 512, True, id="unparsable-global-room-512"),
        # a ratio below the host's own: 8192 x 0.5 - 3584 = 512
        pytest.param([{"ram_allocation_ratio": "0.5"}], dict(claims=used(memory_mb=3584)), 513, False, id="agg-0.5-below-host-ratio"),
        # reserved counts: 8192 x 1.0 - 512 reserved - 7168 = 512
        pytest.param([{"ram_allocation_ratio": "1.0"}], dict(reserved_memory_mb=512, claims=used(memory_mb=7168)), 512, True, id="reserved-room-512-request-512"),
        pytest.param([{"ram_allocation_ratio": "1.0"}], dict(reserved_memory_mb=512, claims=used(memory_mb=7168)), 513, False, id="reserved-room-512-request-513"),
        # 8192 x 4.0 = 32768 room, but 8193 > 8192 physical: never against itself
        pytest.param([{"ram_allocation_ratio": "4.0"}], {}, 8192, True, id="physical-8192-request-8192"),
        pytest.param([{"ram_allocation_ratio": "4.0"}], {}, 8193, False, id="physical-8192-request-8193"),
        pytest.param([{"ram_allocation_ratio": "4.0"}], dict(capacity_reported_at=None), 1, False, id="never-reported"),
    ],
)
def test_aggregate_ram_filter(aggregates, host, ram, passes) -> None:
    spec = build_spec(build_flavor(ram=ram))

    assert AggregateRamFilter().host_passes(build_aggregated_host(*aggregates, **host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("aggregates", "host", "vcpus", "passes"),
    [
        # no aggregate: global 2.0 (not the host's 4.0): 4 x 2.0 - 6 = 2 room
        pytest.param([], dict(claims=used(vcpus=6)), 2, True, id="global-2.0-room-2-request-2"),
        pytest.param([], dict(claims=used(vcpus=6)), 3, False, id="global-2.0-room-2-request-3"),
        # 4 x 3.0 - 10 = 2
        pytest.param([{"cpu_allocation_ratio": "3.0"}], dict(claims=used(vcpus=10)), 2, True, id="agg-3.0-room-2-request-2"),
        pytest.param([{"cpu_allocation_ratio": "3.0"}], dict(claims=used(vcpus=10)), 3, False, id="agg-3.0-room-2-request-3"),
        # lowest wins: 3.0 of {16.0, 3.0}; with 16.0 the room would be 54
        pytest.param([{"cpu_allocation_ratio": "16.0"}, {"cpu_allocation_ratio": "3.0"}], dict(claims=used(vcpus=10)), 3, False, id="two-aggs-lowest-3.0"),
        # any unparsable: global 2.0: 8 - 6 = 2 (with 3.0: 12 - 6 = 6)
        pytest.param([{"cpu_allocation_ratio": "3.0"}, {"cpu_allocation_ratio": "3,0"}], dict(claims=used(vcpus=6)), 3, False, id="unparsable-global"),
        # reserved counts: 4 x 3.0 - 1 - 9 = 2
        pytest.param([{"cpu_allocation_ratio": "3.0"}], dict(reserved_vcpus=1, claims=used(vcpus=9)), 2, True, id="reserved-room-2-request-2"),
        pytest.param([{"cpu_allocation_ratio": "3.0"}], dict(reserved_vcpus=1, claims=used(vcpus=9)), 3, False, id="reserved-room-2-request-3"),
        # 4 x 16.0 = 64 room, but 5 > 4 physical vCPUs
        pytest.param([{"cpu_allocation_ratio": "16.0"}], {}, 4, True, id="physical-4-request-4"),
        pytest.param([{"cpu_allocation_ratio": "16.0"}], {}, 5, False, id="physical-4-request-5"),
        # Nova passes vcpus_total == 0; novalog fails it, as its CoreFilter does
        pytest.param([{"cpu_allocation_ratio": "16.0"}], dict(vcpus=0), 1, False, id="zero-vcpus-fails-unlike-nova"),
    ],
)
def test_aggregate_core_filter(aggregates, host, vcpus, passes) -> None:
    spec = build_spec(build_flavor(vcpus=vcpus))

    assert AggregateCoreFilter().host_passes(build_aggregated_host(*aggregates, **host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("aggregates", "host", "flavor", "passes"),
    [
        # no aggregate: global 1.5 (not the host's 1.0): 80 x 1.5 - 110 = 10 GB room; root 8 + ephemeral 2
        pytest.param([], dict(claims=used(disk_gb=110)), dict(disk=8, ephemeral=2), True, id="global-1.5-room-10-request-8+2"),
        pytest.param([], dict(claims=used(disk_gb=110)), dict(disk=8, ephemeral=3), False, id="global-1.5-room-10-request-8+3"),
        # 80 x 2.0 - 150 = 10
        pytest.param([{"disk_allocation_ratio": "2.0"}], dict(claims=used(disk_gb=150)), dict(disk=10), True, id="agg-2.0-room-10-request-10"),
        pytest.param([{"disk_allocation_ratio": "2.0"}], dict(claims=used(disk_gb=150)), dict(disk=11), False, id="agg-2.0-room-10-request-11"),
        # lowest wins: 1.25 of {2.0, 1.25}: 100 - 90 = 10
        pytest.param([{"disk_allocation_ratio": "2.0"}, {"disk_allocation_ratio": "1.25"}], dict(claims=used(disk_gb=90)), dict(disk=10), True, id="two-aggs-lowest-1.25-request-10"),
        pytest.param([{"disk_allocation_ratio": "2.0"}, {"disk_allocation_ratio": "1.25"}], dict(claims=used(disk_gb=90)), dict(disk=11), False, id="two-aggs-lowest-1.25-request-11"),
        # any unparsable: global 1.5: 120 - 110 = 10 (with 2.0: 160 - 110 = 50)
        pytest.param([{"disk_allocation_ratio": "2.0"}, {"disk_allocation_ratio": ""}], dict(claims=used(disk_gb=110)), dict(disk=11), False, id="empty-value-unparsable-global"),
        # swap counts, rounded up to GB (as the claim): room 10; 6 + 4096 MB = 6 + 4 = 10 fits, 6 + 4097 MB = 6 + 5 = 11 does not
        pytest.param([{"disk_allocation_ratio": "2.0"}], dict(claims=used(disk_gb=150)), dict(disk=6, swap=4096), True, id="room-10-request-6+swap-4096MB"),
        pytest.param([{"disk_allocation_ratio": "2.0"}], dict(claims=used(disk_gb=150)), dict(disk=6, swap=4097), False, id="room-10-request-6+swap-4097MB"),
        # 80 x 2.0 = 160 room, but 81 > 80 physical
        pytest.param([{"disk_allocation_ratio": "2.0"}], {}, dict(disk=80), True, id="physical-80-request-80"),
        pytest.param([{"disk_allocation_ratio": "2.0"}], {}, dict(disk=81), False, id="physical-80-request-81"),
    ],
)
def test_aggregate_disk_filter(aggregates, host, flavor, passes) -> None:
    spec = build_spec(build_flavor(**flavor))

    assert AggregateDiskFilter().host_passes(build_aggregated_host(*aggregates, **host), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    "aggregate_filter",
    [AggregateRamFilter, AggregateCoreFilter, AggregateDiskFilter],
    ids=lambda cls: cls.NAME,
)
def test_aggregate_resource_filters_run_per_instance(aggregate_filter) -> None:
    # They must see the room taken by earlier instances of the same request.
    assert aggregate_filter.run_filter_once_per_request is False


@pytest.mark.parametrize("registered", [AggregateRamFilter, AggregateCoreFilter, AggregateDiskFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered
