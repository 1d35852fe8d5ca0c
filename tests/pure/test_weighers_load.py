"""IoOpsWeigher, NumInstancesWeigher, BuildFailureWeigher, HypervisorVersionWeigher: raw values and ranking."""

from __future__ import annotations

import pytest

from builders import build_aggregated_host, build_claim, build_sched_host, build_spec
from novalog.events.records import WeighedHost
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.weights import WEIGHERS, RAMWeigher, weigh_hosts
from novalog.scheduler.weights.build_failure import BuildFailureWeigher
from novalog.scheduler.weights.hypervisor_version import HypervisorVersionWeigher
from novalog.scheduler.weights.io_ops import IoOpsWeigher
from novalog.scheduler.weights.num_instances import NumInstancesWeigher

SPEC = build_spec()


def pending(host: str, count: int) -> list:
    """`count` claims this scheduler proposed on `host` and the table does not show yet."""
    return [build_claim(f"{host}-p{i}") for i in range(count)]


@pytest.mark.parametrize(
    ("weigher", "host", "raw"),
    [
        # 3 proposed, not yet accepted: 3 I/O ops; accepted claims are not I/O ops
        pytest.param(
            IoOpsWeigher(), dict(in_flight=pending("h", 3), claims=[build_claim("done")]), 3, id="io-ops-pending-claims"
        ),
        # 2 accepted + 1 in flight
        pytest.param(
            NumInstancesWeigher(), dict(in_flight=pending("h", 1), claims=[build_claim("a"), build_claim("b")]), 3, id="num-instances"
        ),
        pytest.param(BuildFailureWeigher(), dict(failed_builds=4), 4, id="failed-builds"),
        # 8.2.0 -> 8 x 1,000,000 + 2 x 1,000
        pytest.param(HypervisorVersionWeigher(), dict(), 8_002_000, id="hypervisor-version"),
        pytest.param(HypervisorVersionWeigher(), dict(hypervisor_version=0), 0, id="hypervisor-version-unknown"),
    ],
)
def test_raw_values(weigher, host, raw) -> None:
    assert weigher.weigh_object(build_sched_host(**host), SPEC) == raw


def io_hosts() -> list:
    # I/O ops: a 0, b 2, c 4
    return [build_sched_host(host=h, in_flight=pending(h, n)) for h, n in [("a", 0), ("b", 2), ("c", 4)]]


@pytest.mark.parametrize(
    ("multiplier", "order", "weights"),
    [
        # over [0, 4]: a 0, b 0.5, c 1.0; x -1.0 (default): idle first
        pytest.param(-1.0, ["a", "b", "c"], [0.0, -0.5, -1.0], id="default-prefers-idle"),
        # x 2.0: busiest first
        pytest.param(2.0, ["c", "b", "a"], [2.0, 1.0, 0.0], id="positive-stacks-builds"),
    ],
)
def test_io_ops_weigher(multiplier, order, weights) -> None:
    weighed = weigh_hosts(io_hosts(), SPEC, [IoOpsWeigher()], SchedulerOptions(io_ops_weight_multiplier=multiplier))

    assert [(w.host, w.weight) for w in weighed] == list(zip(order, weights))


def counted_hosts() -> list:
    # instances: a 3, b 1, c 2
    return [
        build_sched_host(host=h, claims=[build_claim(f"{h}{i}") for i in range(n)]) for h, n in [("a", 3), ("b", 1), ("c", 2)]
    ]


@pytest.mark.parametrize(
    ("multiplier", "order", "weights"),
    [
        # default 0.0: every part 0, input order kept
        pytest.param(0.0, ["a", "b", "c"], [0.0, 0.0, 0.0], id="default-off"),
        # no minval, so over [1, 3]: a 1.0, b 0.0, c 0.5 (with minval 0 it would be 1.0, 1/3, 2/3)
        pytest.param(1.0, ["a", "c", "b"], [1.0, 0.5, 0.0], id="positive-packs"),
        pytest.param(-1.0, ["b", "c", "a"], [0.0, -0.5, -1.0], id="negative-spreads"),
    ],
)
def test_num_instances_weigher(multiplier, order, weights) -> None:
    options = SchedulerOptions(num_instances_weight_multiplier=multiplier)

    weighed = weigh_hosts(counted_hosts(), SPEC, [NumInstancesWeigher()], options)

    assert [(w.host, w.weight) for w in weighed] == list(zip(order, weights))


