"""The columnar pass gives the scalar pass's Selection, trace included, for any hosts, request and options.

Hypothesis draws small clusters on purpose: few distinct sizes, so rooms land
exactly on the request (the capacity boundary), names repeat, weights tie,
and aggregate sets repeat, the cases where a columnar shortcut would show.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import build_claim, build_flavor, build_instance_group, build_sched_host, build_spec
from novalog.events.capacity import room
from novalog.events.records import FilterCount, RequestSpec, Resources
from novalog.scheduler.columnar import _best_whole, best_first, run_filters, weigh_columns
from novalog.scheduler.columns import BOOL_FIELDS, FLOAT_FIELDS, INT_FIELDS, HostColumns
from novalog.scheduler.filters import FILTERS, BaseHostFilter, ComputeFilter, RamFilter
from novalog.scheduler.host_state import Aggregate, SchedHost, consume
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import filter_columns, filter_hosts, select_host
from novalog.scheduler.vectorized import AggregateSetFilter, VectorizedFilter, VectorizedWeigher
from novalog.scheduler.weights import WEIGHERS, BaseHostWeigher, CPUWeigher, RAMWeigher, normalize, weigh_hosts
from novalog.scheduler.weights.base import normalize_array

NAMES = [f"h{i}" for i in range(8)]
NODES = ["n1", "n2"]  # a host name may repeat, each row one node
METADATA_KEYS = [
    "availability_zone", "ram_allocation_ratio", "cpu_allocation_ratio", "disk_allocation_ratio",
    "max_io_ops_per_host", "max_instances_per_host", "filter_tenant_id", "instance_type",
    "ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier", "io_ops_weight_multiplier",
    "build_failure_weight_multiplier", "soft_affinity_weight_multiplier", "soft_anti_affinity_weight_multiplier", "ssd",
]  # fmt: skip
METADATA_VALUES = ["nova", "az1", "az1,az2", "1.5", "2", "0.5", "-1.0", "3", "x", "project-1", "m1.tiny", "nan"]
RATIOS = st.sampled_from([0.0, 0.1, 0.5, 1 / 3, 1.0, 1.5, 2.0, 4.0, 16.0]) | st.floats(0, 20, allow_nan=False)
# Instances a host may run and a request's server group may name, so the group weighers and filters have something to count.
MEMBERS = ["member-1", "member-2", "member-3"]
GROUP_POLICIES = ["soft-affinity", "soft-anti-affinity", "affinity", "anti-affinity"]
MULTIPLIERS = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]) | st.floats(-5, 5, allow_nan=False)

aggregates = st.builds(
    Aggregate,
    id=st.sampled_from(["agg-1", "agg-2", "agg-3", "agg-4"]),
    name=st.sampled_from(["a", "b"]),
    metadata=st.dictionaries(st.sampled_from(METADATA_KEYS), st.sampled_from(METADATA_VALUES), max_size=3),
)


@st.composite
def sched_hosts(draw, pool: list[Aggregate]) -> SchedHost:
    """Any host: consistent or not (free above total, negative free), in an ordered subset of `pool`."""
    base = build_sched_host(host=draw(st.sampled_from(NAMES)))
    return replace(
        base,
        nodename=draw(st.sampled_from(NODES)),
        total_usable_ram_mb=draw(st.sampled_from([0, 512, 1024, 2048, 4096])),
        free_ram_mb=draw(st.integers(-4, 16)) * 256,
        vcpus_total=draw(st.integers(0, 8)),
        vcpus_used=draw(st.integers(0, 20)),
        total_usable_disk_gb=draw(st.integers(0, 40)),
        free_disk_mb=draw(st.integers(-10, 40).map(lambda gb: gb * 1024) | st.integers(-20_000, 50_000)),
        num_instances=draw(st.integers(0, 60)),
        num_io_ops=draw(st.integers(0, 10)),
        hypervisor_version=draw(st.sampled_from([6_000_000, 8_002_000])),
        cpu_allocation_ratio=draw(RATIOS),
        ram_allocation_ratio=draw(RATIOS),
        disk_allocation_ratio=draw(RATIOS),
        reserved_vcpus=draw(st.integers(0, 2)),
        reserved_memory_mb=draw(st.sampled_from([0, 256, 512])),
        reserved_disk_gb=draw(st.integers(0, 5)),
        # mostly up and enabled, so that enough hosts reach the weighers
        service_up=draw(st.sampled_from([True, True, True, False])),
        disabled=draw(st.sampled_from([False, False, False, True])),
        forced_down=draw(st.booleans()),
        failed_builds=draw(st.integers(0, 3)),
        aggregates=tuple(draw(st.lists(st.sampled_from(pool), unique_by=lambda a: a.id, max_size=3))) if pool else (),
        instances={iid: build_claim(f"claim-{iid}", instance_id=iid) for iid in draw(st.sets(st.sampled_from(MEMBERS), max_size=2))},
    )


@st.composite
def clusters(draw) -> list[SchedHost]:
    # Hosts draw from a shared pool of aggregate objects, so sets repeat.
    pool = draw(st.lists(aggregates, max_size=4, unique_by=lambda a: a.id))
    return draw(st.lists(sched_hosts(pool), max_size=12))


@st.composite
def specs(draw) -> RequestSpec:
    flavor = build_flavor(
        vcpus=draw(st.integers(0, 4)),
        ram=draw(st.integers(0, 8)) * 256,
        disk=draw(st.integers(0, 20)),
        ephemeral=draw(st.integers(0, 3)),
        swap=draw(st.sampled_from([0, 1, 1024, 1025, 4096])),  # MB, counted as whole GB on the disk
    )
    tried = draw(st.lists(st.tuples(st.sampled_from([*NAMES, "elsewhere"]), st.sampled_from(["", *NODES])), max_size=3))
    return build_spec(
        flavor,
        retry_hosts=[host for host, _ in tried],
        # each tried host's node; "" (a spec from before nodes were kept) is every node of that host
        retry_nodes=[node for _, node in tried],
        availability_zone=draw(st.sampled_from([None, "nova", "az1", "az2"])),
        project_id=draw(st.sampled_from(["project-1", "project-2"])),
        instance_group=draw(st.none() | st.builds(
            build_instance_group, policy=st.sampled_from(GROUP_POLICIES), members=st.lists(st.sampled_from(MEMBERS), unique=True, max_size=3),
        )),
    )


@st.composite
def options(draw) -> SchedulerOptions:
    default = SchedulerOptions().enabled_filters
    filters = draw(st.just(default) | st.lists(st.sampled_from(sorted(FILTERS)), max_size=7).map(tuple))
    # A repeated weigher is allowed by the options; its name keeps one part.
    weighers = draw(st.lists(st.sampled_from(sorted(WEIGHERS)), max_size=4).map(tuple))
    multipliers = {
        name: draw(MULTIPLIERS)
        for name in SchedulerOptions.__dataclass_fields__
        if name.endswith("_weight_multiplier")
    }
    return SchedulerOptions(
        enabled_filters=filters, weight_classes=weighers, host_subset_size=draw(st.integers(1, 7)), **multipliers
    )


def outcome(run):
    """The value, or the exception's type: a plug-in that raises must raise in both pipelines."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001
        return type(error)


