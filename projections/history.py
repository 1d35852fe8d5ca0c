"""One instance's story, read back from the log: every record about it, across topics, in order.

`novalog history SERVER` feeds every record it reads (instance.events,
host.events, quota.events, the agent topics of the hosts involved, the dead
letters) to a `Story`; the story keeps what concerns the instance and
runs the declared folds (projections/registry.py) that explain it:

```
instance.events ─┬─ records of the instance ────────────────────────────▶ steps
host.events ─────┼─ host_state fold, every host: the room before each of its proposals
quota.events ────┼─ quotas fold, every project: the decision on its create
agent.<host> ────┤  instances fold, the instance's key: the actions os-instance-actions shows
<topic>.dlq ─────┘
```

Steps are ordered by their envelope's time, an effect never before its
cause (a decision carries its cause's time; the build a quota decision lets
through was stamped by the API just before the quota request), then by when
the log took them. Pure: no Kafka here, the command reads the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from novalog.events import topics
from novalog.events.capacity import room, used_by_claims
from novalog.events.records import InstanceAction
from novalog.events.state import HostState, InstanceState, QuotaState
from novalog.events.types.instance import InstanceBuildRequested
from novalog.events.types.placement import PlacementProposed
from novalog.events.types.quota import ServersRequested
from novalog.projections.history_details import Room, describe, who_asked
from novalog.projections.registry import BY_TABLE

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Logged:
    """One record as the log holds it: where, its key, when the log took it, and the decoded record (None: undecodable)."""

    topic: str  # the logical topic: instance.events, agent.<host>, host.events.dlq...
    partition: int
    offset: int
    key: str | None
    appended_at: datetime
    record: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def position(self) -> str:
        """As `novalog state --at-offset` takes it."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def dead_letter(self) -> bool:
        return self.topic.endswith(DLQ_SUFFIX)


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the story: when, how long after the previous step, where in the log, who asked, what it says."""

    at: datetime
    since_previous: timedelta | None
    event: str
    topic: str
    partition: int
    offset: int
    producer: str | None
    request_id: str | None
    user_id: str | None
    project_id: str | None
    detail: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


class ServerNotFound(LookupError):
    """No instance has that id, and none was built under that name."""


class AmbiguousServer(LookupError):
    """Several instances were built under that name."""


def concerns(record: Any, instance_id: str) -> bool:
    """Whether a record is about the instance: it names it, or (a create) carries its build."""
    if isinstance(record, ServersRequested):
        return any(b.instance_id == instance_id for b in record.builds)
    return getattr(record, "instance_id", None) == instance_id


def about(logged: Logged, instance_id: str) -> bool:
    """A record of the story: one about the instance, or a dead or undecodable one under its key."""
    if logged.dead_letter or logged.record is None:
        return logged.key == instance_id or concerns(logged.record, instance_id)
    return concerns(logged.record, instance_id)


class Story:
    """What the log says about one server (an id, or a name it was built under), gathered record by record.

    Feed instance.events before the other topics: a name becomes ids from
    its builds there, and the hosts to read the agent topics of (`hosts`)
    are the ones its claims and guests name. Each topic's records must come
    in log order per partition (as the log reader gives them).
    """

    def __init__(self, server: str) -> None:
        self.server = server
        self._ids: dict[str, str | None] = {server: None}  # candidate id -> the name it was built under
        self._kept: list[Logged] = []
        self._instances: dict[str, InstanceState] = {}
        self._hosts: dict[str, HostState] = {}
        self._quotas: dict[str, QuotaState] = {}
        self._facts: dict[str, dict[str, Any]] = {}  # position -> what a fold knew there
        self._rooms: dict[str, Room] = {}  # claim id -> the room the host-state fold judged it against

    def feed(self, logged: Logged) -> None:
        record = logged.record
        if isinstance(record, InstanceBuildRequested) and logged.topic == topics.INSTANCE_EVENTS and record.name == self.server:
            self._ids.setdefault(record.instance_id, record.name)
        if logged.topic == topics.HOST_EVENTS:
            self._fold_host(logged)
        elif logged.topic == topics.QUOTA_EVENTS:
            self._fold_quota(logged)
        mine = next((i for i in self._ids if about(logged, i)), None)
        if mine is None:
            return
        self._kept.append(logged)
        if logged.topic == topics.INSTANCE_EVENTS:
            self._fold_instance(mine, logged)

    def hosts(self) -> list[str]:
        """The hosts the candidate instances were proposed to, ran on or moved between (whose agent topics to read)."""
        named = set()
        for logged in self._kept:
            for attribute in ("host", "source_host", "dest_host"):
                value = getattr(logged.record, attribute, None)
                if isinstance(value, str) and value:
                    named.add(value)
        return sorted(named)

    def instance_id(self) -> str:
        """The id SERVER names: itself if the log knows it as one, else the one instance built under that name."""
        if any(concerns(logged.record, self.server) for logged in self._kept):
            return self.server
        named = sorted(i for i, name in self._ids.items() if name is not None)
        if not named:
            raise ServerNotFound(f"no instance {self.server!r} in the log (neither an id nor the name of a build)")
        if len(named) > 1:
            raise AmbiguousServer(f"{len(named)} instances were built as {self.server!r}: {', '.join(named)}; give an id")
        return named[0]

    def row(self) -> InstanceState | None:
        """The instance's table row after its last event, by the live fold (its actions are what os-instance-actions answers)."""
        return self._instances.get(self.instance_id())

    def steps(self) -> list[Step]:
        """The instance's records in story order, each with its time, the time since the previous one, who asked and what it says."""
        instance_id = self.instance_id()
        mine = _unique([r for r in self._kept if about(r, instance_id)])
        requests = who_asked(r.record for r in mine)
        steps: list[Step] = []
        for logged in ordered(mine):
            envelope = getattr(logged.record, "envelope", None)
            at = logged.appended_at if envelope is None or logged.dead_letter else envelope.occurred_at
            detail, facts = describe(logged, instance_id, self._rooms, self._facts.get(logged.position, {}))
            request_id = None if envelope is None else envelope.request_id
            user, project = requests.get(request_id, (None, None)) if request_id else (None, None)
            steps.append(Step(
                at=at,
                since_previous=None if not steps else at - steps[-1].at,
                event=_event_name(logged),
                topic=logged.topic, partition=logged.partition, offset=logged.offset,
                producer=None if envelope is None else envelope.producer,
                request_id=request_id,
                user_id=getattr(logged.record, "user_id", None) or user,
                project_id=getattr(logged.record, "project_id", None) or project,
                detail=detail,
                facts=facts,
            ))
        return steps

    # --- the folds that explain the story ---

    def _fold_host(self, logged: Logged) -> None:
        record, host = logged.record, logged.key
        if record is None or host is None:
            return
        before = self._hosts.get(host)
        if isinstance(record, PlacementProposed) and any(concerns(record, i) for i in self._ids):
            # The first time the claim is judged: a redelivered proposal meets a row that holds it already.
            self._rooms.setdefault(record.claim_id, room_left(before or HostState(host=host)))
        self._hosts[host] = _step("host_state", before, logged)

    def _fold_quota(self, logged: Logged) -> None:
        record, project = logged.record, logged.key
        if record is None or project is None:
            return
        after = self._quotas[project] = _step("quotas", self._quotas.get(project), logged)
        if isinstance(record, ServersRequested) and after is not None and record.reservation_id in after.decisions:
            self._facts[logged.position] = {
                "quota_message": after.decisions[record.reservation_id],
                "quota_accepted": list(after.accepted.get(record.reservation_id, [])),
            }

    def _fold_instance(self, instance_id: str, logged: Logged) -> None:
        before = self._instances.get(instance_id)
        after = _step("instances", before, logged)
        if after is None:
            return
        self._instances[instance_id] = after
        noted = action_notes(before.actions if before is not None else [], after.actions)
        if noted:
            self._facts[logged.position] = {"actions": noted}


