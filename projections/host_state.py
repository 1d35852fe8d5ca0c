"""The host-state table: a pure fold over host.events and host.heartbeats.

The host-state processor is the single writer of each host's claims: a
PlacementProposed is decided here (decide_claim) against the host's room, and
the decision is folded in at once, so proposals for one host are judged one
after another in log order and no host is ever overcommitted.
"""

from __future__ import annotations

from typing import assert_never

from novalog.events.capacity import shortfall, used_by_claims
from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.records import Claim
from novalog.events.state import HostState
from novalog.events.types.host import HostCapacityReported, HostEvent, HostHeartbeatReported, HostServiceUpdated
from novalog.events.types.placement import ClaimAccepted, ClaimRejected, ClaimReleased, PlacementProposed

# What the table folds: the host family, and the proposals and releases that travel keyed by host.
Folded = HostEvent | PlacementProposed | ClaimReleased

PRODUCER = "novalog-projections"
# Settled claim ids kept per host, so a redelivered proposal or release is
# recognised; far more than can be in flight for one host at once.
SETTLED_KEEP = 512


def decide_claim(state: HostState, proposal: PlacementProposed) -> ClaimAccepted | ClaimRejected | None:
    """Accept the proposal if the host still has room for it, else reject it.

    A proposal already decided gets the same answer again (redelivery); one
    whose claim was since released gets none.
    """
    if proposal.claim_id in state.released:
        return None
    already = any(c.claim_id == proposal.claim_id for c in state.claims)
    reason = None
    if not already:
        if proposal.claim_id in state.rejected:
            reason = state.rejected[proposal.claim_id]
        elif state.capacity_reported_at is None:
            reason = "the host has not reported its capacity"
        elif state.disabled:
            reason = "the host's compute service is disabled"
        elif state.forced_down:
            reason = "the host's compute service is forced down"
        else:
            reason = shortfall(state, used_by_claims(state), proposal.resources)
    if reason is None:
        return ClaimAccepted(
            envelope=proposal.envelope.caused(ClaimAccepted, PRODUCER, occurred_at=proposal.envelope.occurred_at),
            claim_id=proposal.claim_id,
            instance_id=proposal.instance_id,
            host=proposal.host,
            resources=proposal.resources,
            spec=proposal.spec,
        )
    return ClaimRejected(
        envelope=proposal.envelope.caused(ClaimRejected, PRODUCER, occurred_at=proposal.envelope.occurred_at),
        claim_id=proposal.claim_id,
        instance_id=proposal.instance_id,
        host=proposal.host,
        reason=reason,
        spec=proposal.spec,
    )


def _remember(ids: list[str], claim_id: str) -> list[str]:
    if claim_id in ids:
        return ids
    return [*ids, claim_id][-SETTLED_KEEP:]


def _fold_decision(state: HostState, decision: ClaimAccepted | ClaimRejected | None) -> HostState:
    match decision:
        case None:
            return state
        case ClaimAccepted() if any(c.claim_id == decision.claim_id for c in state.claims):
            return state
        case ClaimAccepted():
            res = decision.resources
            spec = decision.spec
            claim = Claim(decision.claim_id, decision.instance_id, res.vcpus, res.memory_mb, res.disk_gb, spec.flavor.id, spec.project_id)
            return replace(state, claims=[*state.claims, claim])
        case ClaimRejected() if decision.claim_id in state.rejected:
            return state
        case ClaimRejected():
            rejected = {**state.rejected, decision.claim_id: decision.reason}
            return replace(state, rejected=dict(list(rejected.items())[-SETTLED_KEEP:]))
        case _:
            assert_never(decision)


def _fold_capacity(state: HostState, report: HostCapacityReported) -> HostState:
    reported_at = report.reported_at or report.envelope.occurred_at
    if state.capacity_reported_at is not None and reported_at < state.capacity_reported_at:
        return state  # a stale report never overwrites a newer one (Nova's guard)
    return replace(
        state,
        hypervisor_type=report.hypervisor_type,
        hypervisor_version=report.hypervisor_version,
        hypervisor_hostname=report.hypervisor_hostname,
        cpu_info=report.cpu_info,
        vcpus=report.vcpus,
        memory_mb=report.memory_mb,
        disk_gb=report.disk_gb,
        cpu_allocation_ratio=report.cpu_allocation_ratio,
        ram_allocation_ratio=report.ram_allocation_ratio,
        disk_allocation_ratio=report.disk_allocation_ratio,
        reserved_vcpus=report.reserved_vcpus,
        reserved_memory_mb=report.reserved_memory_mb,
        reserved_disk_gb=report.reserved_disk_gb,
        running_vms=report.running_vms,
        vcpus_in_use=report.vcpus_in_use,
        memory_mb_in_use=report.memory_mb_in_use,
        capacity_reported_at=reported_at,
        supported_instances=report.supported_instances,
        stats=report.stats,
        trust_level=report.trust_level,
        failed_builds=report.failed_builds,
    )


def handle(state: HostState | None, event: Folded, offset: int) -> tuple[HostState, list[Outbound]]:
    """The declared fold (projections/registry.py): the row carries no log position (two topics feed it)."""
    return fold(state, event)


def fold(state: HostState | None, event: Folded) -> tuple[HostState, list[Outbound]]:
    """Fold one host event; return the new row and what the decision asks to append."""
    state = state or HostState(host=event.host)
    match event:
        case PlacementProposed():
            decision = decide_claim(state, event)
            out = [] if decision is None else [Outbound.event(decision.instance_id, decision)]
            return _fold_decision(state, decision), out
        case ClaimReleased():
            claims = [c for c in state.claims if c.claim_id != event.claim_id]
            return replace(state, claims=claims, released=_remember(state.released, event.claim_id)), []
        case HostCapacityReported():
            return _fold_capacity(state, event), []
        case HostServiceUpdated():
            return replace(state, disabled=event.disabled, disabled_reason=event.disabled_reason, forced_down=event.forced_down), []
        case HostHeartbeatReported():
            beat = event.envelope.occurred_at
            if state.last_heartbeat_at is not None and beat <= state.last_heartbeat_at:
                return state, []
            return replace(state, last_heartbeat_at=beat, heartbeat_interval_s=event.interval_s), []
        case _:
            assert_never(event)


def apply(state: HostState | None, event: Folded) -> HostState:
    """The host's row after the event (decisions included)."""
    return fold(state, event)[0]
