"""A realistic log of a cloud's life, as long as asked, made by driving the real deciders (`novalog bench replay`).

A cloud of hosts and projects lives through N records: projects create
servers through their quota writer, a scheduler proposes hosts, the host
table accepts or refuses each claim, agents spawn, stop, start, reboot, move
and delete guests, hosts report their capacity and heartbeats, admins change
a quota now and then, and a few records nobody can read (dead letters) slip
in. The actors' requests come from projections/synthetic_actors.py; every
record the live system appends in answer to another (a claim decision, the
builds a quota lets through, a usage given back, an order) is the output of
the real fold declared in projections/registry.py, folded in log order as the
worker folds it. So the log is consistent, as a live one is.

```
 users ──requests──▶ waiting ──▶ append ──▶ the declared folds ──outs──▶ waiting
 clock ──reports──────────────▶   │                                    (agent commands: the agent's answers)
                                   └──▶ scheduler stand-in ──proposals, retries──▶ waiting
```

Pure and deterministic: the same arguments give the same records (ids from
a seeded random generator, times from a simulated clock). Only the topics a
replay reads get records: agent commands are answered, not logged.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from novalog.events import topics
from novalog.events.capacity import used_by_claims
from novalog.events.identity import DEFAULT_DOMAIN_ID, project_key
from novalog.events.outbound import Outbound
from novalog.events.quotas import DEFAULT_LIMITS
from novalog.events.records import Resources
from novalog.events.types.catalog import FlavorCreated
from novalog.events.types.host import HostCapacityReported, HostHeartbeatReported
from novalog.events.types.identity import ProjectCreated
from novalog.events.types.instance import InstanceBuildRequested, InstanceMoveRequested
from novalog.events.types.placement import ClaimRejected
from novalog.events.types.quota import QuotaUpdated
from novalog.projections.registry import PROJECTIONS, Projection
from novalog.projections.synthetic_actors import API, FLAVORS, Dice, act_on, answer, create_servers, is_agent_topic, place, retry, spec_of

START = datetime(2026, 12, 1, tzinfo=UTC)
# What a broken producer writes: an unknown body behind a novalog header, and JSON.
GARBAGE = (b"\x00\x00\x00\x00\x07not avro at all", b'{"event": "InstanceSpawned", "not": "avro"}')
TABLE_OF: dict[str, Projection] = {source: p for p in PROJECTIONS for source in p.sources}


@dataclass(frozen=True, slots=True)
class CloudShape:
    """The cloud's size and pace. Defaults: 48 hosts of 32 vCPUs and 64 GiB, 100 projects at Nova's default quotas."""

    hosts: int = 48
    projects: int = 100
    vcpus: int = 32
    memory_mb: int = 65536
    disk_gb: int = 2000
    heartbeat_s: float = 10.0
    capacity_report_s: float = 60.0
    gap_ms: float = 20.0  # mean simulated time between two records
    busy: float = 0.6  # the share of the projects' instance quota the users keep in use
    dead_letter_rate: float = 0.0001
    quota_change_rate: float = 0.0002


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record to append: its logical topic, its key, and a record (bytes: one nobody can decode)."""

    topic: str
    key: str
    value: Any


def synthetic_log(events: int, shape: CloudShape = CloudShape(), seed: int = 0) -> Iterator[LogRecord]:
    """The first `events` records of the cloud's life, in log order: its opening (flavors, projects, hosts), then its days."""
    return Cloud(shape, seed).log(events)


