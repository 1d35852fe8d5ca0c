"""Quotas decided by one writer per project: Nova's counting, messages and partial multi-creates."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import build_flavor, build_quota_updated, build_servers_requested, build_usage_released
from novalog.events.codec import encode
from novalog.events.quotas import usage_of
from novalog.events.state import QuotaState
from novalog.events.types import InstanceBuildRequested
from novalog.projections.quotas import RELEASED_KEEP, decide
from novalog.projections.quotas import fold as handle


def request(count: int, reservation: str, min_count: int = 1, vcpus: int = 1, ram: int = 512, **fields):
    asked = build_servers_requested(count, min_count=min_count, reservation_id=reservation, **fields)
    flavor = build_flavor(vcpus=vcpus, ram=ram)
    return replace(asked, builds=[replace(b, flavor=flavor, instance_id=f"{reservation}-{b.instance_id}",
                                          instance_ids=[f"{reservation}-{i}" for i in b.instance_ids]) for b in asked.builds])


def test_within_quota_every_build_goes_through_and_counts() -> None:
    row, outs = handle(None, request(3, "r1"))
    assert sorted(o.record.instance_id for o in outs) == ["r1-instance-1", "r1-instance-2", "r1-instance-3"]
    assert all(isinstance(o.record, InstanceBuildRequested) and o.topic == "instance.events" for o in outs)
    assert row.used == {"instances": 3, "cores": 3, "ram": 1536} and row.decisions == {"r1": ""}


def test_the_eleventh_instance_is_refused_with_novas_message() -> None:
    row, _ = handle(None, request(10, "r1"))
    row, outs = handle(row, request(1, "r2"))
    assert outs == [] and row.decisions["r2"] == "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
    assert row.used["instances"] == 10


def test_cores_and_ram_count_too() -> None:
    row, _ = handle(None, request(1, "r1", vcpus=16))
    row, outs = handle(row, request(1, "r2", vcpus=8))
    assert outs == [] and row.decisions["r2"] == "Quota exceeded for cores: Requested 8, but already used 16 of 20 cores"
    limited, _ = handle(None, build_quota_updated(limits={"ram": 1000}))
    limited, outs = handle(limited, request(2, "r3", min_count=2, ram=600))
    assert outs == [] and "Quota exceeded for ram: Requested 1200, but already used 0 of 1000 ram" == limited.decisions["r3"]


def test_a_multi_create_gets_as_many_as_fit_if_at_least_min_count() -> None:
    row, _ = handle(None, request(8, "r1"))
    row, outs = handle(row, request(5, "r2", min_count=2))
    built = [o.record for o in outs]
    assert len(built) == 2 and sorted(row.accepted["r2"]) == sorted(b.instance_id for b in built)
    assert {b.instance_id for b in built} == {"r2-instance-1", "r2-instance-2"}
    assert all(b.instance_ids == ["r2-instance-1", "r2-instance-2"] and b.min_count == 2 for b in built)
    row, outs = handle(row, request(3, "r3", min_count=3))
    assert outs == [] and row.decisions["r3"].startswith("Quota exceeded for instances: Requested 3")


def test_a_deleted_instance_frees_its_share_and_a_redelivered_create_is_not_counted_twice() -> None:
    row, first = handle(None, request(10, "r1"))
    again, second = handle(row, request(10, "r1"))
    assert again == row and sorted(o.record.instance_id for o in first) == sorted(o.record.instance_id for o in second)
    freed, _ = handle(row, build_usage_released("r1-instance-4", vcpus=1, ram=512))
    assert freed.used == {"instances": 9, "cores": 9, "ram": 9 * 512}
    freed, outs = handle(freed, request(1, "r2"))
    assert len(outs) == 1 and freed.used["instances"] == 10


def test_limits_overrides_unlimited_and_reset() -> None:
    row, _ = handle(None, build_quota_updated(limits={"instances": -1, "cores": -1, "ram": -1}))
    row, outs = handle(row, request(30, "r1"))
    assert len(outs) == 30
    reset, _ = handle(row, build_quota_updated(limits={}, reset=True))
    assert reset.limits == {}
    _, outs = handle(reset, request(1, "r2"))
    assert outs == []  # 30 used, default 10
    count, message = decide(None, request(1, "r3", default_limits={"instances": 0}))
    assert count == 0 and message == "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4), st.booleans()), min_size=1, max_size=40), st.integers(0, 12))
def test_no_interleaving_of_creates_and_deletes_passes_the_limit(steps, limit) -> None:
    """Whatever arrives, in whatever order, the project never counts more than its limit."""
    row, _ = handle(None, build_quota_updated(limits={"instances": limit}))
    live: list[str] = []
    for n, (count, min_count, delete_one) in enumerate(steps):
        row, outs = handle(row, request(count, f"r{n}", min_count=min(min_count, count), vcpus=count))
        live += [(o.record.instance_id, o.record.flavor.vcpus) for o in outs]
        assert usage_of(row)["instances"] <= limit
        if delete_one and live:
            gone, vcpus = live.pop(0)
            released = build_usage_released(gone, vcpus=vcpus, ram=512)
            row, _ = handle(row, released)
            again, _ = handle(row, released)  # appended twice: given back once
            assert again == row
    assert usage_of(row) == {"instances": len(live), "cores": sum(v for _, v in live), "ram": 512 * len(live)}


def test_a_server_group_holds_at_most_server_group_members() -> None:
    from novalog.events.records import InstanceGroup

    def in_group(asked):
        return replace(asked, builds=[replace(b, instance_group=InstanceGroup("g-1", "anti-affinity")) for b in asked.builds])

    row, _ = handle(None, build_quota_updated(limits={"server_group_members": 3}))
    row, outs = handle(row, in_group(request(2, "r1")))
    assert len(outs) == 2
    row, outs = handle(row, in_group(request(2, "r2", min_count=2)))
    assert outs == [] and row.decisions["r2"] == "Quota exceeded, too many servers in group"
    row, outs = handle(row, in_group(request(3, "r3")))  # one more fits
    assert len(outs) == 1
    row, _ = handle(row, build_usage_released(outs[0].record.instance_id, vcpus=1, ram=512, server_group="g-1"))
    assert row.group_members == {"g-1": 2}
    row, outs = handle(row, in_group(request(1, "r4")))  # the freed place
    assert len(outs) == 1


def test_key_pairs_and_server_groups_are_let_through_by_the_projects_writer() -> None:
    from builders import build_keypair_created, build_server_group_created
    from novalog.events.types import KeypairCreated, KeypairRequested, ServerGroupCreated, ServerGroupRequested, TenantQuotaReleased
    from novalog.projections import tenant

    def keypair(name: str) -> KeypairRequested:
        created = replace(build_keypair_created(), name=name, envelope=replace(build_keypair_created().envelope, event_id=f"kp-{name}"))
        return KeypairRequested(envelope=replace(created.envelope, event_id=f"ask-{name}"), project_id="project-1", keypair=created,
                                default_limits={"key_pairs": 2})

    row, outs = handle(None, keypair("a"))
    (made,) = [o.record for o in outs]
    assert isinstance(made, KeypairCreated) and made.quota_project == "project-1"
    row, _ = handle(row, keypair("b"))
    row, outs = handle(row, keypair("c"))
    assert outs == [] and row.decisions["ask-c"] == "Quota exceeded, too many key pairs."
    again, outs = handle(row, keypair("a"))  # redelivered: the same create again, counted once
    assert again == row and len(outs) == 1
    # The key pair is deleted: the tenant table frees its slot, and c now fits.
    kept, _ = tenant.fold(None, made)
    _, freed = tenant.fold(kept, tenant_delete(made))
    (release,) = [o.record for o in freed]
    assert isinstance(release, TenantQuotaReleased) and release.key == f"keypair:{made.user_id}:a"
    row, _ = handle(row, release)
    row, outs = handle(row, replace(keypair("c"), envelope=replace(keypair("c").envelope, event_id="ask-c-again")))
    assert len(outs) == 1

    group = build_server_group_created()
    asked = ServerGroupRequested(envelope=replace(group.envelope, event_id="ask-g"), project_id="project-1", group=group,
                                 default_limits={"server_groups": 0})
    _, outs = handle(None, asked)
    assert outs == []
    allowed = replace(asked, default_limits={"server_groups": 1})
    _, outs = handle(None, allowed)
    assert isinstance(outs[0].record, ServerGroupCreated) and outs[0].record.counted


def tenant_delete(created):
    from novalog.events.types import KeypairDeleted

    return KeypairDeleted(envelope=replace(created.envelope, event_id="del-" + created.name), user_id=created.user_id, name=created.name)


def test_a_counted_key_pair_refused_as_a_duplicate_gives_its_slot_back() -> None:
    from builders import build_keypair_created
    from novalog.events.types import TenantQuotaReleased
    from novalog.projections import tenant

    first = replace(build_keypair_created(), quota_project="project-1")
    second = replace(first, keypair_id=first.keypair_id + 1, envelope=replace(first.envelope, event_id="second"))
    kept, _ = tenant.fold(None, first)
    after, outs = tenant.fold(kept, second)
    assert after.keypair_id == first.keypair_id
    assert [type(o.record) for o in outs] == [TenantQuotaReleased]


def test_the_row_does_not_grow_with_the_project() -> None:
    """It is encoded and published at every decision: its size must not follow the number of servers."""
    row, _ = handle(None, build_quota_updated(limits={"instances": -1, "cores": -1, "ram": -1}))
    sizes = []
    for n in range(3 * RELEASED_KEEP):
        row, outs = handle(row, request(2, f"r{n:05d}"))
        row, _ = handle(row, build_usage_released(outs[0].record.instance_id, vcpus=1, ram=512))
        if n in (RELEASED_KEEP, 3 * RELEASED_KEEP - 1):
            sizes.append(len(encode(row)))
    assert usage_of(row) == {"instances": 3 * RELEASED_KEEP, "cores": 3 * RELEASED_KEEP, "ram": 3 * RELEASED_KEEP * 512}
    assert sizes[1] <= sizes[0], sizes  # 1,536 servers counted, as many released: the memories are bounded


def test_a_row_written_instance_by_instance_keeps_counting_until_its_instances_are_released() -> None:
    older = QuotaState("project-1", instances={"old-1": [2, 1024], "old-2": [4, 2048]}, groups={"old-2": "g-1"})
    row, outs = handle(older, request(1, "r1", vcpus=1, ram=512))
    assert len(outs) == 1 and usage_of(row) == {"instances": 3, "cores": 7, "ram": 3584}
    row, _ = handle(row, build_usage_released("old-2"))  # written before releases said what they give back
    assert usage_of(row) == {"instances": 2, "cores": 3, "ram": 1536} and row.groups == {}
    again, _ = handle(row, build_usage_released("old-2", vcpus=4, ram=2048))  # appended twice: given back once
    assert again == row
    row, _ = handle(row, build_usage_released(outs[0].record.instance_id, vcpus=1, ram=512))
    assert usage_of(row) == {"instances": 1, "cores": 2, "ram": 1024}


def test_a_release_that_does_not_say_what_it_gives_back_frees_the_instance_only() -> None:
    row, outs = handle(None, request(2, "r1", vcpus=4, ram=1024))
    row, _ = handle(row, build_usage_released(outs[0].record.instance_id))
    assert usage_of(row) == {"instances": 1, "cores": 8, "ram": 2048}  # too much counted, never too little
    row, _ = handle(row, build_usage_released("never-counted", vcpus=64, ram=10**6))
    assert usage_of(row) == {"instances": 0, "cores": 0, "ram": 0}  # whatever a log that bypassed the quota releases
