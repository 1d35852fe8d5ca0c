"""The log judged: invariants checked on the facts themselves, independently of the folds that made them.

`check` reads every record of every topic (decoded or not) and reports each
violation with the records that show it:

- capacity: no claim accepted on a host beyond total x ratio - reserved;
- released-twice: no claim given back by two different events;
- held-by-gone: no claim still held by a deleted instance, or by one the log never built;
- placed-twice: no instance holding claims on two hosts outside a move;
- unfinished: every accepted request reaches a terminal state (or is younger than the grace);
- quota: no project's instances, cores or RAM above its limit at any point;
- undecodable: every record decodes, or sits in its topic's dead-letter topic with a reason.

Claims are counted from the decisions (ClaimAccepted on instance.events,
ClaimReleased on host.events) in the order the host's single writer saw
them (its host.events partition), not from the host table, so a planted
decision or a bug in the fold shows. Quota use is counted likewise from the
builds each ServersRequested let through, in quota.events order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from novalog.events import topics
from novalog.events.capacity import shortfall
from novalog.events.quotas import ENFORCED, limits_of
from novalog.events.records import Resources
from novalog.events.state import HostState, QuotaState
from novalog.events.types.host import HostCapacityReported
from novalog.events.types.instance import InstanceBuildRequested
from novalog.events.types.placement import ClaimAccepted, ClaimReleased, PlacementProposed
from novalog.events.types.quota import QuotaUpdated, QuotaUsageReleased, ServersRequested
from novalog.projections import host_state, moves
from novalog.projections.registry import BY_TABLE, PROJECTIONS

TERMINAL_VM_STATES = frozenset({"active", "stopped", "paused", "suspended", "error", "deleted", "resized"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of the log as read: where it is, and what it holds (record None: it did not decode, `error` says why)."""

    topic: str  # logical name (without the prefix)
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    record: Any = None
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def show(self) -> str:
        what = type(self.record).__name__ if self.record is not None else f"undecodable ({self.error})"
        return f"{self.position} {what}"

    @property
    def occurred_at(self) -> datetime:
        return self.record.envelope.occurred_at if self.record is not None and hasattr(self.record, "envelope") else self.timestamp


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    message: str
    evidence: tuple[str, ...] = ()


@dataclass
class _Host:
    capacity: HostState | None = None
    held: dict[str, tuple[ClaimAccepted, Entry]] = field(default_factory=dict)

    def used(self) -> Resources:
        claims = [a.resources for a, _ in self.held.values()]
        return Resources(sum(r.vcpus for r in claims), sum(r.memory_mb for r in claims), sum(r.disk_gb for r in claims))


def _merge(ordered: list[Entry], extras: list[Entry]) -> list[Entry]:
    """`ordered` kept in its log order, each extra record put before the first one that happened after it (after its equals)."""
    out: list[Entry] = []
    pending = sorted(extras, key=lambda e: e.occurred_at)
    for e in ordered:
        while pending and pending[0].occurred_at < e.occurred_at:
            out.append(pending.pop(0))
        out.append(e)
    return out + pending


def _by_partition(entries: Iterable[Entry], topic: str) -> list[Entry]:
    return sorted((e for e in entries if e.topic == topic), key=lambda e: (e.partition, e.offset))


R = TypeVar("R")  # the record kept with its entry


def _first(items: Iterable[tuple[str, tuple[R, Entry]]]) -> dict[str, tuple[R, Entry]]:
    """The first record of each id (a redelivered duplicate is the same fact)."""
    out: dict[str, tuple[R, Entry]] = {}
    for ident, pair in items:
        out.setdefault(ident, pair)
    return out


def check(entries: list[Entry], *, prefix: str, quota_defaults: Mapping[str, int], grace: timedelta, end: datetime) -> list[Violation]:
    """Every violation of the invariants in the log, with the records that show it."""
    # A record its topic's fold refuses (one of another topic's types) is no fact of the system: the
    # worker dead-letters it, and _undecodable judges that; counted here, it would be a claim nobody holds.
    accepts = _accepts()
    good = [e for e in entries if e.record is not None and (e.topic not in accepts or isinstance(e.record, accepts[e.topic]))]
    instances = _instances(good)
    violations: list[Violation] = []
    violations += _claims(good, instances.rows, grace, end)
    violations += _unfinished(good, instances, grace, end)
    violations += _quota(good, quota_defaults)
    violations += _undecodable(entries, prefix)
    return violations