class Cloud:
    """The simulation: the tables as the live worker keeps them, the records waiting to be appended, the clock."""

    def __init__(self, shape: CloudShape, seed: int) -> None:
        self.shape = shape
        self.dice = Dice(random.Random(seed), START)
        self.rows: dict[str, dict[str, Any]] = {p.table: {} for p in PROJECTIONS}
        self.usage: dict[str, Resources] = {}  # each host's claims summed, for the scheduler
        self.offsets: Counter[str] = Counter()
        self.waiting: deque[Outbound] = deque()
        self.live: list[str] = []  # instances not deleted (by position, for a random pick)
        self.position: dict[str, int] = {}
        self.due: list[tuple[datetime, int, str]] = []  # (when, serial, host) of the next reports; even serial: heartbeat
        self.hosts = [f"compute-{i:04d}" for i in range(shape.hosts)]
        self.projects = [f"p{i:04d}" for i in range(shape.projects)]
        self.serial = itertools.count()
        self.dead_letters = 0

    # --- the log ---

    def append(self, out: Outbound) -> LogRecord:
        """Append one record: fold it into its table as the worker does, queue what the fold decided, let the scheduler see it."""
        projection = TABLE_OF.get(out.topic)
        if projection is not None and isinstance(out.record, projection.accepts):
            rows = self.rows[projection.table]
            self.offsets[out.topic] += 1
            new, outs = projection.step(rows.get(out.key), out.record, self.offsets[out.topic])
            if new is not None:
                rows[out.key] = new
                if projection.table == "host_state":
                    self.usage[out.key] = used_by_claims(new)
            self.waiting.extend(outs)
            if projection.table == "instances":
                self._track(out.key)
        self._schedule(out.record)
        return LogRecord(out.topic, out.key, out.record)

    def _track(self, instance_id: str) -> None:
        """Keep the pick list to the instances that live."""
        row = self.rows["instances"].get(instance_id)
        alive = row is not None and row.vm_state != "deleted"
        if alive and instance_id not in self.position:
            self.position[instance_id] = len(self.live)
            self.live.append(instance_id)
        elif not alive and instance_id in self.position:
            at, last = self.position.pop(instance_id), self.live.pop()
            if last != instance_id:
                self.live[at], self.position[last] = last, at

    def _schedule(self, record: Any) -> None:
        """The scheduler's part: a proposal for each build or move, another host after a refused claim."""
        hosts = self.rows["host_state"]
        match record:
            case InstanceBuildRequested():
                self.waiting.append(place(self.dice, hosts, self.usage, spec_of(record), record.envelope))
            case InstanceMoveRequested():
                self.waiting.append(place(self.dice, hosts, self.usage, record.spec, record.envelope))
            case ClaimRejected() if record.instance_id in self.position:
                self.waiting.append(retry(self.dice, hosts, self.usage, record))

    # --- the cloud's life ---

    def log(self, events: int) -> Iterator[LogRecord]:
        return itertools.islice(itertools.chain(self.opening(), self.days()), events)

    def opening(self) -> Iterator[LogRecord]:
        for flavor in FLAVORS:
            yield self.append(Outbound(topics.CATALOG_EVENTS, f"flavor:{flavor.id}", FlavorCreated(self.dice.envelope(FlavorCreated, API), flavor)))
        for project in self.projects:
            created = ProjectCreated(self.dice.envelope(ProjectCreated, API), project, f"project-{project}", DEFAULT_DOMAIN_ID)
            yield self.append(Outbound(topics.IDENTITY_EVENTS, project_key(DEFAULT_DOMAIN_ID, created.name), created))
        for index, host in enumerate(self.hosts):
            yield self.append(Outbound.event(host, self._capacity(host)))
            yield self.append(Outbound.event(host, self._heartbeat(host)))
            # Staggered, as agents started at different moments.
            offset = timedelta(seconds=self.shape.heartbeat_s * index / len(self.hosts))
            heapq.heappush(self.due, (START + offset, 2 * next(self.serial), host))
            heapq.heappush(self.due, (START + offset * 6, 2 * next(self.serial) + 1, host))

    def days(self) -> Iterator[LogRecord]:
        while True:
            out = self._next()
            if out is not None:
                yield self.append(out)

    def _next(self) -> Outbound | None:
        """The next record: a report that is due, a dead letter now and then, what waits, or a user's request."""
        dice = self.dice
        dice.now += timedelta(milliseconds=max(1, round(dice.rng.expovariate(1 / self.shape.gap_ms))))
        if self.due and self.due[0][0] <= dice.now:
            return self._report()
        if dice.chance(self.shape.dead_letter_rate):
            return self._garbage()
        if dice.chance(self.shape.quota_change_rate):
            limits = {"instances": 20, "cores": 40, "ram": 102400} if dice.chance(0.5) else {}
            project = dice.rng.choice(self.projects)
            return Outbound.event(project, QuotaUpdated(dice.envelope(QuotaUpdated, API), project, limits, reset=not limits))
        if self.waiting and (len(self.waiting) > 32 or dice.chance(0.75)):
            return self._carry_out(self.waiting.popleft())
        target = self.shape.busy * self.shape.projects * DEFAULT_LIMITS["instances"]
        if not self.live or dice.chance(0.6 if len(self.live) < target else 0.1):
            return create_servers(dice, dice.rng.choice(self.projects), next(self.serial))
        return act_on(dice, self.rows["instances"][self.live[dice.rng.randrange(len(self.live))]])

    def _carry_out(self, out: Outbound) -> Outbound | None:
        """A record for the log as it is; a command for an agent becomes the agent's answers."""
        if not is_agent_topic(out.topic):
            return out
        answers = answer(self.dice, out.topic.rsplit(".", 1)[1], out.record)
        self.waiting.extendleft(reversed(answers[1:]))
        return answers[0] if answers else None

    def _report(self) -> Outbound:
        when, serial, host = heapq.heappop(self.due)
        heartbeat = serial % 2 == 0
        every = self.shape.heartbeat_s if heartbeat else self.shape.capacity_report_s
        heapq.heappush(self.due, (when + timedelta(seconds=every), serial, host))
        return Outbound.event(host, self._heartbeat(host) if heartbeat else self._capacity(host))

    def _heartbeat(self, host: str) -> HostHeartbeatReported:
        return HostHeartbeatReported(self.dice.envelope(HostHeartbeatReported, f"novalog-agent-{host}"), host, self.shape.heartbeat_s)

    def _capacity(self, host: str) -> HostCapacityReported:
        shape, row = self.shape, self.rows["host_state"].get(host)
        claims = row.claims if row is not None else []
        return HostCapacityReported(
            envelope=self.dice.envelope(HostCapacityReported, f"novalog-agent-{host}"), host=host, hypervisor_type="QEMU",
            hypervisor_version=8_002_000, hypervisor_hostname=host, cpu_info='{"model": "Haswell"}', vcpus=shape.vcpus,
            memory_mb=shape.memory_mb, disk_gb=shape.disk_gb, cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0,
            disk_allocation_ratio=1.0, reserved_memory_mb=512, running_vms=len(claims), vcpus_in_use=sum(c.vcpus for c in claims),
            memory_mb_in_use=sum(c.memory_mb for c in claims), reported_at=self.dice.now, supported_instances=[["x86_64", "qemu", "hvm"]],
        )

    def _garbage(self) -> Outbound:
        """A record nobody can fold: bytes that are not a novalog record, or a record on a topic it does not belong on."""
        self.dead_letters += 1
        dice = self.dice
        topic = dice.rng.choice((topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.CATALOG_EVENTS))
        key = dice.rng.choice(self.live) if self.live and topic == topics.INSTANCE_EVENTS else dice.rng.choice(self.hosts)
        if dice.chance(0.25):
            return Outbound(topic if topic != topics.CATALOG_EVENTS else topics.HOST_EVENTS, key, FlavorCreated(dice.envelope(FlavorCreated, API), FLAVORS[0]))
        return Outbound(topic, key, dice.rng.choice(GARBAGE))
