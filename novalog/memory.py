"""An event log in memory, and the API's backend on it: the whole write path of one request, in the request's thread.

`MemoryLog.append` does what the broker and the services around it do,
synchronously and in log order: each record goes to the end of its topic
(one partition each), the projection declared for that topic folds it
(projections/registry.py, the `step` every runner shares), each changed row
is published into the read model as its state topic would carry it (Avro
bytes for the lazy tables, decoded copies for the others, with the source
and decided headers the decision loop writes), and the records the fold
asks for are appended in turn. Optionally the pure scheduler
(scheduler/service.py, over the host table) proposes hosts for builds and
moves, and the synthetic cloud's agents (projections/synthetic_actors.py,
never failing here) answer the orders, so a server goes to ACTIVE.

```
route ─▶ append(outs) ─▶ topic ─▶ Projection.step ─┬─▶ changed row ─▶ ReadModel.publish (headers as on the state topic)
                           ▲                        └─▶ outs ─┐
                           ├──── scheduler.handle(instance event) ◀─┤
                           └──── agent answer(order) ◀──────────────┘
```

Route tests run on it with FastAPI's TestClient and no broker
(tests/pure/test_api_routes_*.py); the integration tests keep the real one.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novalog.api.deps import ApiBackend
from novalog.api.read_model import LAZY_TABLES, ReadModel, row_change
from novalog.events import topics
from novalog.events.codec import decode, encode
from novalog.events.kafka.log import Position
from novalog.events.outbound import Outbound
from novalog.events.records import utcnow
from novalog.events.row_headers import source_position
from novalog.projections.registry import PROJECTIONS
from novalog.projections.synthetic_actors import Dice, answer, is_agent_topic
from novalog.projections.synthetic_log import TABLE_OF
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.options_file import OptionsFile
from novalog.scheduler.service import Scheduler
from novalog.settings import Settings


@dataclass(frozen=True, slots=True)
class Appended:
    """One record of the log: where it landed, its key and the record."""

    position: Position
    key: str
    record: Any


class _NeverFails(random.Random):
    """The memory hosts' luck: every failure the synthetic agents roll for misses (Dice.chance compares random())."""

    def random(self) -> float:
        return 1.0


class MemoryLog:
    """An EventLog without a broker: appends fold at once through the declared projections into a ReadModel."""

    def __init__(self, model: ReadModel, prefix: str = "memory", *, scheduler: Scheduler | None = None, agents: bool = False) -> None:
        self.prefix = prefix
        self.model = model
        self.scheduler = scheduler
        self.agents = agents
        self.rows: dict[str, dict[str, Any]] = {p.table: {} for p in PROJECTIONS}
        self.log: dict[str, list[Appended]] = {}  # per logical topic, in order
        self.dead_letters: list[tuple[Appended, str]] = []
        self._waiting: deque[Appended] = deque()
        self._dice = Dice(_NeverFails(0), utcnow())
        self._lock = threading.RLock()  # one append at a time, as one partition orders them

    def host_rows(self) -> list[Any]:
        """The host table as its fold keeps it (the scheduler's view)."""
        return list(self.rows["host_state"].values())

    def append(self, outs: Iterable[Outbound], timeout: float = 30.0) -> list[Position]:
        """Append records, then fold them and everything they cause; their positions, as EventLog.append returns them."""
        with self._lock:
            positions = [self._write(out) for out in outs]
            while self._waiting:
                self._carry_out(self._waiting.popleft())
        return positions

    def _write(self, out: Outbound) -> Position:
        records = self.log.setdefault(out.topic, [])
        appended = Appended(Position(f"{self.prefix}.{out.topic}", 0, len(records)), out.key, out.record)
        records.append(appended)
        self._waiting.append(appended)
        return appended.position

    def _carry_out(self, appended: Appended) -> None:
        """Fold one record into its table, then let the scheduler and the agents see it; append what they all asked for."""
        logical = appended.position.topic.removeprefix(f"{self.prefix}.")
        caused = self._fold(logical, appended)
        if is_agent_topic(logical) and self.agents:
            self._dice.now = utcnow()
            caused += answer(self._dice, logical.split(".", 1)[1], appended.record)
        if logical == topics.INSTANCE_EVENTS and self.scheduler is not None:
            caused += self.scheduler.handle(appended.record)
        for out in caused:
            self._write(out)

    def _fold(self, logical: str, appended: Appended) -> list[Outbound]:
        projection = TABLE_OF.get(logical)
        if projection is None:
            return []
        rows, key, offset = self.rows[projection.table], appended.key, appended.position.offset
        old = rows.get(key)
        try:
            new, outs = projection.step(old, appended.record, offset)
        except Exception as exc:  # what the worker would dead-letter
            self.dead_letters.append((appended, str(exc)))
            return []
        if new is not None:
            rows[key] = new
            headers = projection.headers(source_position(logical, 0, offset), old, new)
            # As a reader of the state topic gets it: bytes for the lazy tables, else the row decoded from its bytes.
            value = encode(new) if projection.state_topic in LAZY_TABLES else decode(encode(new))
            self.model.publish([row_change(projection.state_topic, key, value, headers)])
        return outs