@settings(max_examples=100, deadline=None)
@given(hosts=clusters())
def test_every_row_holds_its_hosts_fields_and_the_rooms_the_scalar_filters_compute(hosts) -> None:
    cols = HostColumns.from_hosts(hosts)

    for row, h in enumerate(hosts):
        assert {name: cols.columns[name][row] for name in (*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS)} == {
            name: getattr(h, name) for name in (*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS)
        }
        assert (cols.ram_claimed_mb[row], cols.disk_claimed_gb[row]) == (h.ram_claimed_mb, h.disk_claimed_gb)
        assert (cols.ram_room_mb[row], cols.vcpu_room[row], cols.disk_room_gb[row]) == (
            room(h.total_usable_ram_mb, h.ram_allocation_ratio, h.reserved_memory_mb, h.ram_claimed_mb),
            room(h.vcpus_total, h.cpu_allocation_ratio, h.reserved_vcpus, h.vcpus_used),
            room(h.total_usable_disk_gb, h.disk_allocation_ratio, h.reserved_disk_gb, h.disk_claimed_gb),
        )
        assert cols.agg_sets[cols.agg_key[row]] == h.aggregates


@settings(max_examples=300, deadline=None)
@given(hosts=clusters(), spec=specs(), opts=options(), seed=st.integers(0, 2**32))
def test_the_columnar_pass_selects_exactly_as_the_scalar_pass(hosts, spec, opts, seed) -> None:
    scalar_rng, columnar_rng = random.Random(seed), random.Random(seed)

    scalar = outcome(lambda: select_host(hosts, spec, opts, scalar_rng))
    columnar = outcome(lambda: select_host(HostColumns.from_hosts(hosts), spec, opts, columnar_rng))

    assert columnar == scalar
    assert columnar_rng.random() == scalar_rng.random()  # the pick drew the same random number


