"""What the hypervisor should run (from the agent's own command log) against what it runs: the actions to take.

The desired set is a fold over the host's command topic (spawn orders, and
the move steps that leave a guest here, minus delete orders), which the agent re-reads from its beginning when it starts:
its own log, so it never needs other hosts' traffic. Nothing here boots a
guest: an instance the hypervisor lost is reported (as Nova's power-state
sync would find it: not running), never spawned twice behind the user's back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from novalog.agent.driver import Guest, PowerState
from novalog.events.types.agent import (
    AgentCommand,
    InstanceActionOrdered,
    InstanceDeleteOrdered,
    InstanceMoveOrdered,
    InstanceRebuildOrdered,
    InstanceSpawnOrdered,
)

# The steps of a move after which this host runs the instance's guest (with the order's flavor).
RUNS_HERE_AFTER = frozenset({"finish", "restore", "rebuild", "adopt"})


def as_spawn_order(order: InstanceMoveOrdered | InstanceRebuildOrdered, build_offset: int = -1) -> InstanceSpawnOrdered:
    """What a move step leaves this host running, as the spawn order that would boot it again.

    It names the guest as the move order does; `build_offset` (the host's earlier order's) where the order
    carries none: a rebuild, or a move order written before orders carried it.
    """
    own = order.build_offset if isinstance(order, InstanceMoveOrdered) else -1
    return InstanceSpawnOrdered(
        envelope=order.envelope,
        instance_id=order.instance_id,
        claim_id=order.claim_id,
        name=order.name,
        flavor=order.flavor,
        image_ref=order.image_ref,
        project_id=order.project_id,
        image_files=order.image_files,
        build_offset=own if own >= 0 else build_offset,
    )

# Nova's running_deleted_instance_action: what to do with a guest the log does not know.
ORPHAN_POLICIES = ("reap", "shutdown", "log", "noop")


@dataclass(frozen=True, slots=True)
class ReportPower:
    """Tell the log the instance's power state (the hypervisor's truth)."""

    instance_id: str
    power_state: int


@dataclass(frozen=True, slots=True)
class HandleOrphan:
    """A guest runs that the log does not know (a delete the agent missed, or a foreign leftover)."""

    instance_id: str
    policy: str


Action = ReportPower | HandleOrphan


def _build_offset(desired: Mapping[str, InstanceSpawnOrdered], instance_id: str) -> int:
    here = desired.get(instance_id)
    return here.build_offset if here is not None else -1


def fold_desired(desired: Mapping[str, InstanceSpawnOrdered], command: AgentCommand) -> dict[str, InstanceSpawnOrdered]:
    """The instances this host should run after one command of its own log."""
    match command:
        case InstanceSpawnOrdered():
            return {**desired, command.instance_id: command}
        case InstanceDeleteOrdered():
            return {k: v for k, v in desired.items() if k != command.instance_id}
        case InstanceMoveOrdered() if command.step in RUNS_HERE_AFTER:
            return {**desired, command.instance_id: as_spawn_order(command, _build_offset(desired, command.instance_id))}
        case InstanceRebuildOrdered():
            # The guest runs the new image from now on: a host that loses it boots that one again, under its name.
            return {**desired, command.instance_id: as_spawn_order(command, _build_offset(desired, command.instance_id))}
        case InstanceActionOrdered() | InstanceMoveOrdered():
            return dict(desired)
        case _:
            return dict(desired)


def reconcile(desired: Mapping[str, InstanceSpawnOrdered], actual: Sequence[Guest], orphan_policy: str = "reap") -> list[Action]:
    """The actions that bring the log and the hypervisor back in agreement, in a stable order.

    * desired and present: report its power state (a sync: the log learns
      what any missed event would have said);
    * desired and missing: report NOSTATE, which the instance table shows as
      stopped (Nova's sync stops an instance whose guest is gone); a start
      then boots it again from its order;
    * present and not desired: the orphan policy.
    """
    if orphan_policy not in ORPHAN_POLICIES:
        raise ValueError(f"unknown orphan policy {orphan_policy!r}; known: {', '.join(ORPHAN_POLICIES)}")
    present = {g.instance_id: g for g in actual}
    actions: list[Action] = []
    for instance_id in sorted(desired):
        guest = present.get(instance_id)
        actions.append(ReportPower(instance_id, guest.power_state if guest else int(PowerState.NOSTATE)))
    actions.extend(HandleOrphan(i, orphan_policy) for i in sorted(set(present) - set(desired)))
    return actions
