"""Project quotas: a pure fold over quota.events, one writer per project, so no race can pass a limit.

Like a host's claims, a project's quota is decided in log order by the one
processor that owns the project's partition: 50 concurrent creates against
a limit of 10 instances give exactly 10. Usage is counted from the creates
it accepted (Nova counts an ERROR instance too, until deleted) and given
back when an instance is gone, as running totals: the release says what the
instance counted, so the row does not grow with the project (it is encoded
and published at every decision; at 3,000 servers a row that listed every
instance was 150 KB and 3.4 ms to encode).

Nova's rule for a create of min..max servers: as many as fit, if at least
min; otherwise none, with "Quota exceeded for instances: Requested 1, but
already used 10 of 10 instances" (403).
"""

from __future__ import annotations

from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.quotas import ENFORCED, UNLIMITED, counted, group_members, limits_of, usage_of
from novalog.events.state import QuotaState
from novalog.events.tenant import keypair_key, server_group_key
from novalog.events.types.instance import InstanceBuildRequested
from novalog.events.types.quota import (
    KeypairRequested,
    QuotaEvent,
    QuotaUpdated,
    QuotaUsageReleased,
    ServerGroupRequested,
    ServersRequested,
    TenantQuotaReleased,
)
from novalog.events.types.tenant import KeypairCreated, ServerGroupCreated

PRODUCER = "novalog-projections"
# Decisions kept per project, so a redelivered create is recognised; far more than are ever in flight.
DECISIONS_KEEP = 512
# Releases kept per project, so a release appended twice (its writer redelivered) is given back once.
RELEASED_KEEP = 512

