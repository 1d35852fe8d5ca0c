"""Derived ids (events/records.py): the uuid5 of the cause's id, the effect's type and a salt, as uuid.uuid5 spells it."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from builders import NOW, build_envelope
from novalog.events.records import Envelope, derived_id
from novalog.events.types import InstanceBuildRequested, InstanceSpawnOrdered


@given(st.text())
def test_a_derived_id_is_uuid5_in_the_url_namespace(name) -> None:
    assert derived_id(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_a_caused_envelope_carries_the_derived_id_the_request_and_its_cause() -> None:
    cause = build_envelope(InstanceBuildRequested, event_id="e-1", request_id="req-9")

    effect = cause.caused(InstanceSpawnOrdered, "novalog-projections", salt="claim-1", occurred_at=NOW)

    # uuid5(URL, "e-1/InstanceSpawnOrdered/claim-1")
    assert effect == Envelope(str(uuid.uuid5(uuid.NAMESPACE_URL, "e-1/InstanceSpawnOrdered/claim-1")), "InstanceSpawnOrdered", NOW,
                              "novalog-projections", request_id="req-9", causation_id="e-1", schema_version=1)
