"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher."""

from __future__ import annotations

import pytest

from builders import build_host_running, build_instance_group, build_spec
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.weights import weigh_hosts
from novalog.scheduler.weights.soft_affinity import ServerGroupSoftAffinityWeigher
from novalog.scheduler.weights.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher

MEMBERS = ["m1", "m2", "m3"]


def hosts() -> list:
    # input order c, b, a; group members on them: c 0, b 1, a 2 (x is not a member)
    return [build_host_running("x", host="c"), build_host_running("m3", "x", host="b"), build_host_running("m1", "m2", host="a")]


@pytest.mark.parametrize(
    ("group", "affinity_raw", "anti_raw"),
    [
        pytest.param(None, [0, 0, 0], [0, 0, 0], id="no-group"),
        pytest.param(build_instance_group("soft-affinity", []), [0, 0, 0], [0, 0, 0], id="empty-group"),
        pytest.param(build_instance_group("soft-affinity", MEMBERS), [0, 1, 2], [0, 0, 0], id="soft-affinity"),
        pytest.param(build_instance_group("soft-anti-affinity", MEMBERS), [0, 0, 0], [0, -1, -2], id="soft-anti-affinity"),
        # hard policies belong to the filters
        pytest.param(build_instance_group("affinity", MEMBERS), [0, 0, 0], [0, 0, 0], id="hard-affinity-ignored"),
        pytest.param(build_instance_group("anti-affinity", MEMBERS), [0, 0, 0], [0, 0, 0], id="hard-anti-affinity-ignored"),
    ],
)
def test_raw_value_is_members_on_host_under_own_policy(group, affinity_raw, anti_raw) -> None:
    spec = build_spec(instance_group=group)

    assert [ServerGroupSoftAffinityWeigher().weigh_object(h, spec) for h in hosts()] == affinity_raw
    assert [ServerGroupSoftAntiAffinityWeigher().weigh_object(h, spec) for h in hosts()] == anti_raw


@pytest.mark.parametrize(
    ("policy", "order", "weights"),
    [
        # affinity raw c 0, b 1, a 2 over [0, 2]: 0, 0.5, 1.0; most members first
        pytest.param("soft-affinity", ["a", "b", "c"], [1.0, 0.5, 0.0], id="soft-affinity-packs"),
        # anti raw c 0, b -1, a -2 over [-2, 0]: 1.0, 0.5, 0; fewest members first
        pytest.param("soft-anti-affinity", ["c", "b", "a"], [1.0, 0.5, 0.0], id="soft-anti-affinity-spreads"),
        # both weighers, no soft group for either: all 0, input order kept
        pytest.param("anti-affinity", ["c", "b", "a"], [0.0, 0.0, 0.0], id="other-policy-keeps-input-order"),
    ],
)
def test_soft_weighers_rank(policy, order, weights) -> None:
    spec = build_spec(instance_group=build_instance_group(policy, MEMBERS))
    weighers = [ServerGroupSoftAffinityWeigher(), ServerGroupSoftAntiAffinityWeigher()]

    weighed = weigh_hosts(hosts(), spec, weighers, SchedulerOptions())

    assert [(w.host, w.weight) for w in weighed] == list(zip(order, weights))


def test_soft_affinity_without_group_keeps_input_order() -> None:
    # raw 0 everywhere -> normalized 0 -> weight 0; the stable sort keeps c, b, a as given
    # (a soft-affinity group over the same hosts would give a, b, c)
    weighed = weigh_hosts(hosts(), build_spec(), [ServerGroupSoftAffinityWeigher()], SchedulerOptions())

    assert [(w.host, w.weight) for w in weighed] == [("c", 0.0), ("b", 0.0), ("a", 0.0)]


@pytest.mark.parametrize(
    ("multiplier_option", "value", "top"),
    [
        # soft_affinity_weight_multiplier -1.0 turns packing into spreading
        pytest.param("soft_affinity_weight_multiplier", -1.0, "c", id="affinity-negative-spreads"),
        pytest.param("soft_affinity_weight_multiplier", 2.0, "a", id="affinity-scaled"),
    ],
)
def test_soft_affinity_multiplier(multiplier_option, value, top) -> None:
    spec = build_spec(instance_group=build_instance_group("soft-affinity", MEMBERS))

    weighed = weigh_hosts(hosts(), spec, [ServerGroupSoftAffinityWeigher()], SchedulerOptions(**{multiplier_option: value}))

    assert weighed[0].host == top
