"""The instance table of a cloud that has booted N servers, folded by the real instance fold (`novalog bench reads`).

Reaching 100,000 live servers through projections/synthetic_log.py would
take millions of records (heartbeats, quota decisions, actions and deletes
in between). A read benchmark needs only what the instance table holds once
the servers have booted, so each server goes through its own boot alone:

```
create_servers (the user) ─▶ InstanceBuildRequested ─▶ instances fold ─▶ building row
place (the scheduler)      ─▶ PlacementProposed ─▶ decide_claim ─▶ ClaimAccepted ─▶ instances fold ─▶ InstanceSpawnOrdered
answer (the host's agent)  ─▶ InstanceSpawned (1% InstanceSpawnFailed) ─▶ instances fold ─▶ ACTIVE (or ERROR) row
```

The user, scheduler and agent records come from projections/synthetic_actors.py,
the claim decision from host_state.decide_claim, every row from the
instance table's declared `step` (projections/registry.py): the rows are the
ones the worker would publish. What is left out is the host table's
bookkeeping: the hosts take turns and each claim is judged against an empty
host (the benchmark reads servers, it does not fill hosts).
Pure and deterministic: the same seed gives the same rows.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from novalog.events.records import Resources
from novalog.events.state import HostState, InstanceState
from novalog.events.types.agent import InstanceSpawnOrdered
from novalog.events.types.host import HostCapacityReported
from novalog.events.types.instance import InstanceBuildRequested
from novalog.projections import host_state
from novalog.projections.registry import BY_TABLE
from novalog.projections.synthetic_actors import Dice, answer, create_servers, place, spec_of

START = datetime(2026, 12, 1, tzinfo=UTC)
INSTANCES = BY_TABLE["instances"]


def fleet(projects: int = 100, hosts: int = 100, seed: int = 0) -> Iterator[InstanceState]:
    """The rows of booted servers, endlessly, in the order their creates were made (one or two per request)."""
    dice = Dice(random.Random(seed), START)
    rows = {name: _host(dice, name) for name in (f"compute-{i:04d}" for i in range(hosts))}
    empty = Resources(0, 0, 0)
    offset = itertools.count()
    for serial in itertools.count():
        dice.now += timedelta(milliseconds=dice.rng.randint(1, 40))
        request = create_servers(dice, f"p{serial % projects:04d}", serial).record
        for build in request.builds:
            host = f"compute-{next(offset) % hosts:04d}"
            yield _boot(dice, build, rows[host], empty, offset)


def _boot(dice: Dice, build: InstanceBuildRequested, host: HostState, empty: Resources, offset: Iterator[int]) -> InstanceState:
    """One server from its build request to the row its spawn (or failed spawn) leaves."""
    row, _ = INSTANCES.step(None, build, next(offset))
    proposal = place(dice, {host.host: host}, {host.host: empty}, spec_of(build), build.envelope).record
    claim = host_state.decide_claim(host, proposal)
    row, orders = INSTANCES.step(row, claim, next(offset))
    spawn = next(o.record for o in orders if isinstance(o.record, InstanceSpawnOrdered))
    dice.now += timedelta(milliseconds=dice.rng.randint(200, 2000))  # the guest boots
    for out in answer(dice, host.host, spawn):
        if out.key == build.instance_id:
            new, _ = INSTANCES.step(row, out.record, next(offset))
            row = new or row
    dice.now = build.envelope.occurred_at
    return row


def _host(dice: Dice, name: str) -> HostState:
    """A host as its first capacity report leaves it in the host table: large, no claims."""
    report = HostCapacityReported(
        envelope=dice.envelope(HostCapacityReported, f"novalog-agent-{name}"), host=name, hypervisor_type="QEMU",
        hypervisor_version=8_002_000, hypervisor_hostname=name, cpu_info='{"model": "Haswell"}', vcpus=4096,
        memory_mb=16 << 20, disk_gb=1 << 20, cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
        reserved_memory_mb=512, running_vms=0, vcpus_in_use=0, memory_mb_in_use=0, reported_at=dice.now,
        supported_instances=[["x86_64", "qemu", "hvm"]],
    )
    row, _ = BY_TABLE["host_state"].step(None, report, 0)
    return row