@settings(max_examples=200, deadline=None)
@given(hosts=clusters(), spec=specs(), opts=options())
def test_the_columnar_filters_and_weighers_agree_with_the_scalar_ones_over_the_whole_ranking(hosts, spec, opts) -> None:
    cols = HostColumns.from_hosts(hosts)
    scalar = outcome(lambda: filter_hosts(hosts, spec, opts))
    columnar = outcome(lambda: filter_columns(cols, spec, opts))
    if isinstance(scalar, type):
        assert columnar is scalar
        return
    (survivors, counts), (rows, column_counts) = scalar, columnar
    assert column_counts == counts
    assert [cols.hosts[row] for row in rows] == survivors

    weighers = [WEIGHERS[name]() for name in opts.weight_classes]
    ranked = outcome(lambda: weigh_columns(cols, rows, spec, weighers, opts, count=len(rows)))

    assert ranked == outcome(lambda: weigh_hosts(survivors, spec, weighers, opts))


@settings(max_examples=150, deadline=None)
@given(
    hosts=clusters(),
    spec=specs(),
    policy=st.sampled_from(["soft-affinity", "soft-anti-affinity"]),
    members=st.lists(st.sampled_from(MEMBERS), unique=True, min_size=1),
    opts=options(),
)
def test_the_soft_group_weighers_columns_give_the_scalar_ranking(hosts, spec, policy, members, opts) -> None:
    # Every request here carries a soft group whose members some hosts run: the case the drawn specs reach rarely.
    spec = replace(spec, instance_group=build_instance_group(policy, members))
    opts = replace(opts, weight_classes=("ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher", *opts.weight_classes))
    weighers = [WEIGHERS[name]() for name in opts.weight_classes]
    rows = np.arange(len(hosts))

    ranked = weigh_columns(HostColumns.from_hosts(hosts), rows, spec, weighers, opts, count=len(hosts))

    assert ranked == weigh_hosts(hosts, spec, weighers, opts)


@settings(max_examples=150, deadline=None)
@given(hosts=clusters().filter(bool), spec=specs(), opts=options(), data=st.data())
def test_a_consumed_row_gives_the_same_next_pass_as_consumed_hosts(hosts, spec, opts, data) -> None:
    # A multi-instance request: the chosen row counts the instance, then the next pass runs.
    cols = HostColumns.from_hosts(hosts)
    row = data.draw(st.integers(0, len(hosts) - 1))
    request = Resources.of(spec.flavor)

    cols.consume(row, request, "claim-new")
    hosts = [consume(h, request, "claim-new") if i == row else h for i, h in enumerate(hosts)]

    assert outcome(lambda: select_host(cols, spec, opts, random.Random(1))) == outcome(
        lambda: select_host(hosts, spec, opts, random.Random(1))
    )


