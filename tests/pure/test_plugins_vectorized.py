"""The columnar forms of the count, aggregate-ratio and aggregate-only filters and of the load weighers, as their scalar forms.

Masks (IoOps/NumInstances and their Aggregate* variants, AggregateRam/Core/
DiskFilter) at their boundaries, many aggregate sets in one HostColumns so
the per-set limit or ratio must land on the right rows; the aggregate-only
filters asked once per distinct set; raw_values as weigh_object. A property
then draws what the pipeline property does not (extra specs, image
properties, every aggregate key these plug-ins read).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import build_aggregated_host, build_busy_host, build_claim, build_flavor, build_sched_host, build_spec
from novalog.scheduler.columnar import run_filters
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import (
    FILTERS,
    AggregateCoreFilter,
    AggregateDiskFilter,
    AggregateImagePropertiesIsolation,
    AggregateInstanceExtraSpecsFilter,
    AggregateIoOpsFilter,
    AggregateMultiTenancyIsolation,
    AggregateNumInstancesFilter,
    AggregateRamFilter,
    AggregateTypeAffinityFilter,
    AvailabilityZoneFilter,
    ComputeFilter,
    IoOpsFilter,
    NumInstancesFilter,
)
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.vectorized import AggregateSetFilter, VectorizedFilter, VectorizedWeigher
from novalog.scheduler.weights import WEIGHERS

SPEC = build_spec()
BEYOND_INT64 = "100000000000000000000000"  # parses as a Python int, does not fit an int64 column


def assert_mask(host_filter, hosts, spec, options, expected) -> None:
    """The mask over all hosts at once is `expected`, and so is host_passes host by host."""
    mask = host_filter.mask(HostColumns.from_hosts(hosts), spec, options)

    assert mask.dtype == bool
    assert mask.tolist() == expected
    assert [bool(host_filter.host_passes(h, spec, options)) for h in hosts] == expected


# --- IoOpsFilter, NumInstancesFilter: strictly fewer than the limit ---


IO_OPS_HOSTS = [build_busy_host(running=5, building=building) for building in (0, 2, 3, 4)]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(3, [True, True, False, False], id="limit-3-full-at-3"),
        pytest.param(4, [True, True, True, False], id="limit-4-full-at-4"),
        pytest.param(0, [False, False, False, False], id="limit-0-takes-nothing"),
        # an options file may give a float: compared as is, not truncated to 3
        pytest.param(3.5, [True, True, True, False], id="float-limit-3.5"),
        pytest.param(2**70, [True, True, True, True], id="limit-beyond-int64"),
        pytest.param(-(2**70), [False, False, False, False], id="limit-below-int64"),
    ],
)
def test_io_ops_filter_mask(limit, expected) -> None:
    assert_mask(IoOpsFilter(), IO_OPS_HOSTS, SPEC, SchedulerOptions(max_io_ops_per_host=limit), expected)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        # instances = running + building: 0, 3, 4 (2 + 2), 5
        pytest.param(4, [True, True, False, False], id="limit-4-full-at-4"),
        pytest.param(5, [True, True, True, False], id="limit-5-full-at-5"),
        pytest.param(0, [False, False, False, False], id="limit-0"),
        pytest.param(4.5, [True, True, True, False], id="float-limit-4.5"),
    ],
)
def test_num_instances_filter_mask(limit, expected) -> None:
    hosts = [build_busy_host(), build_busy_host(running=3), build_busy_host(running=2, building=2), build_busy_host(running=5)]

    assert_mask(NumInstancesFilter(), hosts, SPEC, SchedulerOptions(max_instances_per_host=limit), expected)


# Each row: (aggregates' metadata, building); the global limit is 3. Equal metadata
# on different hosts is one aggregate set, so the per-set limit is broadcast.
AGGREGATE_IO_OPS_ROWS = [
    ([], 2),  # global 3: passes
    ([], 3),  # global 3: full
    ([{"other": "10"}], 3),  # no key: global 3, full
    ([{"max_io_ops_per_host": "5"}], 4),  # 5 replaces 3: passes
    ([{"max_io_ops_per_host": "5"}], 5),  # full
    ([{"max_io_ops_per_host": "10"}, {"max_io_ops_per_host": "5"}], 4),  # lowest 5, numerically: passes
    ([{"max_io_ops_per_host": "10"}, {"max_io_ops_per_host": "5"}], 5),  # full
    ([{"max_io_ops_per_host": "10"}, {"max_io_ops_per_host": "6.0"}], 3),  # int refuses "6.0": global 3, full
    ([{"max_io_ops_per_host": "-1"}], 0),  # a negative limit takes nothing
    ([{"max_io_ops_per_host": BEYOND_INT64}], 9),  # beyond int64: compared exactly, passes
]


@pytest.mark.parametrize(
    ("global_limit", "expected"),
    [
        pytest.param(3, [True, False, False, True, False, True, False, False, False, True], id="global-3"),
        # the global option is a float: the limits of all sets are compared as they are
        pytest.param(3.5, [True, True, True, True, False, True, False, True, False, True], id="global-3.5"),
    ],
)
def test_aggregate_io_ops_filter_mask(global_limit, expected) -> None:
    hosts = [build_busy_host(building=building, aggregates=aggregates) for aggregates, building in AGGREGATE_IO_OPS_ROWS]
    cols = HostColumns.from_hosts(hosts)
    assert len(cols.agg_sets) == 7  # the rows share sets

    assert_mask(AggregateIoOpsFilter(), hosts, SPEC, SchedulerOptions(max_io_ops_per_host=global_limit), expected)


def test_aggregate_io_ops_filter_mask_without_a_limit_beyond_int64() -> None:
    # All limits fit: an int64 array of limits, one per row.
    rows = AGGREGATE_IO_OPS_ROWS[:-1]
    hosts = [build_busy_host(building=building, aggregates=aggregates) for aggregates, building in rows]
    options = SchedulerOptions(max_io_ops_per_host=3)

    limits = AggregateIoOpsFilter().max_io_ops_by_row(HostColumns.from_hosts(hosts), options)

    assert limits.dtype == np.int64
    assert limits.tolist() == [3, 3, 3, 5, 5, 5, 5, 3, -1]
    assert_mask(AggregateIoOpsFilter(), hosts, SPEC, options, [True, False, False, True, False, True, False, False, False])


def test_aggregate_num_instances_filter_mask() -> None:
    rows = [
        ([], 3),  # global 4: passes
        ([], 4),  # full
        ([{"max_instances_per_host": "6"}], 5),  # passes
        ([{"max_instances_per_host": "6"}], 6),  # full
        ([{"max_instances_per_host": "6"}, {"max_instances_per_host": "2"}], 1),  # lowest 2: passes
        ([{"max_instances_per_host": "6"}, {"max_instances_per_host": "2"}], 2),  # full
        ([{"max_instances_per_host": "6"}, {"max_instances_per_host": "x"}], 3),  # unparsable: global 4, passes
        ([{"max_instances_per_host": "6"}, {"max_instances_per_host": "x"}], 4),  # full
    ]
    hosts = [build_busy_host(running=running, aggregates=aggregates) for aggregates, running in rows]

    assert_mask(
        AggregateNumInstancesFilter(), hosts, SPEC, SchedulerOptions(max_instances_per_host=4),
        [True, False, True, False, True, False, True, False],
    )  # fmt: skip


# --- AggregateRam/Core/DiskFilter: the lowest aggregate ratio, then capacity.room and the physical size ---

# The global ratios differ from the hosts' own (ram 1.0, cpu 4.0, disk 1.0), so each row shows which one was used.
RATIO_OPTIONS = SchedulerOptions(ram_allocation_ratio=1.25, cpu_allocation_ratio=2.0, disk_allocation_ratio=1.5)


def used(**resources: int) -> list:
    """One accepted claim holding those resources (the rest 0)."""
    return [build_claim("used", **{"vcpus": 0, "memory_mb": 0, "disk_gb": 0, **resources})]


AGGREGATE_RAM_HOSTS = [
    # no aggregate: global 1.25: 8192 x 1.25 - 9728 = 512 room
    build_aggregated_host(claims=used(memory_mb=9728)),
    # 8192 x 2.0 - 15872 = 512
    build_aggregated_host({"ram_allocation_ratio": "2.0"}, claims=used(memory_mb=15872)),
    # lowest 2.0 of {2.0, 10.0}: 512
    build_aggregated_host({"ram_allocation_ratio": "2.0"}, {"ram_allocation_ratio": "10.0"}, claims=used(memory_mb=15872)),
    # any unparsable: global 1.25: 512 (with 2.0 it would be 6656)
    build_aggregated_host({"ram_allocation_ratio": "2.0"}, {"ram_allocation_ratio": "lots"}, claims=used(memory_mb=9728)),
    # 8192 x 4.0 = 32768 room, physical 8192
    build_aggregated_host({"ram_allocation_ratio": "4.0"}),
    # 8192 x 0.1 - 307 = 512.2: a fractional room
    build_aggregated_host({"ram_allocation_ratio": "0.1"}, claims=used(memory_mb=307)),
    # never reported: 0 total
    build_aggregated_host({"ram_allocation_ratio": "4.0"}, capacity_reported_at=None),
    # 8192 x 0.5 - 512 reserved - 4096 = -512: overcommitted
    build_aggregated_host({"ram_allocation_ratio": "0.5"}, reserved_memory_mb=512, claims=used(memory_mb=4096)),
]


@pytest.mark.parametrize(
    ("ram", "expected"),
    [
        pytest.param(512, [True, True, True, True, True, True, False, False], id="room-512-request-512"),
        pytest.param(513, [False, False, False, False, True, False, False, False], id="room-512-request-513"),
        pytest.param(8192, [False, False, False, False, True, False, False, False], id="physical-8192-request-8192"),
        pytest.param(8193, [False] * 8, id="physical-8192-request-8193"),
        # 0 fits everywhere but on the overcommitted host (room -512 < 0)
        pytest.param(0, [True, True, True, True, True, True, True, False], id="request-0"),
    ],
)
def test_aggregate_ram_filter_mask(ram, expected) -> None:
    assert_mask(AggregateRamFilter(), AGGREGATE_RAM_HOSTS, build_spec(build_flavor(ram=ram)), RATIO_OPTIONS, expected)


AGGREGATE_CORE_HOSTS = [
    # no aggregate: global 2.0: 4 x 2.0 - 6 = 2 room
    build_aggregated_host(claims=used(vcpus=6)),
    # 4 x 3.0 - 10 = 2
    build_aggregated_host({"cpu_allocation_ratio": "3.0"}, claims=used(vcpus=10)),
    # lowest 3.0 of {16.0, 3.0}: 2
    build_aggregated_host({"cpu_allocation_ratio": "16.0"}, {"cpu_allocation_ratio": "3.0"}, claims=used(vcpus=10)),
    # reserved counts: 4 x 3.0 - 1 - 9 = 2
    build_aggregated_host({"cpu_allocation_ratio": "3.0"}, reserved_vcpus=1, claims=used(vcpus=9)),
    # 4 x 16.0 = 64 room, physical 4
    build_aggregated_host({"cpu_allocation_ratio": "16.0"}),
    # 0 vCPUs: fails whatever the request (novalog, unlike Nova)
    build_aggregated_host({"cpu_allocation_ratio": "16.0"}, vcpus=0),
]


@pytest.mark.parametrize(
    ("vcpus", "expected"),
    [
        pytest.param(2, [True, True, True, True, True, False], id="room-2-request-2"),
        pytest.param(3, [False, False, False, False, True, False], id="room-2-request-3"),
        pytest.param(4, [False, False, False, False, True, False], id="physical-4-request-4"),
        pytest.param(5, [False] * 6, id="physical-4-request-5"),
        pytest.param(0, [True, True, True, True, True, False], id="request-0-zero-vcpus-still-fails"),
    ],
)
def test_aggregate_core_filter_mask(vcpus, expected) -> None:
    assert_mask(AggregateCoreFilter(), AGGREGATE_CORE_HOSTS, build_spec(build_flavor(vcpus=vcpus)), RATIO_OPTIONS, expected)


AGGREGATE_DISK_HOSTS = [
    # no aggregate: global 1.5: 80 x 1.5 - 110 = 10 GB room
    build_aggregated_host(claims=used(disk_gb=110)),
    # 80 x 2.0 - 150 = 10
    build_aggregated_host({"disk_allocation_ratio": "2.0"}, claims=used(disk_gb=150)),
    # lowest 1.25 of {2.0, 1.25}: 100 - 90 = 10
    build_aggregated_host({"disk_allocation_ratio": "2.0"}, {"disk_allocation_ratio": "1.25"}, claims=used(disk_gb=90)),
    # "" does not parse: global 1.5: 120 - 110 = 10
    build_aggregated_host({"disk_allocation_ratio": "2.0"}, {"disk_allocation_ratio": ""}, claims=used(disk_gb=110)),
    # 80 x 2.0 = 160 room, physical 80
    build_aggregated_host({"disk_allocation_ratio": "2.0"}),
    # free_disk_mb -70657 (not whole GB): claimed 80 - (-70657 // 1024 = -70) = 150, room 160 - 150 = 10
    replace(build_aggregated_host({"disk_allocation_ratio": "2.0"}), free_disk_mb=-70657),
]


@pytest.mark.parametrize(
    ("flavor", "expected"),
    [
        pytest.param(dict(disk=8, ephemeral=2), [True] * 6, id="room-10-request-8+2"),
        pytest.param(dict(disk=8, ephemeral=3), [False, False, False, False, True, False], id="room-10-request-8+3"),
        # swap counts, in whole GB rounded up: 6 + 4096 MB = 10 fits every room of 10; 6 + 4097 MB = 11 only the 160
        pytest.param(dict(disk=6, swap=4096), [True] * 6, id="room-10-request-6+swap-4096MB"),
        pytest.param(dict(disk=6, swap=4097), [False, False, False, False, True, False], id="room-10-request-6+swap-4097MB"),
        pytest.param(dict(disk=80), [False, False, False, False, True, False], id="physical-80-request-80"),
        pytest.param(dict(disk=81), [False] * 6, id="physical-80-request-81"),
    ],
)
def test_aggregate_disk_filter_mask(flavor, expected) -> None:
    assert_mask(AggregateDiskFilter(), AGGREGATE_DISK_HOSTS, build_spec(build_flavor(**flavor)), RATIO_OPTIONS, expected)


# --- the aggregate-only filters: once per distinct aggregate set ---


def spying(cls: type) -> AggregateSetFilter:
    """An instance of `cls` that records every aggregate set it is asked about."""

    class Spy(cls):
        def __init__(self) -> None:
            self.asked: list[tuple] = []

        def passes_aggregates(self, aggregates, spec, options) -> bool:
            self.asked.append(tuple(aggregates))
            return super().passes_aggregates(aggregates, spec, options)

    return Spy()


RICH = {
    "availability_zone": "az1", "filter_tenant_id": "project-1", "instance_type": "m1.tiny", "hw_architecture": "x86_64",
    "ssd": "true",
}  # fmt: skip
OTHER = {
    "availability_zone": "az2", "filter_tenant_id": "project-2", "instance_type": "m1.large", "hw_architecture": "aarch64",
    "ssd": "false",
}  # fmt: skip
S1, S2 = (Aggregate("agg-1", "rich", RICH),), (Aggregate("agg-2", "other", OTHER),)
S1_COPY = (Aggregate("agg-1", "rich", dict(RICH)),)  # equal by value: the same set
DOWN_SET = (Aggregate("agg-3", "down", {"availability_zone": "az3"}),)
ASKED_ABOUT = [S1, S2, ()]  # in the order the survivors first hold them; DOWN_SET only on a disabled host


@pytest.mark.parametrize(
    ("cls", "passing"),
    [
        # which of S1, S2, () pass for an az1 request of project-1, flavor m1.tiny with ssd=true, an x86_64 image
        pytest.param(AvailabilityZoneFilter, [True, False, False], id="AvailabilityZoneFilter"),
        pytest.param(AggregateMultiTenancyIsolation, [True, False, True], id="AggregateMultiTenancyIsolation"),
        pytest.param(AggregateTypeAffinityFilter, [True, False, True], id="AggregateTypeAffinityFilter"),
        pytest.param(AggregateInstanceExtraSpecsFilter, [True, False, False], id="AggregateInstanceExtraSpecsFilter"),
        pytest.param(AggregateImagePropertiesIsolation, [True, False, True], id="AggregateImagePropertiesIsolation"),
    ],
)
def test_an_aggregate_only_filter_is_asked_once_per_distinct_set(cls, passing) -> None:
    hosts = [
        replace(build_sched_host(host="a"), aggregates=S1),
        replace(build_sched_host(host="b"), aggregates=S2),
        replace(build_sched_host(host="c"), aggregates=S1_COPY),
        replace(build_sched_host(host="d"), aggregates=()),
        replace(build_sched_host(host="down", disabled=True), aggregates=DOWN_SET),
        replace(build_sched_host(host="e"), aggregates=S2),
        replace(build_sched_host(host="f"), aggregates=S1),
    ]
    flavor = build_flavor(extra_specs={"aggregate_instance_extra_specs:ssd": "true"})
    spec = build_spec(flavor, availability_zone="az1", image_properties={"hw_architecture": "x86_64"})
    spy, options = spying(cls), SchedulerOptions()
    assert isinstance(FILTERS[cls.NAME](), AggregateSetFilter)

    rows, _ = run_filters(HostColumns.from_hosts(hosts), [ComputeFilter(), spy], spec, options)

    assert spy.asked == ASKED_ABOUT
    # a, b, c, d, e, f hold S1, S2, S1, (), S2, S1
    expected = [name for name, held in zip("abcdef", [0, 1, 0, 2, 1, 0]) if passing[held]]
    assert [hosts[row].host for row in rows] == expected
    # the scalar form, host by host, keeps the same hosts
    scalar = cls().filter_all([h for h in hosts if not h.disabled], spec, options)
    assert [h.host for h in scalar] == expected


# --- the load weighers' raw values ---


@pytest.mark.parametrize("name", ["IoOpsWeigher", "NumInstancesWeigher", "BuildFailureWeigher", "HypervisorVersionWeigher"])
def test_raw_values_are_weigh_object(name) -> None:
    hosts = [
        build_busy_host(running=2, building=1, failed_builds=3, hypervisor_version=6_000_000),
        build_busy_host(),
        build_busy_host(building=4, hypervisor_version=0),
        build_busy_host(running=7, failed_builds=1, hypervisor_version=9_001_002),
    ]
    weigher = WEIGHERS[name]()

    raw = np.asarray(weigher.raw_values(HostColumns.from_hosts(hosts), SPEC), dtype=np.float64)

    assert isinstance(weigher, VectorizedWeigher)
    assert raw.tolist() == [float(weigher.weigh_object(h, SPEC)) for h in hosts]


# --- a property over what the pipeline property does not draw ---

COLUMNAR_FILTERS = [
    "AvailabilityZoneFilter", "AggregateMultiTenancyIsolation", "AggregateTypeAffinityFilter",
    "AggregateInstanceExtraSpecsFilter", "AggregateImagePropertiesIsolation", "IoOpsFilter", "NumInstancesFilter",
    "AggregateIoOpsFilter", "AggregateNumInstancesFilter", "AggregateRamFilter", "AggregateCoreFilter", "AggregateDiskFilter",
]  # fmt: skip
KEYS = [
    "availability_zone", "filter_tenant_id", "filter_tenant_id_2", "instance_type", "hw_architecture", "os_distro",
    "ssd", "ram_allocation_ratio", "cpu_allocation_ratio", "disk_allocation_ratio", "max_io_ops_per_host",
    "max_instances_per_host",
]  # fmt: skip
VALUES = [
    "az1", "az1, az2", "", "project-1", "project-1,project-2", "m1.tiny", "m1.tiny , m1.large", "x86_64",
    "x86_64,aarch64", "true", "false", "2", "1.5", "0.5", "-1", "nan", BEYOND_INT64,
]  # fmt: skip
REQUIREMENTS = ["true", "s== true", "<in> x86", "<or> true <or> false", "= 2", ">= 1.5", "<all-in> az1 az2", "<or>"]
POOL = st.lists(
    st.builds(
        Aggregate,
        id=st.sampled_from(["agg-1", "agg-2", "agg-3"]),
        name=st.just("agg"),
        metadata=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4),
    ),
    max_size=3,
    unique_by=lambda a: a.id,
)


@st.composite
def hosts_and_request(draw):
    pool = draw(POOL)
    hosts = [
        replace(
            build_sched_host(host=f"h{i}"),
            aggregates=tuple(draw(st.lists(st.sampled_from(pool), unique_by=lambda a: a.id, max_size=3))) if pool else (),
            total_usable_ram_mb=draw(st.sampled_from([0, 4096, 8192])),
            free_ram_mb=draw(st.integers(-4, 16)) * 512,
            vcpus_total=draw(st.integers(0, 8)),
            vcpus_used=draw(st.integers(0, 20)),
            free_disk_mb=draw(st.integers(-20_000, 90_000)),
            num_io_ops=draw(st.integers(0, 10)),
            num_instances=draw(st.integers(0, 10)),
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    extra_specs = draw(
        st.dictionaries(
            st.sampled_from(
                ["ssd", "aggregate_instance_extra_specs:ssd", "aggregate_instance_extra_specs:availability_zone", "capabilities:x"]
            ),
            st.sampled_from(REQUIREMENTS),
            max_size=2,
        )
    )
    flavor = build_flavor(
        name=draw(st.sampled_from(["m1.tiny", "m1.large"])), extra_specs=extra_specs, ram=draw(st.integers(0, 8)) * 1024,
        vcpus=draw(st.integers(0, 6)), disk=draw(st.integers(0, 90)),
    )  # fmt: skip
    spec = build_spec(
        flavor,
        availability_zone=draw(st.sampled_from([None, "nova", "az1", "az2"])),
        project_id=draw(st.sampled_from(["project-1", "project-2"])),
        image_properties=draw(
            st.dictionaries(st.sampled_from(["hw_architecture", "os_distro"]), st.sampled_from(["x86_64", "", "ubuntu"]), max_size=2)
        ),
    )
    options = SchedulerOptions(
        max_io_ops_per_host=draw(st.sampled_from([3, 8, 3.5])),
        max_instances_per_host=draw(st.sampled_from([4, 50])),
        ram_allocation_ratio=draw(st.sampled_from([1.0, 1.25])),
        aggregate_image_properties_isolation_namespace=draw(st.sampled_from([None, "hw"])),
        aggregate_image_properties_isolation_separator="_",
    )
    return hosts, spec, options


def outcome(run):
    try:
        return run()
    except Exception as error:  # noqa: BLE001
        return type(error)


@settings(max_examples=150, deadline=None)
@given(case=hosts_and_request(), name=st.sampled_from(COLUMNAR_FILTERS))
def test_each_columnar_form_keeps_the_hosts_its_scalar_form_keeps(case, name) -> None:
    hosts, spec, options = case
    host_filter = FILTERS[name]()
    assert isinstance(host_filter, VectorizedFilter | AggregateSetFilter)

    columnar = outcome(lambda: run_filters(HostColumns.from_hosts(hosts), [host_filter], spec, options)[0].tolist())
    scalar = outcome(lambda: [i for i, h in enumerate(hosts) if host_filter.host_passes(h, spec, options)])

    assert columnar == scalar
