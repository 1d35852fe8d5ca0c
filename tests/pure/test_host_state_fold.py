"""The host-state fold, the single writer of claims: decide_claim at the boundary, redelivery, and no overcommit.

Room for one resource = total x allocation ratio - reserved - claimed; a
request larger than the physical total never fits.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from builders import (
    NOW,
    build_capacity_report,
    build_caused_envelope,
    build_claim,
    build_claim_released,
    build_envelope,
    build_heartbeat,
    build_host_state,
    build_proposal,
)
from novalog.events.capacity import used_by_claims
from novalog.events.outbound import Outbound
from novalog.events.records import Claim, Resources
from novalog.events.state import HostState
from novalog.events.types import ClaimAccepted, ClaimRejected, HostCapacityReported, PlacementProposed
from novalog.projections.host_state import apply, decide_claim
from novalog.projections.host_state import fold as handle


def timeless(value: Any) -> Any:
    """The value with its envelope's clock reading set to NOW (see test_a_decision_does_not_read_the_clock)."""
    if isinstance(value, list):
        return [timeless(v) for v in value]
    if isinstance(value, Outbound):
        return replace(value, record=timeless(value.record))
    if hasattr(value, "envelope"):
        return replace(value, envelope=replace(value.envelope, occurred_at=NOW))
    return value


def accepted(proposal: PlacementProposed) -> ClaimAccepted:
    return ClaimAccepted(
        envelope=build_caused_envelope(proposal.envelope, ClaimAccepted),
        claim_id=proposal.claim_id,
        instance_id=proposal.instance_id,
        host=proposal.host,
        resources=proposal.resources,
        spec=proposal.spec,
    )


def rejected(proposal: PlacementProposed, reason: str) -> ClaimRejected:
    return ClaimRejected(
        envelope=build_caused_envelope(proposal.envelope, ClaimRejected),
        claim_id=proposal.claim_id,
        instance_id=proposal.instance_id,
        host=proposal.host,
        reason=reason,
        spec=proposal.spec,
    )