@settings(max_examples=100, deadline=None)
@given(hosts=clusters(), spec=specs(), data=st.data())
def test_later_instances_skip_once_per_request_filters_and_start_from_the_survivors(hosts, spec, data) -> None:
    opts = SchedulerOptions(enabled_filters=("ComputeFilter", "RamFilter", "AllHostsFilter", "CoreFilter"))
    cols = HostColumns.from_hosts(hosts)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(hosts) - 1, 0)), max_size=len(hosts)))), dtype=np.intp)

    survivors, counts = filter_hosts([hosts[row] for row in rows], spec, opts, index=1)
    column_rows, column_counts = filter_columns(cols, spec, opts, index=1, rows=rows)

    assert column_counts == counts
    assert [cols.hosts[row] for row in column_rows] == survivors


# --- plug-ins without a columnar form, and aggregate-set filters, inside the columnar pass ---


class EvenInstancesFilter(BaseHostFilter):
    """Scalar only: passes hosts running an even number of instances, and records which hosts it was asked about."""

    NAME = "EvenInstancesFilter"
    REASON = "odd number of instances"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def host_passes(self, host, spec, options) -> bool:
        self.asked.append(host.host)
        return host.num_instances % 2 == 0


class InstancesWeigher(BaseHostWeigher):
    """Scalar only: prefers hosts running more instances."""

    NAME = "InstancesWeigher"
    MULTIPLIER_OPTION = "num_instances_weight_multiplier"

    def weigh_object(self, host, spec) -> float:
        return host.num_instances


class ZoneSpy(AggregateSetFilter, BaseHostFilter):
    """Passes hosts in an aggregate named "az1"; records every aggregate set it was asked about."""

    NAME = "ZoneSpy"
    REASON = "not in az1"

    def __init__(self) -> None:
        self.asked: list[tuple] = []

    def passes_aggregates(self, aggregates, spec, options) -> bool:
        self.asked.append(tuple(aggregates))
        return any(a.name == "az1" for a in aggregates)


AZ1 = Aggregate("agg-1", "az1")
AZ2 = Aggregate("agg-2", "az2")


def host(name: str, instances: int = 0, aggregates: tuple = (), **fields) -> SchedHost:
    return replace(build_sched_host(host=name, **fields), num_instances=instances, aggregates=aggregates)


def test_a_filter_without_a_columnar_form_runs_on_the_survivors_only() -> None:
    # RamFilter (vectorized) drops "small" first; the scalar filter is asked about the rest only.
    hosts = [host("a", 2), host("small", 2, memory_mb=512), host("b", 1), host("c", 4)]
    spy, spec = EvenInstancesFilter(), build_spec(build_flavor(ram=1024))

    rows, counts = run_filters(HostColumns.from_hosts(hosts), [RamFilter(), spy], spec, SchedulerOptions())

    assert spy.asked == ["a", "b", "c"]
    assert rows.tolist() == [0, 3]
    assert counts == [FilterCount("RamFilter", 3), FilterCount("EvenInstancesFilter", 2)]


def test_a_weigher_without_a_columnar_form_is_weighed_host_by_host_with_the_same_result() -> None:
    hosts = [host("a", 2), host("b", 5), host("c", 5), host("d", 1)]
    cols = HostColumns.from_hosts(hosts)
    weighers, opts = [RAMWeigher(), InstancesWeigher()], SchedulerOptions(num_instances_weight_multiplier=1.0)

    ranked = weigh_columns(cols, np.arange(4), build_spec(), weighers, opts, count=4)

    # RAM: all 8192 over [0, 8192] = 1.0; instances over [1, 5]: b 1.0, c 1.0, a 0.25, d 0.0
    # b and c tie at 2.0 and keep input order
    assert [(w.host, w.weight) for w in ranked] == [("b", 2.0), ("c", 2.0), ("a", 1.25), ("d", 1.0)]
    assert ranked == weigh_hosts(hosts, build_spec(), weighers, opts)