def _accepts() -> dict[str, tuple[type, ...]]:
    """The record types each event topic's fold takes (agent commands and dead letters have no fold)."""
    return {source: p.accepts for p in PROJECTIONS for source in p.sources}


# --- claims ----------------------------------------------------------------


def _claims(entries: list[Entry], rows: Mapping[bytes, Any], grace: timedelta, end: datetime) -> list[Violation]:
    accepted = _first((e.record.claim_id, (e.record, e)) for e in _by_partition(entries, topics.INSTANCE_EVENTS)
                      if isinstance(e.record, ClaimAccepted))
    proposed = {e.record.claim_id for e in entries if isinstance(e.record, PlacementProposed)}
    # A decision no proposal asked for is counted at its own time among the host's records.
    sequence: dict[str, list[Entry]] = defaultdict(list)
    for e in _by_partition(entries, topics.HOST_EVENTS):
        sequence[e.record.host].append(e)
    orphans: dict[str, list[Entry]] = defaultdict(list)
    for claim_id, (decision, e) in accepted.items():
        if claim_id not in proposed:
            orphans[decision.host].append(e)
    hosts: dict[str, _Host] = defaultdict(_Host)
    releases: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    violations: list[Violation] = []
    for name in sorted(set(sequence) | set(orphans)):
        for e in _merge(sequence[name], orphans[name]):
            violations += _host_step(hosts[name], name, e, accepted, releases)
    for (name, claim_id), seen in releases.items():
        ids = {e.record.envelope.event_id for e in seen}
        if len(ids) > 1:
            violations.append(Violation("released-twice", f"claim {claim_id} on {name} was given back by {len(ids)} different events",
                                        tuple(e.show() for e in seen)))
    violations += _held_at_end(rows, hosts, grace, end)
    return violations


def _host_step(host: _Host, name: str, e: Entry, accepted: Mapping[str, tuple[ClaimAccepted, Entry]],
               releases: dict[tuple[str, str], list[Entry]]) -> list[Violation]:
    record = e.record
    decision: tuple[ClaimAccepted, Entry] | None = None
    match record:
        case HostCapacityReported():
            host.capacity = host_state.fold(host.capacity, record)[0]
        case PlacementProposed() if (name, record.claim_id) in releases:
            pass  # redelivered after its claim was given back: the single writer decides nothing (decide_claim)
        case PlacementProposed() if record.claim_id in accepted and record.claim_id not in host.held:
            decision = accepted[record.claim_id]
            if decision[0].host != name:
                return [Violation("capacity", f"claim {record.claim_id} proposed on {name} was accepted on {decision[0].host}",
                                  (e.show(), decision[1].show()))]
        case ClaimAccepted() if record.claim_id not in host.held:
            decision = (record, e)
        case ClaimReleased():
            releases[(name, record.claim_id)].append(e)
            host.held.pop(record.claim_id, None)
    if decision is None:
        return []
    claim, where = decision
    out = []
    reason = "the host had reported no capacity" if host.capacity is None else shortfall(
        replace(host.capacity, claims=[]), host.used(), claim.resources)
    if reason is not None:
        evidence = [where.show()] + [f"{w.show()} (held: {a.claim_id})" for a, w in host.held.values()]
        out.append(Violation("capacity", f"{name} over capacity when claim {claim.claim_id} was accepted: {reason}", tuple(evidence)))
    host.held[claim.claim_id] = decision
    return out


