"""Where an instance may go given the instances already placed.

TypeAffinityFilter, SameHostFilter, DifferentHostFilter, ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter.
"""

from __future__ import annotations

import pytest

from builders import build_claim, build_flavor, build_host_running, build_instance_group, build_sched_host, build_spec
from novalog.scheduler.filters.different_host_filter import DifferentHostFilter
from novalog.scheduler.filters.same_host_filter import SameHostFilter
from novalog.scheduler.filters.server_group_affinity_filter import ServerGroupAffinityFilter
from novalog.scheduler.filters.server_group_anti_affinity_filter import ServerGroupAntiAffinityFilter
from novalog.scheduler.filters.type_affinity_filter import TypeAffinityFilter
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()
RULE_2 = {"max_server_per_host": "2"}


@pytest.mark.parametrize(
    ("flavor_ids", "passes"),
    [
        pytest.param([], True, id="empty-host"),
        pytest.param(["flavor-1"], True, id="same-flavor"),
        pytest.param(["flavor-1", "flavor-1"], True, id="only-same-flavor"),
        pytest.param(["flavor-2"], False, id="other-flavor"),
        # one other flavor among same ones is enough to fail
        pytest.param(["flavor-1", "flavor-2"], False, id="mixed"),
        # no flavor recorded: not proof of sameness
        pytest.param([""], False, id="unknown-flavor-counts-as-other"),
    ],
)
def test_type_affinity_filter(flavor_ids, passes) -> None:
    claims = [build_claim(f"c{i}", instance_id=f"vm-{i}", flavor_id=fid) for i, fid in enumerate(flavor_ids)]
    spec = build_spec(build_flavor(id="flavor-1"))

    assert TypeAffinityFilter().host_passes(build_sched_host(claims=claims), spec, OPTIONS) is passes


def test_type_affinity_compares_flavor_ids_not_names() -> None:
    # same name "m1.tiny", re-created under id flavor-9: a different flavor to this filter
    host = build_sched_host(claims=[build_claim(flavor_id="flavor-1")])
    spec = build_spec(build_flavor(id="flavor-9", name="m1.tiny"))

    assert TypeAffinityFilter().host_passes(host, spec, OPTIONS) is False


def test_type_affinity_sees_in_flight_claims() -> None:
    # a claim proposed by this scheduler, not yet in the table, still fixes the host's flavor
    host = build_sched_host(in_flight=[build_claim("pending", flavor_id="flavor-2")])

    assert TypeAffinityFilter().host_passes(host, build_spec(), OPTIONS) is False


@pytest.mark.parametrize(
    ("running", "hints", "same_passes", "different_passes"),
    [
        pytest.param(["vm-a"], {}, True, True, id="no-hint"),
        pytest.param(["vm-a"], {"same_host": [], "different_host": []}, True, True, id="empty-hints"),
        pytest.param(["vm-a"], {"same_host": ["vm-a"], "different_host": ["vm-a"]}, True, False, id="runs-the-one"),
        pytest.param(
            ["vm-a"], {"same_host": ["vm-x", "vm-a"], "different_host": ["vm-x", "vm-a"]}, True, False, id="runs-one-of-many"
        ),
        pytest.param(["vm-a"], {"same_host": ["vm-x"], "different_host": ["vm-x"]}, False, True, id="runs-none"),
        pytest.param([], {"same_host": ["vm-x"], "different_host": ["vm-x"]}, False, True, id="empty-host"),
    ],
)
def test_same_and_different_host_filters(running, hints, same_passes, different_passes) -> None:
    host = build_host_running(*running)
    spec = build_spec(scheduler_hints=hints)

    assert SameHostFilter().host_passes(host, spec, OPTIONS) is same_passes
    assert DifferentHostFilter().host_passes(host, spec, OPTIONS) is different_passes


def test_same_host_reads_only_its_own_hint() -> None:
    # a different_host hint does not make SameHostFilter act, and the other way round
    host = build_host_running("vm-a")

    assert SameHostFilter().host_passes(host, build_spec(scheduler_hints={"different_host": ["vm-x"]}), OPTIONS) is True
    assert DifferentHostFilter().host_passes(host, build_spec(scheduler_hints={"same_host": ["vm-a"]}), OPTIONS) is True


@pytest.mark.parametrize(
    ("running", "group", "passes"),
    [
        pytest.param(["m1"], None, True, id="no-group"),
        pytest.param(["m1"], build_instance_group("affinity", ["m1"]), True, id="other-policy-ignored"),
        pytest.param(["m1"], build_instance_group("soft-anti-affinity", ["m1"]), True, id="soft-policy-ignored"),
        pytest.param([], build_instance_group(members=[]), True, id="empty-group"),
        # members on host: {} < 1
        pytest.param(["x"], build_instance_group(members=["m1"]), True, id="no-member-on-host"),
        # {m1} -> 1 < 1 fails
        pytest.param(["m1"], build_instance_group(members=["m1", "m2"]), False, id="one-member-default-max-1"),
        # max_server_per_host 2: 1 < 2 passes, {m1, m2} -> 2 < 2 fails
        pytest.param(["m1"], build_instance_group(members=["m1", "m2"], rules=RULE_2), True, id="rule-2-one-member"),
        pytest.param(["m1", "m2"], build_instance_group(members=["m1", "m2", "m3"], rules=RULE_2), False, id="rule-2-two-members"),
        # non-members on the host do not count: {m1} -> 1 < 2
        pytest.param(["m1", "x", "y"], build_instance_group(members=["m1"], rules=RULE_2), True, id="non-members-ignored"),
        # an unreadable rule falls back to 1: 1 < 1 fails
        pytest.param(
            ["m1"], build_instance_group(members=["m1"], rules={"max_server_per_host": "two"}), False, id="bad-rule-is-1"
        ),
        # the instance itself already there (a move's source host): passes even past the limit
        pytest.param(
            ["instance-1", "m1"], build_instance_group(members=["instance-1", "m1"]), True, id="instance-itself-on-host"
        ),
    ],
)
def test_server_group_anti_affinity_filter(running, group, passes) -> None:
    spec = build_spec(instance_group=group)

    assert ServerGroupAntiAffinityFilter().host_passes(build_host_running(*running), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("running", "group", "passes"),
    [
        pytest.param([], None, True, id="no-group"),
        pytest.param([], build_instance_group("anti-affinity", ["m1"]), True, id="other-policy-ignored"),
        pytest.param([], build_instance_group("soft-affinity", ["m1"]), True, id="soft-policy-ignored"),
        # nothing placed yet: every host may start the group
        pytest.param([], build_instance_group("affinity", []), True, id="empty-group"),
        # the only member listed is the instance being placed: still nothing placed
        pytest.param([], build_instance_group("affinity", ["instance-1"]), True, id="only-itself-listed"),
        pytest.param(["m1"], build_instance_group("affinity", ["m1"]), True, id="host-runs-member"),
        pytest.param(["m2"], build_instance_group("affinity", ["m1", "m2"]), True, id="host-runs-one-of-members"),
        pytest.param(["x"], build_instance_group("affinity", ["m1"]), False, id="host-runs-no-member"),
        pytest.param([], build_instance_group("affinity", ["instance-1", "m1"]), False, id="empty-host-when-member-placed"),
    ],
)
def test_server_group_affinity_filter(running, group, passes) -> None:
    spec = build_spec(instance_group=group)

    assert ServerGroupAffinityFilter().host_passes(build_host_running(*running), spec, OPTIONS) is passes