def test_a_registered_filter_without_a_columnar_form_runs_in_the_columnar_pass() -> None:
    hosts = [host("a", 1), host("down", 1, disabled=True), host("b", 3)]
    opts = SchedulerOptions(enabled_filters=("AllHostsFilter", "ComputeFilter"))

    selection = select_host(HostColumns.from_hosts(hosts), build_spec(), opts, random.Random(0))

    assert selection == select_host(hosts, build_spec(), opts, random.Random(0))
    assert selection.trace.filters == [FilterCount("AllHostsFilter", 3), FilterCount("ComputeFilter", 2)]


def test_an_aggregate_set_filter_is_asked_once_per_distinct_set() -> None:
    # Four hosts, two sets: (AZ1,) held by a, b and (a copy) c; (AZ2,) by d.
    hosts = [host("a", aggregates=(AZ1,)), host("b", aggregates=(AZ1,)), host("c", aggregates=(Aggregate("agg-1", "az1"),)),
             host("d", aggregates=(AZ2,))]  # fmt: skip
    spy = ZoneSpy()

    rows, _ = run_filters(HostColumns.from_hosts(hosts), [spy], build_spec(), SchedulerOptions())

    assert spy.asked == [(AZ1,), (AZ2,)]
    assert rows.tolist() == [0, 1, 2]
    # the scalar form is the same method, host by host
    assert [h.host for h in ZoneSpy().filter_all(hosts, build_spec(), SchedulerOptions())] == ["a", "b", "c"]


def test_a_set_that_no_survivor_holds_is_never_asked_about() -> None:
    # d, the only host in AZ2, is down: ComputeFilter drops it before the spy runs.
    hosts = [host("a", aggregates=(AZ1,)), host("b", aggregates=(AZ1,)), host("d", aggregates=(AZ2,), disabled=True)]
    spy = ZoneSpy()

    run_filters(HostColumns.from_hosts(hosts), [ComputeFilter(), spy], build_spec(), SchedulerOptions())

    assert spy.asked == [(AZ1,)]


def test_an_aggregate_multiplier_applies_to_the_hosts_of_that_set() -> None:
    # CPU room 4 x 4.0 - used: a 16, b 8, c 4; over [0, 16]: 1.0, 0.5, 0.25
    # SSD sets cpu_weight_multiplier 2.0 for a and c: parts 2.0, 0.5, 0.5 (b, c tie: input order)
    ssd = Aggregate("agg-ssd", "ssd", {"cpu_weight_multiplier": "2.0"})
    hosts = [
        host("a", aggregates=(ssd,)),
        host("b", claims=[build_claim("b1", vcpus=8)]),
        host("c", aggregates=(ssd,), claims=[build_claim("c1", vcpus=12)]),
    ]
    opts = SchedulerOptions(weight_classes=("CPUWeigher",))

    ranked = weigh_columns(HostColumns.from_hosts(hosts), np.arange(3), build_spec(), [CPUWeigher()], opts, count=3)

    assert [(w.host, w.parts["CPUWeigher"]) for w in ranked] == [("a", 2.0), ("b", 0.5), ("c", 0.5)]
    assert ranked == weigh_hosts(hosts, build_spec(), [CPUWeigher()], opts)


# --- the ranking and the normalization ---


@pytest.mark.parametrize(
    ("weights", "count", "positions"),
    [
        pytest.param([0.5, 0.9, 0.1, 0.7], 2, [1, 3], id="two-best"),
        # the ties at the cut (0.5 at 0, 2, 3) complete the count in input order
        pytest.param([0.5, 0.9, 0.5, 0.5], 3, [1, 0, 2], id="ties-at-the-cut-in-input-order"),
        pytest.param([0.0, 0.0, 0.0, 0.0], 2, [0, 1], id="all-equal"),
        pytest.param([0.3, 0.1], 5, [0, 1], id="count-above-n"),
        pytest.param([-1.0, -0.0, 0.0, -1.0], 3, [1, 2, 0], id="signed-zeros-tie"),
        # -inf is the argmax path's marker: weights that hold it take the partition path
        pytest.param([-np.inf, 0.0, -np.inf, 1.0], 3, [3, 1, 0], id="minus-infinity"),
    ],
)
def test_best_first(weights, count, positions) -> None:
    assert best_first(np.array(weights), count).tolist() == positions


