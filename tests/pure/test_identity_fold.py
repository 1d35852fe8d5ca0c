"""The identity table: names are unique per key, role assignments come and go, roles imply roles."""

from __future__ import annotations

from datetime import timedelta
from functools import reduce

import pytest

from builders import (
    NOW,
    build_password_changed,
    build_project_created,
    build_project_state,
    build_role_assigned,
    build_role_unassigned,
    build_token_revoked,
    build_user_created,
    build_user_state,
)
from novalog.events.identity import effective_roles
from novalog.projections.identity import apply, key_of

LATER = NOW + timedelta(minutes=5)


def fold(*events):
    return reduce(apply, events, None)


def test_a_project_created_is_a_row_keyed_by_domain_and_name() -> None:
    event = build_project_created("demo", "p-1", description="the demo project")

    assert key_of(event) == "project:default:demo"
    assert fold(event) == build_project_state("demo", "p-1", description="the demo project")


def test_a_second_create_of_a_name_is_refused_and_the_first_creator_keeps_it() -> None:
    first, second = build_project_created("demo", "p-1"), build_project_created("demo", "p-2")

    assert key_of(first) == key_of(second)
    assert fold(first, second).project_id == "p-1"


def test_a_second_user_of_the_same_name_is_refused_with_its_password() -> None:
    first = build_user_created("alice", "u-1", password_hash="hash-1")
    second = build_user_created("alice", "u-2", password_hash="hash-2")

    row = fold(first, second)

    assert (row.user_id, row.password_hash) == ("u-1", "hash-1")


def test_role_events_travel_with_the_user_they_are_about() -> None:
    assert key_of(build_role_assigned(user_name="alice")) == key_of(build_user_created("alice")) == "user:default:alice"
    assert key_of(build_role_unassigned(user_name="alice")) == "user:default:alice"
    assert key_of(build_password_changed("alice")) == "user:default:alice"


def test_roles_are_assigned_per_project_once_and_sorted() -> None:
    row = fold(
        build_user_created("alice", "u-alice"),
        build_role_assigned("member", "p-1"),
        build_role_assigned("admin", "p-1"),
        build_role_assigned("member", "p-1"),  # again: no change
        build_role_assigned("reader", "p-2"),
    )

    assert row.roles == {"p-1": ["admin", "member"], "p-2": ["reader"]}


def test_an_unassigned_role_is_gone_and_a_project_without_roles_leaves_the_map() -> None:
    row = fold(
        build_user_created("alice", "u-alice"),
        build_role_assigned("member", "p-1"),
        build_role_assigned("reader", "p-2"),
        build_role_unassigned("member", "p-1"),
        build_role_unassigned("admin", "p-2"),  # never given: no change
    )

    assert row.roles == {"p-2": ["reader"]}


def test_events_about_another_user_id_under_the_same_name_change_nothing() -> None:
    # A writer that lost the race for the name still holds its own user id: its follow-ups must not land on the winner.
    winner = build_user_created("alice", "u-winner")

    after = fold(winner, build_role_assigned("admin", "p-1", user_id="u-loser"), build_password_changed("alice", user_id="u-loser"))

    assert after == fold(winner)


def test_events_for_a_user_that_does_not_exist_leave_no_row() -> None:
    assert fold(build_role_assigned("admin", "p-1"), build_password_changed("alice")) is None


def test_a_password_change_replaces_the_hash_and_records_when() -> None:
    row = fold(build_user_created("alice", "u-alice"), build_password_changed("alice", "u-alice", at=LATER, password_hash="new-hash"))

    assert (row.password_hash, row.password_changed_at) == ("new-hash", LATER)


def test_replay_is_deterministic_over_any_split() -> None:
    events = [
        build_user_created("alice", "u-alice"),
        build_role_assigned("member", "p-1"),
        build_role_assigned("admin", "p-2"),
        build_role_unassigned("member", "p-1"),
        build_password_changed("alice"),
    ]
    whole = fold(*events)

    for cut in range(len(events) + 1):
        assert reduce(apply, events[cut:], fold(*events[:cut])) == whole


def test_every_event_applied_twice_is_applied_once() -> None:
    events = [build_user_created("alice", "u-alice"), build_role_assigned("member", "p-1"), build_role_unassigned("member", "p-1")]

    assert fold(*[e for e in events for _ in (1, 2)]) == fold(*events) == build_user_state("alice", "u-alice")


@pytest.mark.parametrize(
    ("assigned", "effective"),
    [
        pytest.param(["admin"], ("admin", "member", "reader"), id="admin-implies-member-implies-reader"),
        pytest.param(["member"], ("member", "reader"), id="member-implies-reader"),
        pytest.param(["reader"], ("reader",), id="reader-alone"),
        pytest.param(["reader", "admin"], ("admin", "member", "reader"), id="overlap-counted-once"),
        pytest.param([], (), id="none"),
    ],
)
def test_implied_roles(assigned, effective) -> None:
    assert effective_roles(assigned) == effective


def test_a_revocation_travels_with_its_user_and_stays_until_the_token_expires() -> None:
    token_expiry = NOW + timedelta(hours=1)
    revoked = build_token_revoked("audit-1", expires_at=token_expiry)

    row = fold(build_user_created("alice", "u-alice"), revoked)

    assert key_of(revoked) == "user:default:alice"
    assert row.revoked == {"audit-1": int(token_expiry.timestamp() * 1000)}


def test_revocations_of_expired_tokens_are_dropped_at_the_next_revocation() -> None:
    # audit-1 expires at NOW+1h, audit-2 at NOW+3h; the third revocation comes at NOW+2h:
    # audit-1 has nothing left to refuse and goes, audit-2 stays, audit-3 joins.
    two_hours = NOW + timedelta(hours=2)
    row = fold(
        build_user_created("alice", "u-alice"),
        build_token_revoked("audit-1", expires_at=NOW + timedelta(hours=1)),
        build_token_revoked("audit-2", expires_at=NOW + timedelta(hours=3)),
        build_token_revoked("audit-3", expires_at=two_hours + timedelta(hours=1), at=two_hours),
    )

    assert sorted(row.revoked) == ["audit-2", "audit-3"]


def test_revoking_a_token_already_expired_adds_nothing() -> None:
    row = fold(build_user_created("alice", "u-alice"), build_token_revoked("audit-1", expires_at=NOW - timedelta(seconds=1)))

    assert row.revoked == {}


def test_a_revocation_for_another_user_id_than_the_row_changes_nothing() -> None:
    alice = fold(build_user_created("alice", "u-alice"))

    assert apply(alice, build_token_revoked("audit-1", user_id="u-impostor")) is alice
