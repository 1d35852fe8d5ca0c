"""Per-aggregate weigher multipliers (Stein+), fewer than two hosts, and the seed's least-cost ranking as a RAMWeigher."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import build_aggregated_host, build_claim, build_sched_host, build_spec
from novalog.events.records import WeighedHost
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.weights import WEIGHERS, RAMWeigher, weigh_hosts
from novalog.scheduler.weights.base import aggregate_multiplier

SPEC = build_spec()
OPTION = "ram_weight_multiplier"


@pytest.mark.parametrize(
    ("aggregates", "expected"),
    [
        pytest.param([], 1.5, id="no-aggregate-option"),
        pytest.param([{"cpu_weight_multiplier": "9"}], 1.5, id="other-key-option"),
        pytest.param([{OPTION: "2.5"}], 2.5, id="one-aggregate"),
        # numeric minimum: 2.0 < 10.0 (the raw strings would give "10.0")
        pytest.param([{OPTION: "10.0"}, {OPTION: "2.0"}], 2.0, id="lowest-numeric-value"),
        pytest.param([{OPTION: "0.5"}, {OPTION: "-1"}], -1.0, id="lowest-may-be-negative"),
        # an override may be higher than the option too: it replaces, it does not cap
        pytest.param([{OPTION: "3"}], 3.0, id="override-above-option"),
        pytest.param([{OPTION: "0"}], 0.0, id="zero-turns-weigher-off-here"),
        pytest.param([{OPTION: " 4 "}], 4.0, id="blanks-tolerated"),
        pytest.param([{OPTION: "heavy"}], 1.5, id="unparsable-option"),
        # one unparsable value voids them all, even beside a good one (Nova)
        pytest.param([{OPTION: "heavy"}, {OPTION: "0.5"}], 1.5, id="one-unparsable-voids-all"),
        pytest.param([{OPTION: ""}], 1.5, id="empty-option"),
        # a comma list is not split for multipliers: "1,2" does not parse
        pytest.param([{OPTION: "1,2"}], 1.5, id="comma-list-unparsable"),
        pytest.param([{OPTION: "nan"}], 1.5, id="nan-option"),
        pytest.param([{OPTION: "-inf"}, {OPTION: "2"}], 1.5, id="infinite-option"),
    ],
)
def test_aggregate_multiplier(aggregates, expected) -> None:
    host = build_aggregated_host(*aggregates)

    assert aggregate_multiplier(host, OPTION, 1.5) == expected
    assert RAMWeigher().weight_multiplier(SchedulerOptions(ram_weight_multiplier=1.5), host) == expected


@pytest.mark.parametrize(("name", "cls"), list(WEIGHERS.items()), ids=list(WEIGHERS))
def test_every_weigher_reads_the_override_under_its_own_option(name, cls) -> None:
    # 0.25 under its own option name; BuildFailureWeigher applies every multiplier negated
    sign = -1.0 if name == "BuildFailureWeigher" else 1.0
    own = build_aggregated_host({cls.MULTIPLIER_OPTION: "0.25"})
    foreign = build_aggregated_host({"some_other_weight_multiplier": "0.25"})
    options = SchedulerOptions(**{cls.MULTIPLIER_OPTION: 7.0})

    assert cls().weight_multiplier(options, own) == sign * 0.25
    assert cls().weight_multiplier(options, foreign) == sign * 7.0


def test_multiplier_applies_per_host_after_normalization() -> None:
    # free RAM over [0, 8192]: a 2048 -> 0.25, b 8192 -> 1.0, c 4096 -> 0.5
    # multipliers: a option 1.0, b aggregate -1.0 (stack there), c aggregates {2.0, 3.0} -> 2.0
    hosts = [
        build_aggregated_host(host="a", claims=[build_claim("a1", memory_mb=6144)]),
        build_aggregated_host({OPTION: "-1.0"}, host="b"),
        build_aggregated_host({OPTION: "3.0"}, {OPTION: "2.0"}, host="c", claims=[build_claim("c1", memory_mb=4096)]),
    ]

    weighed = weigh_hosts(hosts, SPEC, [RAMWeigher()], SchedulerOptions())

    # c 2.0 x 0.5 = 1.0, a 1.0 x 0.25, b -1.0 x 1.0; without overrides b would lead
    assert weighed == [
        WeighedHost("c", 1.0, {"RAMWeigher": 1.0}),
        WeighedHost("a", 0.25, {"RAMWeigher": 0.25}),
        WeighedHost("b", -1.0, {"RAMWeigher": -1.0}),
    ]


@pytest.mark.parametrize("count", [0, 1], ids=["no-host", "one-host"])
def test_fewer_than_two_hosts_are_not_weighed_by_any_weigher(count) -> None:
    # a lone host with every raw value set and an override: still weight 0, no parts
    host = build_aggregated_host({"build_failure_weight_multiplier": "5"}, host="only", failed_builds=3)
    weighers = [cls() for cls in WEIGHERS.values()]

    weighed = weigh_hosts([host][:count], SPEC, weighers, SchedulerOptions())

    assert weighed == [WeighedHost(host="only", weight=0.0, parts={})][:count]


# --- the seed's least-cost weighting, expressed with RAMWeigher ---


def least_cost_ranking(hosts: list) -> list[str]:
    """Grizzly's least_cost default: weight -1.0 x compute_fill_first_cost_fn (-free_ram_mb), unnormalized.

    Higher wins, stable sort, so ties keep input order.
    """
    scored = [(-1.0 * -host.free_ram_mb, host.host) for host in hosts]
    return [name for _, name in sorted(scored, key=lambda pair: pair[0], reverse=True)]


def ram_weigher_ranking(hosts: list) -> list[str]:
    return [w.host for w in weigh_hosts(hosts, SPEC, [RAMWeigher()], SchedulerOptions(ram_weight_multiplier=1.0))]


def hosts_with_free_ram(*free_ram_mb: int) -> list:
    base = build_sched_host()
    return [replace(base, host=f"h{i}", free_ram_mb=mb) for i, mb in enumerate(free_ram_mb)]


@pytest.mark.parametrize(
    ("free_ram_mb", "ranking"),
    [
        # least cost: -2048, -8192, -4096 -> h1 (8192) first: spread
        pytest.param((2048, 8192, 4096), ["h1", "h2", "h0"], id="spread"),
        # overcommitted host (-512) last; normalization widens lo to -512, order unchanged
        pytest.param((-512, 1024, 0), ["h1", "h2", "h0"], id="negative-free-ram"),
        # ties keep input order in both
        pytest.param((4096, 8192, 4096, 8192), ["h1", "h3", "h0", "h2"], id="ties"),
        pytest.param((0, 0), ["h0", "h1"], id="all-zero"),
        pytest.param((512,), ["h0"], id="one-host"),
        pytest.param((), [], id="no-host"),
    ],
)
def test_ram_weigher_ranks_as_least_cost_did(free_ram_mb, ranking) -> None:
    hosts = hosts_with_free_ram(*free_ram_mb)

    assert least_cost_ranking(hosts) == ranking
    assert ram_weigher_ranking(hosts) == ranking


@given(st.lists(st.integers(min_value=-(2**20), max_value=2**20), max_size=8))
def test_ram_weigher_ranks_as_least_cost_for_any_free_ram(free_ram_mb) -> None:
    hosts = hosts_with_free_ram(*free_ram_mb)

    assert ram_weigher_ranking(hosts) == least_cost_ranking(hosts)