def decide(state: QuotaState | None, request: ServersRequested) -> tuple[int, str]:
    """How many of the request's servers fit (0 with Nova's message when fewer than min_count do)."""
    wanted = len(request.builds)
    if wanted == 0:
        return 0, ""
    flavor = request.builds[0].flavor
    per = counted(flavor)
    limits, used = limits_of(state, request.default_limits), usage_of(state)
    fits = wanted
    overs = []
    for resource in ENFORCED:
        limit = limits[resource]
        if limit == UNLIMITED or per[resource] == 0:
            continue
        room = max(0, (limit - used[resource]) // per[resource])
        if room < request.min_count:
            overs.append(resource)
        fits = min(fits, room)
    group = request.builds[0].instance_group
    if group is not None and (limit := limits["server_group_members"]) != UNLIMITED:
        room = max(0, limit - group_members(state, group.id))
        if room < request.min_count:
            return 0, "Quota exceeded, too many servers in group"
        fits = min(fits, room)
    if fits >= request.min_count:
        return fits, ""
    first = overs[0]
    message = (
        f"Quota exceeded for {', '.join(sorted(overs))}: Requested {per[first] * request.min_count}, "
        f"but already used {used[first]} of {limits[first]} {first}"
    )
    return 0, message


def _accepted_builds(request: ServersRequested, count: int) -> list[InstanceBuildRequested]:
    """The first `count` instances of the request (in its order of ids), told they are the whole request now."""
    ids = [b.instance_id for b in request.builds]
    order = request.builds[0].instance_ids or ids
    kept = set(order[:count])
    builds = [b for b in request.builds if b.instance_id in kept]
    together = [i for i in order if i in kept]
    return [replace(b, instance_ids=together if len(together) > 1 else [], min_count=min(b.min_count, len(together))) for b in builds]


def _remember(state: QuotaState, reservation_id: str, message: str, accepted: list[str]) -> QuotaState:
    decisions = {**state.decisions, reservation_id: message}
    kept = {**state.accepted, reservation_id: accepted}
    while len(decisions) > DECISIONS_KEEP:
        oldest = next(iter(decisions))
        decisions.pop(oldest)
        kept.pop(oldest, None)
    return replace(state, decisions=decisions, accepted=kept)


def handle(state: QuotaState | None, event: QuotaEvent, offset: int) -> tuple[QuotaState, list[Outbound]]:
    """The declared fold (projections/registry.py): `fold`, the row stamped with the event's log offset."""
    new, outs = fold(state, event)
    return replace(new, offset=offset), outs


def fold(state: QuotaState | None, event: QuotaEvent) -> tuple[QuotaState, list[Outbound]]:
    """Fold one quota event; return the project's new row and the builds it lets through."""
    current = state or QuotaState(project_id=event.project_id)
    match event:
        case ServersRequested():
            if event.reservation_id in current.decisions:
                # Redelivered: the same builds again (their derived ids make them duplicates).
                builds = [b for b in event.builds if b.instance_id in current.accepted.get(event.reservation_id, [])]
                return current, [Outbound.event(b.instance_id, b) for b in _accepted_builds(event, len(builds))] if builds else []
            count, message = decide(current, event)
            builds = _accepted_builds(event, count)
            decided = _remember(_count(current, builds), event.reservation_id, message, [b.instance_id for b in builds])
            return decided, [Outbound.event(b.instance_id, b) for b in builds]
        case KeypairRequested() | ServerGroupRequested():
            return _tenant_request(current, event)
        case TenantQuotaReleased():
            return replace(current, tenant={k: v for k, v in current.tenant.items() if k != event.key}), []
        case QuotaUpdated():
            base = {} if event.reset else dict(current.limits)
            return replace(current, limits={**base, **event.limits}), []
        case QuotaUsageReleased():
            return _release(current, event), []


def _count(state: QuotaState, builds: list[InstanceBuildRequested]) -> QuotaState:
    """The builds let through now count: added to the running totals, and to their server group's members."""
    if not builds:
        return state
    used = dict(state.used)
    for b in builds:
        for resource, amount in counted(b.flavor).items():
            used[resource] = used.get(resource, 0) + amount
    members = dict(state.group_members)
    for b in builds:
        if b.instance_group is not None:
            members[b.instance_group.id] = members.get(b.instance_group.id, 0) + 1
    return replace(state, used=used, group_members=members)


def _release(state: QuotaState, event: QuotaUsageReleased) -> QuotaState:
    """Give back what the instance counted, once.

    An instance an older row counted one by one is taken out of that map.
    Otherwise the release says what to give back; one written before it did
    gives back the instance alone (its cores and RAM stay counted: too much
    counted, never too little). Totals never go below zero, whatever a log
    that bypassed the quota (a synthetic one) releases.
    """
    iid = event.instance_id
    released = [*state.released, iid][-RELEASED_KEEP:]
    if iid in state.instances:
        return replace(state, instances={k: v for k, v in state.instances.items() if k != iid},
                       groups={k: v for k, v in state.groups.items() if k != iid}, released=released)
    if iid in state.released:
        return state
    used = dict(state.used)
    used["instances"] = max(0, used.get("instances", 0) - 1)
    if event.vcpus >= 0:
        used["cores"] = max(0, used.get("cores", 0) - event.vcpus)
    if event.ram >= 0:
        used["ram"] = max(0, used.get("ram", 0) - event.ram)
    members = state.group_members
    if event.server_group is not None and event.server_group in members:
        members = {**members, event.server_group: members[event.server_group] - 1}
        if members[event.server_group] <= 0:
            del members[event.server_group]
    return replace(state, used=used, group_members=members, released=released)


def _tenant_request(state: QuotaState, event: KeypairRequested | ServerGroupRequested) -> tuple[QuotaState, list[Outbound]]:
    """Let a key pair or server group through if its resource has room (Nova's 403 otherwise); emit its create."""
    created: KeypairCreated | ServerGroupCreated
    if isinstance(event, KeypairRequested):
        resource, created = "key_pairs", replace(event.keypair, quota_project=event.project_id)
        key, message = keypair_key(created.user_id, created.name), "Quota exceeded, too many key pairs."
    else:
        resource, created = "server_groups", replace(event.group, counted=True)
        key, message = server_group_key(created.group_id), "Quota exceeded, too many server groups."
    decision_id = event.envelope.event_id
    if decision_id in state.decisions:  # redelivered: the same create again, if it was let through
        return state, [] if state.decisions[decision_id] else [Outbound.event(key, created)]
    if key in state.tenant:
        return _remember(state, decision_id, "", []), [Outbound.event(key, created)]  # the tenant table refuses the duplicate
    limit = limits_of(state, event.default_limits).get(resource, UNLIMITED)
    used = sum(1 for r in state.tenant.values() if r == resource)
    if limit != UNLIMITED and used >= limit:
        return _remember(state, decision_id, message, []), []
    counted = replace(state, tenant={**state.tenant, key: resource})
    return _remember(counted, decision_id, "", []), [Outbound.event(key, created)]


def newly_decided(old: QuotaState | None, new: QuotaState) -> dict[str, tuple[str, list[str]]]:
    """The decisions `new` holds that `old` did not: decision id -> (message, accepted instance ids)."""
    before = old.decisions if old is not None else {}
    return {d: (m, new.accepted.get(d, [])) for d, m in new.decisions.items() if d not in before}


def apply(state: QuotaState | None, event: QuotaEvent) -> QuotaState:
    return fold(state, event)[0]