def _held_at_end(rows: Mapping[bytes, Any], hosts: Mapping[str, _Host], grace: timedelta, end: datetime) -> list[Violation]:
    """Claims the log still holds that nobody should: a gone instance's, or a second host's outside a move.

    A claim to be given back is in flight while its cause is younger than the grace: a host's agent reports
    the deletion and the release as two records (on two topics), and the instance table gives back a claim it
    will not use (a second placement) only after it was accepted.
    """
    out = []
    by_instance: dict[str, list[tuple[str, ClaimAccepted, Entry]]] = defaultdict(list)
    for name, host in hosts.items():
        for claim, where in host.held.values():
            by_instance[claim.instance_id].append((name, claim, where))
    for instance_id, held in by_instance.items():
        row = rows.get(instance_id.encode())
        evidence = tuple(w.show() for _, _, w in held)
        newest = max(w.occurred_at for _, _, w in held)
        if row is None:
            out.append(Violation("held-by-gone", f"claims of {instance_id}, an instance the log never built, are still held on "
                                 f"{', '.join(sorted({h for h, _, _ in held}))}", evidence))
        elif row.vm_state == "deleted":
            if end - max(row.updated_at, newest) < grace:
                continue
            out.append(Violation("held-by-gone", f"deleted instance {instance_id} still holds claims on {', '.join(sorted({h for h, _, _ in held}))}",
                                 evidence))
        elif _elsewhere({h for h, _, _ in held}, row):
            if end - newest < grace:
                continue
            out.append(Violation("placed-twice", f"{instance_id} holds claims on {', '.join(sorted({h for h, _, _ in held}))} outside a move",
                                 evidence))
    return out


def _elsewhere(hosts: set[str], row: Any) -> bool:
    """Claims held on a host the instance is not on, outside an open move (an evacuated, still-down source keeps
    its claim until it comes back and cleans up)."""
    extra = hosts - {row.host}
    if not extra or moves.is_open(row):
        return False
    m = row.migration
    return not (m is not None and m.migration_type == "evacuation" and extra <= {m.source_host})


@dataclass
class _Instances:
    """The instance table at the end of the log (folded with the declared projection), and when each
    instance's vm_state or task_state last changed (a power reading that changes neither is no progress)."""

    rows: dict[bytes, Any]
    changed: dict[bytes, datetime]


def _instances(entries: list[Entry]) -> _Instances:
    changed: dict[bytes, datetime] = {}

    def note(e: Entry, old: Any, new: Any) -> None:
        if old is None or (old.vm_state, old.task_state) != (new.vm_state, new.task_state):
            changed[e.key or b""] = e.occurred_at

    return _Instances(_fold("instances", _by_partition(entries, topics.INSTANCE_EVENTS), note), changed)


def _fold(table: str, entries: list[Entry], on_change: Callable[[Entry, Any, Any], None] | None = None) -> dict[bytes, Any]:
    projection = BY_TABLE[table]
    rows: dict[bytes, Any] = {}
    for e in entries:
        key = e.key or b""
        old = rows.get(key)
        try:
            new, _ = projection.step(old, e.record, e.offset)
        except Exception:  # dead-lettered by the worker; judged by _undecodable
            continue
        if new is not None:
            rows[key] = new
            if on_change is not None:
                on_change(e, old, new)
    return rows


# --- requests ----------------------------------------------------------------


def _unfinished(entries: list[Entry], instances: _Instances, grace: timedelta, end: datetime) -> list[Violation]:
    rows, changed = instances.rows, instances.changed
    builds = _first((e.record.instance_id, (e.record, e)) for e in entries if isinstance(e.record, InstanceBuildRequested))
    out = []
    for instance_id, (build, where) in builds.items():
        row = rows.get(instance_id.encode())
        if row is None or (row.vm_state in TERMINAL_VM_STATES and row.task_state is None):
            continue  # settled
        since = changed.get(instance_id.encode(), build.envelope.occurred_at)
        if end - since < grace:
            continue  # still in flight
        out.append(Violation("unfinished", f"{instance_id} asked for at {build.envelope.occurred_at.isoformat()} is still "
                             f"{row.vm_state}/{row.task_state} (since {since.isoformat()})", (where.show(),)))
    decisions = _quota_rows(entries)
    for e in entries:
        request = e.record
        if not isinstance(request, ServersRequested) or end - e.occurred_at < grace:
            continue
        row = decisions.get(request.project_id.encode())
        refused = row is not None and bool(row.decisions.get(request.reservation_id))
        if not refused and not any(b.instance_id in builds for b in request.builds):
            out.append(Violation("unfinished", f"request {request.reservation_id} of project {request.project_id} "
                                 "was neither refused nor built", (e.show(),)))
    return out


