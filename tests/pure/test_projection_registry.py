"""The declared projections: each event type written to a source topic is folded by that topic's projection, and `step` is the one storing rule."""

from __future__ import annotations

import pytest

from builders import build_capacity_report, build_proposal
from novalog.events import topics
from novalog.events.state import STATE_TYPES
from novalog.events.types import EVENT_TYPES
from novalog.projections.registry import BY_TABLE, PROJECTIONS, NotOnThisTopic


def test_every_event_written_to_a_source_topic_is_folded_there() -> None:
    for cls in EVENT_TYPES:
        topic = topics.TOPIC_OF.get(cls)
        readers = [p.table for p in PROJECTIONS if topic in p.sources]
        if topic == topics.AGENT_COMMANDS or topic is None:
            assert readers == [], cls
            continue
        assert [p.table for p in PROJECTIONS if cls in p.accepts] == readers, cls


def test_each_projection_publishes_the_rows_of_its_state_topic() -> None:
    for row in STATE_TYPES:
        (owner,) = [p for p in PROJECTIONS if p.state_topic == topics.TOPIC_OF[row]]
        assert owner.table in BY_TABLE


def test_step_refuses_a_record_from_another_topic() -> None:
    with pytest.raises(NotOnThisTopic, match="does not belong on instance.events"):
        BY_TABLE["instances"].step(None, build_capacity_report(), 7)


def test_step_stores_a_row_only_when_it_changed() -> None:
    hosts = BY_TABLE["host_state"]
    row, outs = hosts.step(None, build_capacity_report(), 0)
    assert row is not None and row.vcpus > 0 and outs == []
    again, _ = hosts.step(row, build_capacity_report(), 1)
    assert again is None  # the same report again: nothing to store
    _, decided = hosts.step(row, build_proposal(), 2)
    assert [type(o.record).__name__ for o in decided] == ["ClaimAccepted"]
