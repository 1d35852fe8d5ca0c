"""The catalog fold: flavors created, deleted, re-created; and the key each catalog event travels under."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from builders import NOW, build_flavor, build_flavor_created, build_flavor_deleted, build_flavor_state
from novalog.events.state import FlavorState
from novalog.projections.catalog import apply, key_of

LATER = NOW + timedelta(hours=1)
SMALL = build_flavor(id="flavor-2", name="m1.small", vcpus=1, ram=2048, disk=20)


def test_a_created_flavor_is_a_live_row_dated_by_its_event() -> None:
    assert apply(None, build_flavor_created(SMALL, at=NOW)) == FlavorState(flavor=SMALL, created_at=NOW, deleted=False, offset=-1)


def test_a_duplicate_create_is_ignored_even_with_other_values() -> None:
    row = build_flavor_state(SMALL, offset=5)

    assert apply(row, build_flavor_created(SMALL, at=LATER)) == row
    assert apply(row, build_flavor_created(replace(SMALL, ram=4096), at=LATER)) == row


def test_a_deleted_flavor_is_kept_marked_deleted() -> None:
    row = build_flavor_state(SMALL, offset=5)

    assert apply(row, build_flavor_deleted("flavor-2")) == replace(row, deleted=True)


def test_a_redelivered_delete_changes_nothing() -> None:
    deleted = build_flavor_state(SMALL, deleted=True, offset=5)

    assert apply(deleted, build_flavor_deleted("flavor-2")) == deleted


def test_deleting_an_unknown_flavor_makes_no_row() -> None:
    assert apply(None, build_flavor_deleted("flavor-9")) is None


def test_a_flavor_re_created_after_its_delete_starts_afresh() -> None:
    deleted = build_flavor_state(SMALL, deleted=True, offset=5)
    bigger = replace(SMALL, ram=4096, description="re-created")

    assert apply(deleted, build_flavor_created(bigger, at=LATER)) == FlavorState(flavor=bigger, created_at=LATER)


def test_the_fold_over_create_delete_create() -> None:
    events = [
        build_flavor_created(SMALL, at=NOW),
        build_flavor_created(replace(SMALL, ram=1), at=NOW + timedelta(minutes=1)),  # duplicate: ignored
        build_flavor_deleted("flavor-2", at=NOW + timedelta(minutes=2)),
        build_flavor_created(replace(SMALL, ram=8192), at=LATER),
    ]
    state = None
    rows = []
    for event in events:
        state = apply(state, event)
        rows.append(state)

    assert rows == [
        FlavorState(flavor=SMALL, created_at=NOW),
        FlavorState(flavor=SMALL, created_at=NOW),
        FlavorState(flavor=SMALL, created_at=NOW, deleted=True),
        FlavorState(flavor=replace(SMALL, ram=8192), created_at=LATER),
    ]


@pytest.mark.parametrize(
    ("event", "key"),
    [
        pytest.param(build_flavor_created(SMALL), "flavor:flavor-2", id="created"),
        pytest.param(build_flavor_deleted("flavor-2"), "flavor:flavor-2", id="deleted"),
        pytest.param(build_flavor_created(build_flavor(id="42")), "flavor:42", id="numeric-id"),
    ],
)
def test_key_of_names_the_entity(event, key) -> None:
    assert key_of(event) == key


def test_a_create_and_its_delete_share_a_key_so_they_stay_in_order() -> None:
    assert key_of(build_flavor_created(SMALL)) == key_of(build_flavor_deleted(SMALL.id))


def test_extra_specs_are_set_key_by_key_and_deleted_one_at_a_time() -> None:
    from builders import build_extra_spec_deleted, build_extra_specs_set

    state = apply(None, build_flavor_created())
    state = apply(state, build_extra_specs_set(extra_specs={"a": "1", "b": "2"}))
    state = apply(state, build_extra_specs_set(extra_specs={"b": "3"}))
    assert state.flavor.extra_specs == {"a": "1", "b": "3"}
    state = apply(state, build_extra_spec_deleted(key="a"))
    assert state.flavor.extra_specs == {"b": "3"}
    assert key_of(build_extra_specs_set()) == "flavor:flavor-1"