def _quota_rows(entries: list[Entry]) -> dict[bytes, Any]:
    return _fold("quotas", _by_partition(entries, topics.QUOTA_EVENTS))


# --- quotas --------------------------------------------------------------------


def _quota(entries: list[Entry], defaults: Mapping[str, int]) -> list[Violation]:
    builds_of: dict[str, list[tuple[InstanceBuildRequested, Entry]]] = defaultdict(list)
    for instance_id, (build, e) in _first((e.record.instance_id, (e.record, e)) for e in entries
                                          if isinstance(e.record, InstanceBuildRequested)).items():
        builds_of[build.reservation_id or instance_id].append((build, e))
    requested = {e.record.reservation_id for e in entries if isinstance(e.record, ServersRequested)}
    sequence: dict[str, list[Entry]] = defaultdict(list)
    for e in _by_partition(entries, topics.QUOTA_EVENTS):
        if hasattr(e.record, "project_id"):
            sequence[e.record.project_id].append(e)
    orphans: dict[str, list[Entry]] = defaultdict(list)
    for reservation, builds in builds_of.items():
        if reservation not in requested:  # a build no quota decision let through
            for build, e in builds:
                orphans[build.project_id].append(e)
    out = []
    for project in sorted(set(sequence) | set(orphans)):
        limits = QuotaState(project_id=project)
        used: dict[str, tuple[int, int, Entry]] = {}
        for e in _merge(sequence[project], orphans[project]):
            match e.record:
                case QuotaUpdated():
                    limits = replace(limits, limits={**({} if e.record.reset else limits.limits), **e.record.limits})
                case QuotaUsageReleased():
                    used.pop(e.record.instance_id, None)
                case ServersRequested():
                    for build, where in builds_of.get(e.record.reservation_id, []):
                        out += _count(project, used, build, where, limits_of(limits, dict(defaults)))
                case InstanceBuildRequested():
                    out += _count(project, used, e.record, e, limits_of(limits, dict(defaults)))
    return out


def _count(project: str, used: dict[str, tuple[int, int, Entry]], build: InstanceBuildRequested, where: Entry,
           limits: Mapping[str, int]) -> list[Violation]:
    if build.instance_id in used:
        return []
    used[build.instance_id] = (build.flavor.vcpus, build.flavor.ram, where)
    usage = {"instances": len(used), "cores": sum(v for v, _, _ in used.values()), "ram": sum(r for _, r, _ in used.values())}
    over = [f"{r} {usage[r]} > {limits[r]}" for r in ENFORCED if limits.get(r, -1) >= 0 and usage[r] > limits[r]]
    if not over:
        return []
    return [Violation("quota", f"project {project} over its quota when {build.instance_id} was let through: {', '.join(over)}",
                      (where.show(),))]


# --- records -------------------------------------------------------------------


def _undecodable(entries: list[Entry], prefix: str) -> list[Violation]:
    """Records that do not decode, or that decode to a type their topic's fold refuses, must be dead-lettered with a reason."""
    lettered = {
        (e.headers.get("dlq.original.topic", "").removeprefix(f"{prefix}."), e.headers.get("dlq.original.partition"),
         e.headers.get("dlq.original.offset"))
        for e in entries if e.topic.endswith(".dlq") and e.headers.get("dlq.error.message")
    }
    accepts = _accepts()
    out = []
    for e in entries:
        if e.topic.endswith(".dlq") or e.value is None:
            continue
        if e.record is not None and (e.topic not in accepts or isinstance(e.record, accepts[e.topic])):
            continue
        if (e.topic, str(e.partition), str(e.offset)) not in lettered:
            why = e.error or f"{type(e.record).__name__} does not belong on {e.topic}"
            out.append(Violation("undecodable", f"{e.position}: {why}; it is not in {e.topic}.dlq", (e.show(),)))
    return out
