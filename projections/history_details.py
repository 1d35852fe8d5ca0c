"""What each step of an instance's story says, in one line and as facts (projections/history.py orders the steps).

A placement shows its filter funnel and the top weighed hosts with each
weigher's part; a claim decision the room the host-state fold judged it
against; a create its quota decision; a fault its message; a dead letter
why it was refused. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from novalog.events import topics
from novalog.events.records import PlacementTrace, Resources
from novalog.events.types.agent import (
    InstanceActionOrdered,
    InstanceConsoleOrdered,
    InstanceDeleteOrdered,
    InstanceMoveOrdered,
    InstanceRebuildOrdered,
    InstanceRescueOrdered,
    InstanceSnapshotOrdered,
    InstanceSpawnOrdered,
)
from novalog.events.types.instance import (
    InstanceActionFailed,
    InstanceActionRequested,
    InstanceBuildRequested,
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceDeleted,
    InstanceDeleteRequested,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceMoveFailed,
    InstanceMoveProgressed,
    InstanceMoveRequested,
    InstancePowerStateChanged,
    InstanceRebuildRequested,
    InstanceRebuilt,
    InstanceRescued,
    InstanceRescueRequested,
    InstanceSchedulingFailed,
    InstanceSnapshotProgressed,
    InstanceSnapshotRequested,
    InstanceSnapshotted,
    InstanceSpawned,
    InstanceSpawnFailed,
    InstanceUnlocked,
    InstanceUpdated,
)
from novalog.events.types.placement import ClaimAccepted, ClaimRejected, ClaimReleased, PlacementProposed
from novalog.events.types.quota import QuotaUsageReleased, ServersRequested

TOP_SHOWN = 3  # weighed hosts in the one-line detail (the facts keep the trace's whole top)
AGENT_PREFIX = f"{topics.AGENT_COMMANDS}."


@dataclass(frozen=True, slots=True)
class Room:
    """What a host had left to claim of each resource when a claim was judged (negative: over)."""

    vcpus: float
    memory_mb: float
    disk_gb: float

    def text(self) -> str:
        return f"room before {self.vcpus:g} vCPUs, {self.memory_mb:g} MB RAM, {self.disk_gb:g} GB disk"


def who_asked(records: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """Request id -> (user, project), from the requests among the records (the events they caused carry only the id)."""
    asked: dict[str, tuple[str, str]] = {}
    for record in records:
        envelope = getattr(record, "envelope", None)
        user, project = getattr(record, "user_id", None), getattr(record, "project_id", None)
        if envelope is not None and envelope.request_id and user and project:
            asked.setdefault(envelope.request_id, (user, project))
    return asked


def funnel(trace: PlacementTrace) -> list[dict[str, Any]]:
    """The hosts left after each filter, from the number before the first."""
    steps, before = [], trace.hosts_before
    for count in trace.filters:
        steps.append({"filter": count.name, "before": before, "after": count.hosts_after})
        before = count.hosts_after
    return steps


def trace_text(trace: PlacementTrace | None) -> str:
    """`funnel RamFilter 3 -> 2, ComputeFilter 2 -> 2; top host-1 1.5 (RAMWeigher 1, CPUWeigher 0.5)`."""
    if trace is None:
        return "no trace"
    steps = ", ".join(f"{s['filter']} {s['before']} -> {s['after']}" for s in funnel(trace)) or f"no filter ({trace.hosts_before} hosts)"
    tops = "; ".join(f"{w.host} {w.weight:.3g}" + _parts(w.parts) for w in trace.top[:TOP_SHOWN])
    return f"funnel {steps}" + (f"; top {tops}" if tops else "")


def _parts(parts: Mapping[str, float]) -> str:
    """Each weigher's part of a weight (none when the host was the only one weighed: nothing to normalize against)."""
    return " (" + ", ".join(f"{name} {part:.3g}" for name, part in parts.items()) + ")" if parts else ""


def trace_facts(trace: PlacementTrace | None) -> dict[str, Any]:
    if trace is None:
        return {}
    return {"funnel": funnel(trace), "top": [{"host": w.host, "weight": w.weight, "parts": dict(w.parts)} for w in trace.top]}


def _resources(vcpus: int, ram: int, disk: int) -> str:
    return f"{vcpus} vCPU, {ram} MB RAM, {disk} GB disk"


def _claim(record: ClaimAccepted | ClaimRejected, rooms: Mapping[str, Room]) -> tuple[str, dict[str, Any]]:
    judged = rooms.get(record.claim_id)
    facts: dict[str, Any] = {"host": record.host, "claim_id": record.claim_id, "attempt": record.spec.num_attempts}
    if judged is not None:
        facts["room_before"] = {"vcpus": judged.vcpus, "memory_mb": judged.memory_mb, "disk_gb": judged.disk_gb}
    room_text = "" if judged is None else f" ({judged.text()})"
    if isinstance(record, ClaimAccepted):
        res = record.resources
        facts["resources"] = {"vcpus": res.vcpus, "memory_mb": res.memory_mb, "disk_gb": res.disk_gb}
        return f"on {record.host}: claims {_resources(res.vcpus, res.memory_mb, res.disk_gb)}{room_text}", facts
    facts["reason"] = record.reason
    return f"on {record.host}: {record.reason}{room_text}", facts