def claims_totalling(vcpus: int = 0, memory_mb: int = 0, disk_gb: int = 0) -> list[Claim]:
    """Four accepted claims "a".."d" adding up to the totals."""
    parts = []
    for i, name in enumerate("abcd"):
        share = [total // 4 + (total % 4 if i == 3 else 0) for total in (vcpus, memory_mb, disk_gb)]
        parts.append(build_claim(name, vcpus=share[0], memory_mb=share[1], disk_gb=share[2]))
    return parts


def claim_of(proposal: PlacementProposed) -> Claim:
    res = proposal.resources
    return Claim(proposal.claim_id, proposal.instance_id, res.vcpus, res.memory_mb, res.disk_gb, proposal.spec.flavor.id, proposal.spec.project_id)


# --- decide_claim at the boundary (build_host_state: 4 vCPUs, 8192 MB, 80 GB; ratios 4.0 / 1.0 / 1.0) ---


@pytest.mark.parametrize(
    ("host", "request_", "reason"),
    [
        # 4 x 4.0 - 0 = 16 vCPUs: 15 claimed + 1 fits, + 2 does not
        pytest.param(dict(claims=claims_totalling(vcpus=15)), Resources(1, 0, 0), None, id="vcpus-16-claimed-15-request-1"),
        pytest.param(
            dict(claims=claims_totalling(vcpus=15)), Resources(2, 0, 0),
            "vcpus: requested 2, room 1 (4 x 4 - 0 reserved - 15 claimed)", id="vcpus-16-claimed-15-request-2",
        ),
        # 4 x 2.0 - 1 reserved = 7 vCPUs: 6 claimed + 1 fits, + 2 does not
        pytest.param(dict(cpu_allocation_ratio=2.0, reserved_vcpus=1, claims=claims_totalling(vcpus=6)), Resources(1, 0, 0), None, id="vcpus-ratio-2-reserved-1-request-1"),
        pytest.param(
            dict(cpu_allocation_ratio=2.0, reserved_vcpus=1, claims=claims_totalling(vcpus=6)), Resources(2, 0, 0),
            "vcpus: requested 2, room 1 (4 x 2 - 1 reserved - 6 claimed)", id="vcpus-ratio-2-reserved-1-request-2",
        ),
        # 8192 x 1.5 - 512 reserved = 11776 MB: 11264 claimed + 512 fits, + 513 does not
        pytest.param(
            dict(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=claims_totalling(memory_mb=11264)), Resources(0, 512, 0),
            None, id="ram-11776-claimed-11264-request-512",
        ),
        pytest.param(
            dict(ram_allocation_ratio=1.5, reserved_memory_mb=512, claims=claims_totalling(memory_mb=11264)), Resources(0, 513, 0),
            "memory_mb: requested 513, room 512 (8192 x 1.5 - 512 reserved - 11264 claimed)", id="ram-11776-claimed-11264-request-513",
        ),
        # 80 x 1.0 - 5 reserved = 75 GB: 70 claimed + 5 fits, + 6 does not
        pytest.param(dict(reserved_disk_gb=5, claims=claims_totalling(disk_gb=70)), Resources(0, 0, 5), None, id="disk-75-claimed-70-request-5"),
        pytest.param(
            dict(reserved_disk_gb=5, claims=claims_totalling(disk_gb=70)), Resources(0, 0, 6),
            "disk_gb: requested 6, room 5 (80 x 1 - 5 reserved - 70 claimed)", id="disk-75-claimed-70-request-6",
        ),
        # an empty host takes exactly its physical size
        pytest.param(dict(), Resources(4, 8192, 80), None, id="empty-host-request-whole-host"),
        # larger than the physical total, whatever the ratio: 4 x 16.0 = 64 room but 5 > 4
        pytest.param(dict(cpu_allocation_ratio=16.0), Resources(5, 0, 0), "vcpus: requested 5 exceeds the host's total 4", id="vcpus-5-over-physical-4"),
        # 8192 x 2.0 = 16384 room but 8193 > 8192
        pytest.param(dict(ram_allocation_ratio=2.0), Resources(0, 8193, 0), "memory_mb: requested 8193 exceeds the host's total 8192", id="ram-8193-over-physical-8192"),
        # 80 x 10.0 = 800 room but 81 > 80
        pytest.param(dict(disk_allocation_ratio=10.0), Resources(0, 0, 81), "disk_gb: requested 81 exceeds the host's total 80", id="disk-81-over-physical-80"),
        # the capacity shrank under existing claims: 8192 x 1.0 - 0 - 9216 = -1024
        pytest.param(
            dict(claims=claims_totalling(memory_mb=9216)), Resources(0, 1, 0),
            "memory_mb: requested 1, room -1024 (8192 x 1 - 0 reserved - 9216 claimed)", id="already-overcommitted",
        ),
        pytest.param(dict(capacity_reported_at=None), Resources(1, 512, 1), "the host has not reported its capacity", id="never-reported"),
        pytest.param(dict(disabled=True, disabled_reason="maintenance"), Resources(1, 512, 1), "the host's compute service is disabled", id="disabled"),
    ],
)
def test_decide_claim_at_the_boundary(host, request_, reason) -> None:
    proposal = build_proposal(resources=request_)

    decision = decide_claim(build_host_state(**host), proposal)

    assert timeless(decision) == (accepted(proposal) if reason is None else rejected(proposal, reason))


def test_a_host_seen_only_through_a_proposal_has_no_capacity() -> None:
    proposal = build_proposal()

    state, out = handle(None, proposal)

    assert state == HostState(host="host-1", rejected={"claim-1": "the host has not reported its capacity"})
    assert timeless(out) == [Outbound("instance.events", "instance-of-claim-1", rejected(proposal, "the host has not reported its capacity"))]


def test_an_accepted_proposal_counts_one_claim_and_answers_on_the_instance_topic() -> None:
    before = build_host_state(claims=[build_claim("a")])
    proposal = build_proposal("claim-1", resources=Resources(2, 1024, 10))

    state, out = handle(before, proposal)

    assert state == replace(before, claims=[build_claim("a"), Claim("claim-1", "instance-of-claim-1", 2, 1024, 10, "flavor-1", "project-1")])
    assert timeless(out) == [Outbound("instance.events", "instance-of-claim-1", accepted(proposal))]


def test_a_rejected_proposal_is_remembered_and_counts_nothing() -> None:
    before = build_host_state(claims=claims_totalling(memory_mb=8192))
    proposal = build_proposal("claim-1")

    state, out = handle(before, proposal)

    # 8192 x 1.0 - 0 - 8192 = 0 MB room for 512
    reason = "memory_mb: requested 512, room 0 (8192 x 1 - 0 reserved - 8192 claimed)"
    assert state == replace(before, rejected={"claim-1": reason})
    assert timeless(out) == [Outbound("instance.events", "instance-of-claim-1", rejected(proposal, reason))]


# --- redelivery ---


def test_a_redelivered_accepted_proposal_is_accepted_again_without_a_second_claim() -> None:
    proposal = build_proposal("claim-1")
    first_state, first_out = handle(build_host_state(), proposal)
    # since then the host was disabled and shrank to nothing: a new proposal would be rejected
    meanwhile = replace(first_state, disabled=True, vcpus=0, memory_mb=0, disk_gb=0)

    again_state, again_out = handle(meanwhile, proposal)

    assert again_state == meanwhile
    assert again_state.claims == [claim_of(proposal)]
    assert timeless(again_out) == timeless(first_out) == [Outbound("instance.events", "instance-of-claim-1", accepted(proposal))]


def _rejected_then_room_appears() -> tuple[PlacementProposed, list[Outbound], HostState]:
    """claim-1 rejected on a full host; then claim "a" (2048 MB) is released."""
    proposal = build_proposal("claim-1")
    full = build_host_state(claims=claims_totalling(memory_mb=8192))
    state, out = handle(full, proposal)
    state, _ = handle(state, build_claim_released("a"))
    # 8192 - 6144 = 2048 MB room now: a fresh 512 MB proposal would be accepted
    fresh = build_proposal("claim-2")
    assert timeless(decide_claim(state, fresh)) == accepted(fresh)
    return proposal, out, state


def test_a_redelivered_rejected_proposal_is_rejected_again_under_the_same_id() -> None:
    proposal, first_out, state = _rejected_then_room_appears()

    again_state, again_out = handle(state, proposal)

    assert again_state == state
    assert [(type(o.record), o.record.envelope.event_id) for o in again_out] == [
        (ClaimRejected, build_caused_envelope(proposal.envelope, ClaimRejected).event_id)
    ]


def test_a_redelivered_rejected_proposal_gets_the_same_rejection() -> None:
    """Same id, same content: a reader that keeps only the redelivered copy sees the real reason."""
    proposal, first_out, state = _rejected_then_room_appears()

    _, again_out = handle(state, proposal)

    assert [o.record.reason for o in again_out] == [o.record.reason for o in first_out]
    assert timeless(again_out) == timeless(first_out)


def test_a_released_claims_proposal_redelivered_yields_no_decision_and_no_claim() -> None:
    proposal = build_proposal("claim-1")
    state = apply(build_host_state(), proposal)
    state = apply(state, build_claim_released("claim-1"))

    assert decide_claim(state, proposal) is None
    assert handle(state, proposal) == (state, [])
    assert state.claims == []


def test_a_decision_does_not_read_the_clock() -> None:
    """A decision is a function of the state and the proposal: deciding again gives the same event."""
    state, proposal = build_host_state(), build_proposal()

    first = decide_claim(state, proposal)
    time.sleep(0.002)  # the next millisecond
    second = decide_claim(state, proposal)

    assert second == first


# --- releases ---


def test_a_release_frees_the_room_of_its_claim() -> None:
    full = build_host_state(claims=claims_totalling(memory_mb=8192))  # a..d: 2048 MB each

    state, out = handle(full, build_claim_released("b"))

    assert (state, out) == (replace(full, claims=[c for c in full.claims if c.claim_id != "b"], released=["b"]), [])
    # 8192 - 6144 = 2048 room: a 2048 MB claim fits again, a 2049 MB one does not
    fits, too_big = build_proposal("claim-1", resources=Resources(0, 2048, 0)), build_proposal("claim-2", resources=Resources(0, 2049, 0))
    assert timeless(decide_claim(state, fits)) == accepted(fits)
    assert timeless(decide_claim(state, too_big)) == rejected(too_big, "memory_mb: requested 2049, room 2048 (8192 x 1 - 0 reserved - 6144 claimed)")


def test_a_redelivered_release_changes_nothing() -> None:
    state = apply(build_host_state(claims=[build_claim("a")]), build_claim_released("a"))

    assert handle(state, build_claim_released("a")) == (state, [])


# --- capacity reports and heartbeats ---

REPORTED = build_host_state(claims=[build_claim("a")], hypervisor_hostname="host-1", cpu_info='{"model": "Haswell"}')


def test_a_newer_capacity_report_replaces_the_inventory_and_keeps_the_claims() -> None:
    later = NOW + timedelta(minutes=1)
    report = build_capacity_report(
        reported_at=later, vcpus=8, memory_mb=16384, disk_gb=160, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5,
        disk_allocation_ratio=1.2, reserved_vcpus=1, reserved_memory_mb=512, reserved_disk_gb=5, running_vms=1,
        vcpus_in_use=1, memory_mb_in_use=512, hypervisor_version=9_000_000,
    )

    assert handle(REPORTED, report) == (
        replace(
            REPORTED, vcpus=8, memory_mb=16384, disk_gb=160, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5,
            disk_allocation_ratio=1.2, reserved_vcpus=1, reserved_memory_mb=512, reserved_disk_gb=5, running_vms=1,
            vcpus_in_use=1, memory_mb_in_use=512, hypervisor_version=9_000_000, capacity_reported_at=later,
        ),
        [],
    )


@pytest.mark.parametrize(
    "reported_at",
    [pytest.param(NOW - timedelta(milliseconds=1), id="1ms-older"), pytest.param(NOW - timedelta(days=1), id="a-day-older")],
)
def test_a_stale_capacity_report_is_ignored(reported_at) -> None:
    report = build_capacity_report(reported_at=reported_at, vcpus=64, memory_mb=1 << 20)

    assert handle(REPORTED, report) == (REPORTED, [])


def test_a_report_without_reported_at_is_dated_by_its_envelope() -> None:
    later = NOW + timedelta(seconds=30)
    report = build_capacity_report(reported_at=None, vcpus=8, envelope=build_envelope(HostCapacityReported, occurred_at=later))

    assert apply(REPORTED, report) == replace(REPORTED, vcpus=8, capacity_reported_at=later)


def test_a_redelivered_capacity_report_changes_nothing() -> None:
    report = build_capacity_report(reported_at=NOW + timedelta(seconds=1), vcpus=8)
    state = apply(REPORTED, report)

    assert handle(state, report) == (state, [])


@pytest.mark.parametrize(
    ("beat_at", "expected_at", "expected_interval"),
    [
        pytest.param(NOW + timedelta(seconds=10), NOW + timedelta(seconds=10), 30.0, id="later-moves-forward"),
        pytest.param(NOW, NOW, 10.0, id="same-time-ignored"),
        pytest.param(NOW - timedelta(seconds=10), NOW, 10.0, id="older-ignored"),
    ],
)
def test_heartbeats_only_move_forward(beat_at, expected_at, expected_interval) -> None:
    state = build_host_state(last_heartbeat_at=NOW, heartbeat_interval_s=10.0)

    new, out = handle(state, build_heartbeat(at=beat_at, interval_s=30.0))

    assert (new, out) == (replace(state, last_heartbeat_at=expected_at, heartbeat_interval_s=expected_interval), [])


def test_a_first_heartbeat_makes_the_row() -> None:
    assert apply(None, build_heartbeat("host-9", at=NOW)) == HostState(host="host-9", last_heartbeat_at=NOW, heartbeat_interval_s=10.0)


# --- properties over interleavings from several schedulers ---

HOSTS = ("host-1", "host-2")
SCHEDULERS = ("scheduler-1", "scheduler-2", "scheduler-3")
CLAIM_IDS = tuple(f"claim-{i}" for i in range(16))
# Exact in binary, so the bound checked below and the code's arithmetic agree to the last bit.
RATIOS = (0.5, 1.0, 1.5, 2.0, 4.0, 16.0)


@st.composite
def host_histories(draw: st.DrawFn, max_size: int = 40) -> list[Any]:
    """Proposals from several schedulers (a claim id always names the same proposal, as schedulers
    derive it; drawing it again is a redelivery), capacity reports (distinct times, any order),
    releases (also of claims not proposed yet) and heartbeats, on two hosts.

    Sizes are such that a host usually takes a few claims before it is full.
    """
    proposals: dict[str, PlacementProposed] = {}
    events: list[Any] = []
    for i in range(draw(st.integers(0, max_size))):
        at = NOW + timedelta(seconds=draw(st.integers(0, 60)), milliseconds=i)  # distinct per event
        kind = draw(st.sampled_from(("propose", "propose", "propose", "report", "release", "heartbeat")))
        if kind == "propose":
            claim_id = draw(st.sampled_from(CLAIM_IDS))
            if claim_id not in proposals:
                proposals[claim_id] = build_proposal(
                    claim_id,
                    host=draw(st.sampled_from(HOSTS)),
                    resources=Resources(draw(st.integers(0, 4)), draw(st.integers(0, 8)) * 512, draw(st.integers(0, 40))),
                    scheduler=draw(st.sampled_from(SCHEDULERS)),
                    at=at,
                )
            events.append(proposals[claim_id])
        elif kind == "report":
            events.append(
                build_capacity_report(
                    draw(st.sampled_from(HOSTS)),
                    reported_at=at,
                    vcpus=draw(st.sampled_from((0, 2, 4, 4, 8))),
                    memory_mb=draw(st.sampled_from((0, 4096, 8192, 8192, 16384))),
                    disk_gb=draw(st.sampled_from((0, 40, 80, 80, 160))),
                    cpu_allocation_ratio=draw(st.sampled_from(RATIOS)),
                    ram_allocation_ratio=draw(st.sampled_from(RATIOS)),
                    disk_allocation_ratio=draw(st.sampled_from(RATIOS)),
                    reserved_vcpus=draw(st.integers(0, 1)),
                    reserved_memory_mb=draw(st.sampled_from((0, 512))),
                    reserved_disk_gb=draw(st.sampled_from((0, 5))),
                    envelope=build_envelope(HostCapacityReported, event_id=f"capacity-{i}", occurred_at=at),
                )
            )
        elif kind == "release":
            claim_id = draw(st.sampled_from(CLAIM_IDS))
            host = proposals[claim_id].host if claim_id in proposals else draw(st.sampled_from(HOSTS))
            events.append(build_claim_released(claim_id, host, at=at))
        else:
            events.append(build_heartbeat(draw(st.sampled_from(HOSTS)), at=at, interval_s=draw(st.sampled_from((5.0, 10.0)))))
    return events


def fold(events: list[Any], states: dict[str, HostState] | None = None) -> tuple[dict[str, HostState], list[Outbound]]:
    """Each host's row after the events, routed by host as the host.events partitions are."""
    states = dict(states or {})
    outs: list[Outbound] = []
    for event in events:
        states[event.host], out = handle(states.get(event.host), event)
        outs += out
    return states, outs


def _bound(state: HostState) -> Resources:
    """What the claims on a host may add up to: total x ratio - reserved."""
    return Resources(
        state.vcpus * state.cpu_allocation_ratio - state.reserved_vcpus,
        state.memory_mb * state.ram_allocation_ratio - state.reserved_memory_mb,
        state.disk_gb * state.disk_allocation_ratio - state.reserved_disk_gb,
    )


@settings(max_examples=300, deadline=None)
@given(host_histories())
def test_no_host_is_overcommitted_by_any_interleaving(events) -> None:
    """At the moment a claim is accepted, the host's claims fit its capacity as last reported.

    (A later report may shrink a host below its claims; claims already
    accepted stay, and no new one is accepted until there is room again.)
    """
    states: dict[str, HostState] = {}
    for event in events:
        before = states.get(event.host)
        after, out = handle(before, event)
        states[event.host] = after
        before_ids = {c.claim_id for c in (before.claims if before else [])}
        new = [c for c in after.claims if c.claim_id not in before_ids]
        if new:
            assert isinstance(event, PlacementProposed) and new == [claim_of(event)]
            used, bound = used_by_claims(after), _bound(after)
            assert (used.vcpus <= bound.vcpus, used.memory_mb <= bound.memory_mb, used.disk_gb <= bound.disk_gb) == (True, True, True), (used, bound)
            # and no single claim is larger than the physical host
            assert (event.resources.vcpus <= after.vcpus, event.resources.memory_mb <= after.memory_mb, event.resources.disk_gb <= after.disk_gb) == (True, True, True)
        # claims are unique, and every acceptance announced is exactly what the host counts
        assert len({c.claim_id for c in after.claims}) == len(after.claims)
        for announced in [o.record for o in out if isinstance(o.record, ClaimAccepted)]:
            assert [c for c in after.claims if c.claim_id == announced.claim_id] == [
                Claim(
                    announced.claim_id, announced.instance_id, announced.resources.vcpus, announced.resources.memory_mb,
                    announced.resources.disk_gb, announced.spec.flavor.id, announced.spec.project_id,
                )
            ]


def test_the_interleavings_include_hosts_holding_several_claims() -> None:
    """The property above is not vacuous: histories that pack a host with three claims exist."""
    packed = find(host_histories(), lambda events: any(len(s.claims) >= 3 for s in fold(events)[0].values()))

    assert max(len(s.claims) for s in fold(packed)[0].values()) >= 3


@settings(max_examples=200, deadline=None)
@given(host_histories(), st.data())
def test_replay_is_deterministic(events, data) -> None:
    k = data.draw(st.integers(0, len(events)))
    whole, whole_out = fold(events)
    prefix, prefix_out = fold(events[:k])
    rest, rest_out = fold(events[k:], prefix)

    assert rest == whole
    assert timeless(prefix_out + rest_out) == timeless(whole_out)
    assert fold(events)[0] == whole


@settings(max_examples=200, deadline=None)
@given(host_histories())
def test_reapplying_any_event_already_applied_changes_nothing(events) -> None:
    states: dict[str, HostState] = {}
    for i, event in enumerate(events):
        states[event.host] = apply(states.get(event.host), event)
        for earlier in events[: i + 1]:
            assert apply(states[earlier.host], earlier) == states[earlier.host], earlier