def memory_scheduler(log: MemoryLog, settings: Settings, seed: int = 0) -> Scheduler:
    """The scheduler service's pure decisions over the memory host table, with the settings' options."""
    options = OptionsFile(settings.scheduler_options_file, SchedulerOptions(max_attempts=settings.max_attempts))
    return Scheduler("novalog-scheduler-memory", log.host_rows, options.current, settings.service_down_time, rng=random.Random(seed))


def host_reports(settings: Settings, hosts: Sequence[Any]) -> list[Outbound]:
    """What each host's agent reports when it starts (capacity, then a heartbeat), from a fake driver of its inventory."""
    from novalog.agent.driver import NodeInfo
    from novalog.agent.fake import FakeDriver
    from novalog.agent.service import NodeAgent
    from novalog.events.instance_names import InstanceNaming

    reports = []
    ratios = (settings.cpu_allocation_ratio, settings.ram_allocation_ratio, settings.disk_allocation_ratio)
    for config in hosts:
        driver = FakeDriver(NodeInfo("fake", 1000, config.name, "fake", config.vcpus, config.memory_mb))
        try:
            agent = NodeAgent(
                config, driver, None, "", default_ratios=ratios, heartbeat_interval=settings.heartbeat_interval,  # type: ignore[arg-type]
                naming=InstanceNaming(settings.instance_name_template, settings.partitions),
            )
            reports += [Outbound.event(config.name, agent.capacity_report()), Outbound.event(config.name, agent.heartbeat())]
        finally:
            driver.close()
    return reports


def memory_backend(settings: Settings, *, hosts: Sequence[Any] | None = None, scheduler: bool = True, agents: bool = True) -> ApiBackend:
    """The API's backend on a MemoryLog, built as `novalog serve api` builds it from the settings.

    The hosts (the settings' hosts file unless given, as agent.config.HostConfig)
    report in as their agents would at start. Set `state_dir` (or
    `image_store_dir`) to a temporary folder: uploaded images go there. Token
    keys are made there if there are none, so keystone tokens work too.
    """
    from novalog.agent.config import load_hosts
    from novalog.api.identity.token_keys import KeyRepository
    from novalog.services import api_backend, token_ring

    KeyRepository(settings.token_keys()).setup()
    model = ReadModel()
    log = MemoryLog(model, settings.topic_prefix, agents=agents)
    if scheduler:
        log.scheduler = memory_scheduler(log, settings)
    log.append(host_reports(settings, hosts if hosts is not None else load_hosts(Path(settings.hosts_file))))
    return api_backend(settings, log, model, token_ring(settings))