def _quota(record: ServersRequested, instance_id: str, facts: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    wanted = f"{len(record.builds)} server(s) asked for (at least {record.min_count}), reservation {record.reservation_id}"
    if "quota_message" not in facts:
        return f"{wanted}; quota decision not in the log", {}
    accepted, message = facts["quota_accepted"], facts["quota_message"]
    decision = {"accepted": accepted, "message": message or None, "let_through": instance_id in accepted}
    if message:
        return f"{wanted}; quota refused: {message}", {"quota": decision}
    mine = "" if instance_id in accepted else "; not this one"
    return f"{wanted}; quota let {len(accepted)} through{mine}", {"quota": decision}


def _agent_host(topic: str) -> str:
    return topic[len(AGENT_PREFIX):] if topic.startswith(AGENT_PREFIX) else "?"


def _describe_record(record: Any, topic: str, instance_id: str, rooms: Mapping[str, Room], facts: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    described = (_describe_decision(record, instance_id, rooms, facts) or _describe_guest(record, topic)
                 or _describe_in_place(record, topic) or _describe_extra(record, topic))
    return described or (type(record).__name__, {})


def _describe_extra(record: Any, topic: str) -> tuple[str, dict[str, Any]] | None:
    """A metadata change, a lock, or a console ask and its answer (None: none of them)."""
    match record:
        case InstanceMetadataSet():
            keys = ", ".join(sorted(record.metadata)) or "nothing"
            return f"metadata {'replaced by' if record.replace else 'set:'} {keys}", {}
        case InstanceMetadataDeleted():
            return f"metadata {record.key} deleted", {}
        case InstanceLocked():
            return f"locked by {record.locked_by} {record.user_id}" + (f": {record.reason}" if record.reason else ""), {}
        case InstanceUnlocked():
            return f"unlocked by {record.user_id}", {}
        case InstanceConsoleRequested():
            return "console asked" + (f" (last {record.length} lines)" if record.length is not None else ""), {}
        case InstanceConsoleOrdered():
            return f"read the console on {_agent_host(topic)}", {"host": _agent_host(topic)}
        case InstanceConsoleReported():
            told = f"failed: {record.error}" if record.error else f"{len(record.output.encode())} bytes"
            return f"console read on {record.host}: {told}", {"host": record.host}
        case _:
            return None


def _describe_decision(record: Any, instance_id: str, rooms: Mapping[str, Room], facts: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A request, or what quota, the scheduler and the host-state processor decided on one (None: neither)."""
    match record:
        case ServersRequested():
            return _quota(record, instance_id, facts)
        case InstanceBuildRequested():
            f, wants = record.flavor, Resources.of(record.flavor)
            where = "".join([f", zone {record.availability_zone}" if record.availability_zone else "",
                             f", forced to {', '.join(record.force_hosts)}" if record.force_hosts else ""])
            return f"{record.name}: flavor {f.name} ({_resources(wants.vcpus, wants.memory_mb, wants.disk_gb)}), image {record.image_ref}{where}", {}
        case PlacementProposed():
            tried = f", after {', '.join(record.spec.retry_hosts)}" if record.spec.retry_hosts else ""
            line = f"{record.host} by {record.scheduler}, attempt {record.spec.num_attempts}{tried}; {trace_text(record.trace)}"
            return line, {"host": record.host, "claim_id": record.claim_id, "attempt": record.spec.num_attempts, **trace_facts(record.trace)}
        case ClaimAccepted() | ClaimRejected():
            return _claim(record, rooms)
        case ClaimReleased():
            return f"claim {record.claim_id} on {record.host} given back", {"host": record.host, "claim_id": record.claim_id}
        case InstanceSchedulingFailed():
            return f"after {record.attempts} attempt(s): {record.fault.message}", {"fault": record.fault.message, **trace_facts(record.trace)}
        case InstanceActionRequested():
            return record.action + (f" ({record.reboot_type})" if record.reboot_type else ""), {}
        case InstanceDeleteRequested():
            return "delete", {}
        case InstanceUpdated():
            changes = {"name": record.name, "accessIPv4": record.access_ip_v4, "accessIPv6": record.access_ip_v6}
            given = {field: value for field, value in changes.items() if value is not None}
            return "update " + (", ".join(f"{field}={value}" for field, value in given.items()) or "(nothing)"), given
        case InstanceMoveRequested():
            to = f" to {record.spec.requested_host}" if record.spec.requested_host else ""
            return f"{record.migration_type} {record.migration_id} from {record.source_host}{to}", {"migration_id": record.migration_id}
        case QuotaUsageReleased():
            return f"no longer counted against project {record.project_id}'s quota", {}
        case _:
            return None


def _describe_guest(record: Any, topic: str) -> tuple[str, dict[str, Any]] | None:
    """An order to a host's agent, or what the agent reported of the guest (None: neither)."""
    match record:
        case InstanceSpawnOrdered():
            return f"spawn on {_agent_host(topic)} under claim {record.claim_id}", {"host": _agent_host(topic)}
        case InstanceSpawned():
            return f"running on {record.host} ({record.domain_name}), power state {record.power_state}", {"host": record.host}
        case InstanceSpawnFailed() | InstanceActionFailed() | InstanceMoveFailed():
            what = getattr(record, "action", None) or getattr(record, "step", None) or "spawn"
            return f"{what} on {record.host} failed: {record.fault.message}", {"host": record.host, "fault": record.fault.message}
        case InstancePowerStateChanged():
            return f"{record.transition} on {record.host}, power state {record.power_state}", {"host": record.host}
        case InstanceActionOrdered():
            return f"{record.action} on {_agent_host(topic)}", {"host": _agent_host(topic)}
        case InstanceDeleteOrdered():
            return f"remove the guest on {_agent_host(topic)}, give claim {record.claim_id or '-'} back", {"host": _agent_host(topic)}
        case InstanceDeleted():
            return (f"guest removed from {record.host}" if record.host else "deleted (it had no guest)"), {"host": record.host}
        case InstanceMoveOrdered():
            line = f"{record.step} of {record.migration_type} on {_agent_host(topic)} ({record.source_host} -> {record.dest_host})"
            return line, {"host": _agent_host(topic), "migration_id": record.migration_id, "step": record.step}
        case InstanceMoveProgressed():
            return f"{record.step} done on {record.host}, power state {record.power_state}", {"host": record.host, "step": record.step}
        case _:
            return None


def _describe_in_place(record: Any, topic: str) -> tuple[str, dict[str, Any]] | None:
    """Rebuild, createImage and rescue: the request, the order to the host's agent, and its report (None: none of them)."""
    match record:
        case InstanceRebuildRequested():
            return f"rebuild from image {record.image_ref}", {"image_ref": record.image_ref}
        case InstanceSnapshotRequested():
            return f"createImage into image {record.image_id}", {"image_id": record.image_id}
        case InstanceRescueRequested():
            return ("rescue" + (f" from image {record.image_ref}" if record.image_ref else "")) if record.rescue else "unrescue", {}
        case InstanceRebuildOrdered():
            return f"rebuild from image {record.image_ref} on {_agent_host(topic)}", {"host": _agent_host(topic), "image_ref": record.image_ref}
        case InstanceSnapshotOrdered():
            return f"snapshot into {record.image_file} on {_agent_host(topic)}", {"host": _agent_host(topic), "image_id": record.image_id}
        case InstanceRescueOrdered():
            return f"{'rescue' if record.rescue else 'unrescue'} on {_agent_host(topic)}", {"host": _agent_host(topic)}
        case InstanceRebuilt():
            return f"rebuilt from image {record.image_ref} on {record.host}, power state {record.power_state}", {"host": record.host}
        case InstanceSnapshotted():
            return f"image {record.image_id} written on {record.host}", {"host": record.host, "image_id": record.image_id}
        case InstanceSnapshotProgressed():
            return f"{record.task_state} of image {record.image_id} on {record.host}", {"host": record.host, "image_id": record.image_id}
        case InstanceRescued():
            return f"{'rescued' if record.rescued else 'unrescued'} on {record.host}, power state {record.power_state}", {"host": record.host}
        case _:
            return None


def _actions_text(notes: list[dict[str, Any]]) -> str:
    parts = [f"opens action {n['opened']}" if "opened" in n else f"action {n['ended']}: {n['result']}" for n in notes]
    return f" [{'; '.join(parts)}]" if parts else ""


def describe(logged: Any, instance_id: str, rooms: Mapping[str, Room], facts: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """One step's line and facts: the record's own, what the folds knew there, the actions it opened or ended."""
    if logged.dead_letter:
        h = logged.headers
        source = f"{h.get('dlq.original.topic', '?')}:{h.get('dlq.original.partition', '?')}:{h.get('dlq.original.offset', '?')}"
        what = "an undecodable record" if logged.record is None else type(logged.record).__name__
        reason = f"{h.get('dlq.error.class', '?')}: {h.get('dlq.error.message', '?')}"
        line = f"{what} from {source} refused by {h.get('dlq.processor', '?')}: {reason}"
        return line, {"dead_letter": {"source": source, "reason": reason, "processor": h.get("dlq.processor")}}
    if logged.record is None:
        return "a record under the instance's key that no schema decodes", {}
    line, own = _describe_record(logged.record, logged.topic, instance_id, rooms, facts)
    notes = facts.get("actions", [])
    return line + _actions_text(notes), ({**own, "actions": notes} if notes else own)