@pytest.mark.parametrize(
    ("multiplier", "order", "weights"),
    [
        # failures a 0, b 2, c 1 over [0, 2]: 0, 1.0, 0.5; x -(1e6) (Nova negates the option)
        pytest.param(1_000_000.0, ["a", "c", "b"], [0.0, -500_000.0, -1_000_000.0], id="default-pushes-failing-down"),
        pytest.param(0.0, ["a", "b", "c"], [0.0, 0.0, 0.0], id="zero-turns-it-off"),
        # a negative option, negated, favours failing hosts
        pytest.param(-1.0, ["b", "c", "a"], [1.0, 0.5, 0.0], id="negative-option-inverts"),
    ],
)
def test_build_failure_weigher(multiplier, order, weights) -> None:
    hosts = [build_sched_host(host=h, failed_builds=n) for h, n in [("a", 0), ("b", 2), ("c", 1)]]
    options = SchedulerOptions(build_failure_weight_multiplier=multiplier)

    weighed = weigh_hosts(hosts, SPEC, [BuildFailureWeigher()], options)

    assert [(w.host, w.weight) for w in weighed] == list(zip(order, weights))


def test_one_build_failure_outweighs_any_free_ram() -> None:
    # RAM: a 8192 - 7168 = 1024 -> 0.125, b 8192 -> 1.0 (x 1.0)
    # failures: a 0 -> 0, b 1 -> 1.0 (x -1e6)
    hosts = [
        build_sched_host(host="a", claims=[build_claim(memory_mb=7168)]),
        build_sched_host(host="b", failed_builds=1),
    ]

    weighed = weigh_hosts(hosts, SPEC, [RAMWeigher(), BuildFailureWeigher()], SchedulerOptions())

    assert weighed == [
        WeighedHost("a", 0.125, {"RAMWeigher": 0.125, "BuildFailureWeigher": 0.0}),
        WeighedHost("b", 1.0 - 1_000_000.0, {"RAMWeigher": 1.0, "BuildFailureWeigher": -1_000_000.0}),
    ]


def test_build_failure_aggregate_override_is_negated_too() -> None:
    # the aggregate says 2.0; Nova negates whatever the multiplier is
    host = build_aggregated_host({"build_failure_weight_multiplier": "2.0"})

    assert BuildFailureWeigher().weight_multiplier(SchedulerOptions(), host) == -2.0


@pytest.mark.parametrize(
    ("multiplier", "order", "weights"),
    [
        # versions a 8,002,000, b 6,000,000, c 0 (unknown) over [0, 8,002,000]: 1.0, 6/8.002, 0
        pytest.param(1.0, ["a", "b", "c"], [1.0, 6_000_000 / 8_002_000, 0.0], id="default-prefers-newer"),
        pytest.param(-1.0, ["c", "b", "a"], [0.0, -6_000_000 / 8_002_000, -1.0], id="negative-prefers-older"),
    ],
)
def test_hypervisor_version_weigher(multiplier, order, weights) -> None:
    hosts = [build_sched_host(host=h, hypervisor_version=v) for h, v in [("a", 8_002_000), ("b", 6_000_000), ("c", 0)]]
    options = SchedulerOptions(hypervisor_version_weight_multiplier=multiplier)

    weighed = weigh_hosts(hosts, SPEC, [HypervisorVersionWeigher()], options)

    assert [(w.host, w.weight) for w in weighed] == list(zip(order, weights))


@pytest.mark.parametrize(
    ("name", "minval"),
    [
        pytest.param("RAMWeigher", 0, id="RAMWeigher"),
        pytest.param("CPUWeigher", 0, id="CPUWeigher"),
        pytest.param("DiskWeigher", 0, id="DiskWeigher"),
        pytest.param("IoOpsWeigher", 0, id="IoOpsWeigher"),
        pytest.param("NumInstancesWeigher", None, id="NumInstancesWeigher"),
        pytest.param("BuildFailureWeigher", None, id="BuildFailureWeigher"),
        pytest.param("HypervisorVersionWeigher", None, id="HypervisorVersionWeigher"),
        pytest.param("ServerGroupSoftAffinityWeigher", None, id="ServerGroupSoftAffinityWeigher"),
        pytest.param("ServerGroupSoftAntiAffinityWeigher", None, id="ServerGroupSoftAntiAffinityWeigher"),
    ],
)
def test_registered_with_novas_minval(name, minval) -> None:
    assert (WEIGHERS[name].minval, WEIGHERS[name].maxval) == (minval, None)
