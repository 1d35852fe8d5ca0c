"""Several Scheduler instances, each with its own stale view, propose in any interleaving: the single writer never overcommits.

Pure: the schedulers are the real `Scheduler` decision objects, the host
side is the real `host_state.handle` fold; hypothesis picks which scheduler
acts next, which proposal the host processes next, and when each scheduler
refreshes its view of the table.
"""

from __future__ import annotations

import random
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import NOW, build_flavor, build_host_state
from novalog.events.records import Envelope
from novalog.events.types import ClaimAccepted, ClaimRejected, InstanceBuildRequested, InstanceSchedulingFailed, PlacementProposed
from novalog.projections import host_state
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.service import Scheduler

HOSTS = ("h1", "h2")


def request(i: int, ram: int) -> InstanceBuildRequested:
    return InstanceBuildRequested(
        envelope=Envelope.new(InstanceBuildRequested, "test", event_id=str(uuid.UUID(int=i)), occurred_at=NOW),
        instance_id=f"i{i}", name=f"vm{i}", project_id="p", user_id="u", flavor=build_flavor(id=f"f{ram}", ram=ram), image_ref="img",
    )


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([512, 1024, 2048, 3072]), min_size=1, max_size=25),
    schedulers=st.integers(2, 3),
    choices=st.lists(st.integers(0, 1000), min_size=200, max_size=200),
)
def test_no_interleaving_of_several_schedulers_overcommits(sizes: list[int], schedulers: int, choices: list[int]) -> None:
    table = {h: build_host_state(h, memory_mb=4096, vcpus=64, disk_gb=1000) for h in HOSTS}
    views = [dict(table) for _ in range(schedulers)]
    pool = [
        Scheduler(f"s{k}", (lambda v=views[k]: list(v.values())), SchedulerOptions(host_subset_size=2, max_attempts=3), 60.0,
                  random.Random(k), clock=lambda: NOW)
        for k in range(schedulers)
    ]
    inbox: list[list] = [[] for _ in pool]  # what each scheduler has yet to handle
    for i, size in enumerate(sizes):
        inbox[i % schedulers].append(request(i, size))
    proposals: list[PlacementProposed] = []
    outcomes: dict[str, str] = {}
    pick = iter(choices)
    for _ in range(2000):
        moves = [("s", k) for k in range(schedulers) if inbox[k]] + [("h", None)] * bool(proposals)
        if not moves:
            break
        kind, k = moves[next(pick, 0) % len(moves)]
        if kind == "s":
            for out in pool[k].handle(inbox[k].pop(0)):
                if isinstance(out.record, PlacementProposed):
                    proposals.append(out.record)
                elif isinstance(out.record, InstanceSchedulingFailed):
                    outcomes[out.record.instance_id] = "error"
            if next(pick, 0) % 3 == 0:  # now and then, a scheduler catches up with the table
                views[k].update(table)
        else:
            proposal = proposals.pop(next(pick, 0) % len(proposals))
            before = table[proposal.host]
            table[proposal.host], outs = host_state.fold(before, proposal)
            claimed = sum(c.memory_mb for c in table[proposal.host].claims)
            assert claimed <= before.memory_mb * before.ram_allocation_ratio - before.reserved_memory_mb
            for out in outs:
                decision = out.record
                owner = int(decision.instance_id[1:]) % schedulers
                if isinstance(decision, ClaimAccepted):
                    outcomes[decision.instance_id] = "active"
                assert isinstance(decision, ClaimAccepted | ClaimRejected)
                inbox[owner].append(decision)
    # Every request ended one way or the other, within max_attempts proposals.
    assert set(outcomes) == {f"i{i}" for i in range(len(sizes))}