@given(
    weights=st.lists(st.integers(-3, 3).map(float) | st.sampled_from([-np.inf, np.inf]), max_size=40),
    count=st.integers(1, 45),
)
def test_best_first_is_the_prefix_of_a_stable_descending_sort(weights, count) -> None:
    ranked = sorted(range(len(weights)), key=lambda i: weights[i], reverse=True)

    assert best_first(np.array(weights), count).tolist() == ranked[:count]


@given(keys=st.lists(st.integers(-3, 3), max_size=40), count=st.integers(0, 45))
def test_best_whole_is_the_prefix_of_a_stable_descending_sort(keys, count) -> None:
    # Few distinct keys: the top key is often shared by more rows than the count (its shortcut), sometimes not.
    ranked = sorted(range(len(keys)), key=lambda i: keys[i], reverse=True)

    assert _best_whole(np.array(keys, dtype=np.int64), count).tolist() == ranked[:count]


@settings(max_examples=150, deadline=None)
@given(
    hosts=clusters(),
    spec=specs(),
    opts=options(),
    lead=st.sampled_from(["RAMWeigher", "CPUWeigher", "IoOpsWeigher", "NumInstancesWeigher"]),
    count=st.integers(1, 6),
)
def test_one_weigher_of_whole_numbers_ranks_the_best_few_as_the_scalar_weighers(hosts, spec, opts, lead, count) -> None:
    # One weigher that weighs (whole or not), the soft group ones beside it, and only the head of the
    # ranking asked for, as a scheduler asks: the shortcut that ranks by raw value, and its refusals.
    opts = replace(opts, weight_classes=(lead, "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"))
    weighers = [WEIGHERS[name]() for name in opts.weight_classes]
    cols = HostColumns.from_hosts(hosts)

    ranked = outcome(lambda: weigh_columns(cols, np.arange(len(hosts)), spec, weighers, opts, count=count))

    scalar = outcome(lambda: weigh_hosts(hosts, spec, weighers, opts))
    assert ranked == (scalar if isinstance(scalar, type) else scalar[:count])


@given(
    values=st.lists(st.integers(-5000, 5000).map(float) | st.floats(-1e6, 1e6), max_size=20),
    minval=st.none() | st.just(0) | st.floats(-10, 10),
    maxval=st.none() | st.floats(-10, 10_000),
)
def test_normalize_array_gives_the_same_floats_as_normalize(values, minval, maxval) -> None:
    array = np.array(values, dtype=np.float64)
    expected = normalize(values, minval, maxval)

    assert normalize_array(array, minval, maxval).tolist() == expected
    assert array.tolist() == values  # untouched without out=
    assert normalize_array(array, minval, maxval, out=array).tolist() == expected


# --- the default pass: no host-by-host plug-in ---


def test_every_default_plugin_has_a_columnar_form_or_is_skipped_when_the_request_alone_decides() -> None:
    # The scheduler service runs SchedulerOptions() unless an options file says otherwise. A plug-in
    # without a columnar form costs one Python call per host per pass (81 placements/s at 10,000 hosts
    # when the soft group weighers had none), so none may run host by host for a plain request.
    # A filter may instead pass everything when the request alone decides (passes_all). A weigher may
    # not: even when it weighs nothing its part is multiplier x 0 on every survivor, and only a
    # VectorizedWeigher's multiplier is asked once per aggregate set rather than once per host.
    defaults, plain = SchedulerOptions(), build_spec()

    host_by_host = [
        *(name for name in defaults.enabled_filters
          if not issubclass(FILTERS[name], (VectorizedFilter, AggregateSetFilter)) and not FILTERS[name]().passes_all(plain, defaults)),
        *(name for name in defaults.weight_classes if not issubclass(WEIGHERS[name], VectorizedWeigher)),
    ]  # fmt: skip

    assert host_by_host == []
