"""Where a create's time goes: each hop of POST → ACTIVE, read back from the log after a boot benchmark.

    request accepted ─▶ quota decided ─▶ build requested ─▶ placement proposed ─▶ claim decided
    (ServersRequested)  (state.quotas     (InstanceBuild-    (PlacementProposed)    (ClaimAccepted)
                         shows it, or      Requested)
                         the build it
                         let through)
      ─▶ spawn ordered ─▶ hypervisor started ─▶ instance ACTIVE
         (InstanceSpawn-   (InstanceSpawned)     (state.instances shows
          Ordered)                               vm_state active)

Each stage's time is when its record was appended (the Kafka record's
create time, stamped by the producer that made it). The envelope's own time
cannot serve for every stage: a decision made by a fold carries its cause's
time, so that a replay decides the same, and would show every decided hop
as taking no time. `hops` is pure; `read_stages` reads the topics.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from novalog.events import topics
from novalog.events.state import InstanceState, QuotaState
from novalog.events.types.agent import InstanceSpawnOrdered
from novalog.events.types.instance import InstanceBuildRequested, InstanceSpawned
from novalog.events.types.placement import ClaimAccepted, PlacementProposed
from novalog.events.types.quota import ServersRequested

STAGES = (
    "request accepted", "quota decided", "build requested", "placement proposed",
    "claim decided", "spawn ordered", "hypervisor started", "instance ACTIVE",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop's latency over the instances that passed both of its stages, in ms."""

    name: str
    count: int
    p50_ms: float
    p99_ms: float


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of a non-empty sequence: the smallest value with q% at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


class StageTimes:
    """For each instance, the first time (epoch ms) each stage was seen; fed one logged record at a time."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {}
        self._reservations: dict[str, list[str]] = {}  # reservation id -> its instances
        self._reservation_at: dict[str, float] = {}

    def _mark(self, instance_id: str, stage: str, ms: float) -> None:
        stages = self.at.setdefault(instance_id, {})
        if stage not in stages or ms < stages[stage]:
            stages[stage] = ms

    def add(self, ms: float, record: Any) -> None:
        """One record with its append time: an event from an event topic, or a state row."""
        match record:
            case ServersRequested():
                ids = [build.instance_id for build in record.builds]
                self._reservations[record.reservation_id] = ids
                for iid in ids:
                    self._mark(iid, "request accepted", ms)
            case QuotaState():
                for reservation in record.decisions:
                    for iid in self._reservations.get(reservation, ()):
                        self._mark(iid, "quota decided", ms)
            case InstanceBuildRequested():
                # The quota writer appends the builds it lets through in the batch that decides, and its row after them.
                self._mark(record.instance_id, "quota decided", ms)
                self._mark(record.instance_id, "build requested", ms)
            case PlacementProposed():
                self._mark(record.instance_id, "placement proposed", ms)
            case ClaimAccepted():
                self._mark(record.instance_id, "claim decided", ms)
            case InstanceSpawnOrdered():
                self._mark(record.instance_id, "spawn ordered", ms)
            case InstanceSpawned():
                self._mark(record.instance_id, "hypervisor started", ms)
            case InstanceState() if record.vm_state == "active":
                self._mark(record.instance_id, "instance ACTIVE", ms)


def hops(at: dict[str, dict[str, float]], instance_ids: Iterable[str] | None = None) -> list[Hop]:
    """p50 and p99 of each hop between consecutive stages, and of the whole path, over `instance_ids` (default all).

    A stage missing for an instance (a record compacted away, say) leaves
    that instance out of the two hops around it only.
    """
    chosen = [at[iid] for iid in (instance_ids if instance_ids is not None else at) if iid in at]
    pairs = [*zip(STAGES, STAGES[1:]), (STAGES[0], STAGES[-1])]
    out = []
    for first, second in pairs:
        deltas = [s[second] - s[first] for s in chosen if first in s and second in s]
        if deltas:
            name = "whole path" if (first, second) == (STAGES[0], STAGES[-1]) else f"{first} → {second}"
            out.append(Hop(name, len(deltas), statistics.median(deltas), percentile(deltas, 99)))
    return out


def read_stages(bootstrap: str, prefix: str, timeout: float = 10.0) -> StageTimes:
    """Every stage of every create on the prefix's topics (read to their current end)."""
    from confluent_kafka import Consumer

    from novalog.events.codec import DecodeError, decode
    from novalog.events.kafka.log import consumer_config, read_all

    consumer = Consumer(consumer_config(bootstrap, None))
    names = [topics.QUOTA_EVENTS, topics.STATE_QUOTAS, topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.STATE_INSTANCES]
    full = [f"{prefix}.{name}" for name in names]
    full += [t for t in consumer.list_topics(timeout=timeout).topics if t.startswith(f"{prefix}.agent.") and not t.endswith(".dlq")]
    stages = StageTimes()
    try:
        # The quota requests first: a decision is matched to its instances through the request.
        for group in (full[:1], full[1:]):
            for msg in read_all(consumer, group, timeout):
                if msg.value() is None:
                    continue
                try:
                    record = decode(msg.value())
                except DecodeError:
                    continue
                stages.add(float(msg.timestamp()[1]), record)
    finally:
        consumer.close()
    return stages