def _step(table: str, row: Any, logged: Logged) -> Any:
    """The row after the record, by the declared fold; a record the live worker would dead-letter leaves it as it was."""
    try:
        new, _ = BY_TABLE[table].step(row, logged.record, logged.offset)
    except Exception:  # noqa: BLE001 - NotOnThisTopic or a fold's failure: the worker dead-letters such a record and goes on
        return row
    return row if new is None else new


def room_left(host: HostState) -> Room:
    """What the host had left to claim (capacity.room: total x ratio - reserved - claimed)."""
    used = used_by_claims(host)
    return Room(
        vcpus=room(host.vcpus, host.cpu_allocation_ratio, host.reserved_vcpus, used.vcpus),
        memory_mb=room(host.memory_mb, host.ram_allocation_ratio, host.reserved_memory_mb, used.memory_mb),
        disk_gb=room(host.disk_gb, host.disk_allocation_ratio, host.reserved_disk_gb, used.disk_gb),
    )


def action_notes(before: list[InstanceAction], after: list[InstanceAction]) -> list[dict[str, Any]]:
    """What an event did to the instance's actions: opened one (with its request) or ended one's step (with the result)."""
    notes: list[dict[str, Any]] = []
    for index, action in enumerate(after):
        old = before[index] if index < len(before) else None
        if old is None:
            notes.append({"opened": action.action, "request_id": action.request_id})
            continue
        ended = [e for e, was in zip(action.events, old.events) if was.finish_time is None and e.finish_time is not None]
        for event in ended:
            notes.append({"ended": action.action, "request_id": action.request_id, "event": event.event, "result": event.result})
    return notes


