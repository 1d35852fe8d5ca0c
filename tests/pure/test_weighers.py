"""Weighers: normalization, multipliers (spread vs stack), and each weigher's raw value."""

from __future__ import annotations

import pytest

from builders import build_claim, build_sched_host, build_spec
from novalog.events.records import WeighedHost
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.weights import WEIGHERS, BaseHostWeigher, CPUWeigher, DiskWeigher, RAMWeigher, normalize, weigh_hosts

SPEC = build_spec()


@pytest.mark.parametrize(
    ("values", "minval", "maxval", "expected"),
    [
        # lo 1000, hi 3000: (2000 - 1000) / 2000 = 0.5
        pytest.param([1000, 2000, 3000], None, None, [0.0, 0.5, 1.0], id="list-min-max"),
        # minval 0 widens lo: 1000 / 2000, 2000 / 2000
        pytest.param([1000, 2000], 0, None, [0.5, 1.0], id="minval-0-widens-range"),
        # a value below minval widens it further (Nova never clamps): lo -512, hi 1536
        pytest.param([-512, 1536], 0, None, [0.0, 1.0], id="negative-below-minval"),
        # maxval 4000 widens hi: 1000 / 4000, 2000 / 4000
        pytest.param([1000, 2000], 0, 4000, [0.25, 0.5], id="maxval-widens-range"),
        pytest.param([700, 700, 700], None, None, [0.0, 0.0, 0.0], id="all-equal-gives-0"),
        pytest.param([0, 0], 0, None, [0.0, 0.0], id="all-equal-to-minval-gives-0"),
        pytest.param([], 0, None, [], id="empty"),
    ],
)
def test_normalize(values, minval, maxval, expected) -> None:
    assert normalize(values, minval, maxval) == expected


def ram_hosts() -> list:
    # free RAM: a 8192 - 6144 = 2048, b 8192 - 0 = 8192, c 8192 - 4096 = 4096
    return [
        build_sched_host(host="a", claims=[build_claim("a1", memory_mb=6144)]),
        build_sched_host(host="b"),
        build_sched_host(host="c", claims=[build_claim("c1", memory_mb=4096)]),
    ]


@pytest.mark.parametrize(
    ("multiplier", "order", "weights"),
    [
        # normalized over [0, 8192]: a 0.25, b 1.0, c 0.5; most free RAM first
        pytest.param(1.0, ["b", "c", "a"], [1.0, 0.5, 0.25], id="positive-spreads"),
        # x -1.0: least free RAM first
        pytest.param(-1.0, ["a", "c", "b"], [-0.25, -0.5, -1.0], id="negative-stacks"),
        # x 2.0 scales, same order
        pytest.param(2.0, ["b", "c", "a"], [2.0, 1.0, 0.5], id="larger-multiplier-scales"),
        # x 0: all 0, stable sort keeps input order
        pytest.param(0.0, ["a", "b", "c"], [0.0, 0.0, 0.0], id="zero-keeps-input-order"),
    ],
)
def test_ram_weigher_multiplier_sign(multiplier, order, weights) -> None:
    options = SchedulerOptions(ram_weight_multiplier=multiplier)

    weighed = weigh_hosts(ram_hosts(), SPEC, [RAMWeigher()], options)

    assert [w.host for w in weighed] == order
    assert [w.weight for w in weighed] == weights


def test_each_weighers_part_is_multiplier_times_normalized_value() -> None:
    # free RAM a 2048, b 8192 over [0, 8192]: 0.25, 1.0 (x 1.0)
    # free disk a (80 - 70) x 1024 = 10240, b 81920 over [0, 81920]: 0.125, 1.0 (x -2.0)
    hosts = [
        build_sched_host(host="a", claims=[build_claim("a1", memory_mb=6144, disk_gb=70)]),
        build_sched_host(host="b"),
    ]
    options = SchedulerOptions(weight_classes=("RAMWeigher", "DiskWeigher"), disk_weight_multiplier=-2.0)

    weighed = weigh_hosts(hosts, SPEC, [RAMWeigher(), DiskWeigher()], options)

    assert weighed == [
        WeighedHost(host="a", weight=0.25 - 0.25, parts={"RAMWeigher": 0.25, "DiskWeigher": -0.25}),
        WeighedHost(host="b", weight=1.0 - 2.0, parts={"RAMWeigher": 1.0, "DiskWeigher": -2.0}),
    ]


@pytest.mark.parametrize("count", [0, 1], ids=["no-host", "one-host"])
def test_fewer_than_two_hosts_are_not_weighed(count) -> None:
    hosts = [build_sched_host(host="only")][:count]

    weighed = weigh_hosts(hosts, SPEC, [RAMWeigher()], SchedulerOptions())

    assert weighed == [WeighedHost(host="only", weight=0.0, parts={})][:count]


@pytest.mark.parametrize(
    ("weigher", "host", "raw"),
    [
        # 8192 - 512 reserved - 1024 claimed
        pytest.param(RAMWeigher(), dict(reserved_memory_mb=512, claims=[build_claim(memory_mb=1024)]), 6656, id="ram-free-mb"),
        # 4 x 4.0 - 1 reserved - 3 claimed
        pytest.param(CPUWeigher(), dict(reserved_vcpus=1, claims=[build_claim(vcpus=3)]), 12, id="cpu-room-with-ratio"),
        # 4 x 1.5 - 0 - 3
        pytest.param(CPUWeigher(), dict(cpu_allocation_ratio=1.5, claims=[build_claim(vcpus=3)]), 3, id="cpu-host-ratio"),
        # (80 - 5 reserved - 10 claimed) x 1024
        pytest.param(DiskWeigher(), dict(reserved_disk_gb=5, claims=[build_claim(disk_gb=10)]), 66560, id="disk-free-mb"),
    ],
)
def test_raw_values(weigher, host, raw) -> None:
    assert weigher.weigh_object(build_sched_host(**host), SPEC) == raw


@pytest.mark.parametrize(("name", "cls"), list(WEIGHERS.items()), ids=list(WEIGHERS))
def test_every_registered_weigher_keeps_its_name_and_option(name, cls) -> None:
    assert issubclass(cls, BaseHostWeigher)
    assert (cls.NAME, cls.__name__) == (name, name)
    assert cls.MULTIPLIER_OPTION in SchedulerOptions.__dataclass_fields__
    # Nova sets minval 0 on some weighers only; each one's value: test_weighers_load.py
    assert cls.minval in (0, None)