def _unique(records: list[Logged]) -> list[Logged]:
    """Each event once: a redelivered cause re-emits its effects with the same id (dead letters are facts of their own)."""
    seen: set[str] = set()
    out = []
    for logged in records:
        envelope = getattr(logged.record, "envelope", None)
        if envelope is not None and not logged.dead_letter:
            if envelope.event_id in seen:
                continue
            seen.add(envelope.event_id)
        out.append(logged)
    return out


def ordered(records: list[Logged]) -> list[Logged]:
    """Story order: by time, where an effect's time is at least its cause's; then causes first; then log order.

    A cause is the event whose id an envelope names as its causation id, or
    for a build, the quota request that carried it (the quota writer emits
    the build the API stamped a moment before the request).
    """
    by_id = {}
    for logged in records:
        envelope = getattr(logged.record, "envelope", None)
        if envelope is not None and not logged.dead_letter:
            by_id[envelope.event_id] = logged
    cause_of: dict[str, str] = {}
    for event_id, logged in by_id.items():
        record = logged.record
        if record.envelope.causation_id in by_id:
            cause_of[event_id] = record.envelope.causation_id
        if isinstance(record, ServersRequested):
            for build in record.builds:
                if build.envelope.event_id in by_id and build.envelope.event_id != event_id:
                    cause_of.setdefault(build.envelope.event_id, event_id)
    rank: dict[str, tuple[datetime, int]] = {}

    def rank_of(event_id: str, visiting: frozenset[str] = frozenset()) -> tuple[datetime, int]:
        if event_id not in rank:
            own = by_id[event_id].record.envelope.occurred_at
            cause = cause_of.get(event_id)
            if cause is None or cause in visiting:
                rank[event_id] = (own, 0)
            else:
                at, depth = rank_of(cause, visiting | {event_id})
                rank[event_id] = (max(own, at), depth + 1)
        return rank[event_id]

    def key(logged: Logged) -> tuple[Any, ...]:
        envelope = getattr(logged.record, "envelope", None)
        if envelope is not None and not logged.dead_letter:
            at, depth = rank_of(envelope.event_id)
        else:
            at, depth = logged.appended_at, 0
        return at, depth, logged.appended_at, logged.topic, logged.partition, logged.offset

    return sorted(records, key=key)


def _event_name(logged: Logged) -> str:
    if logged.dead_letter:
        return "DeadLetter"
    return "UndecodableRecord" if logged.record is None else type(logged.record).__name__
