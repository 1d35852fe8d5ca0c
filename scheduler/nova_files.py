"""Host states and a request spec from JSON files that keep Nova's field names (for `schedule --explain`).

The formats are documented in scheduler/README.md. Unknown keys are refused,
so a misspelt field is an error rather than a silent default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from novalog.events.records import Claim, Flavor, InstanceGroup, RequestSpec
from novalog.scheduler.host_state import Aggregate, SchedHost

HOST_KEYS = {
    "host", "nodename", "hypervisor_hostname", "free_ram_mb", "total_usable_ram_mb", "vcpus_total", "vcpus_used",
    "free_disk_mb", "total_usable_disk_gb", "num_instances", "num_io_ops", "hypervisor_type", "hypervisor_version",
    "cpu_info", "supported_instances", "stats", "aggregates", "service", "instances", "host_ip",
    "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio", "reserved_host_memory_mb",
    "reserved_host_disk_mb", "reserved_host_cpus", "failed_builds", "trust_level",
}
SPEC_KEYS = {
    "instance_uuid", "project_id", "user_id", "flavor", "image", "availability_zone", "scheduler_hints", "retry",
    "instance_group", "force_hosts", "force_nodes", "ignore_hosts", "num_instances",
}


class FileFormatError(ValueError):
    """A host or request file does not follow the documented format."""


def _check(kind: str, raw: Any, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise FileFormatError(f"{kind}: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FileFormatError(f"{kind}: unknown field(s) {', '.join(unknown)}")
    return raw


def sched_host_from_nova(raw: Any) -> SchedHost:
    """A SchedHost from a Nova HostState written as JSON."""
    d = _check("host", raw, HOST_KEYS)
    if "host" not in d:
        raise FileFormatError("host: 'host' is required")
    ram, vcpus, disk_gb = int(d.get("total_usable_ram_mb", 0)), int(d.get("vcpus_total", 0)), int(d.get("total_usable_disk_gb", 0))
    reserved_ram, reserved_disk_gb = int(d.get("reserved_host_memory_mb", 0)), int(d.get("reserved_host_disk_mb", 0)) // 1024
    service = d.get("service", {})
    instances = d.get("instances", {})
    if isinstance(instances, list):
        instances = {i["uuid"]: i for i in instances}
    claims = {
        uuid: Claim(f"file-{uuid}", uuid, int(i.get("vcpus", 0)), int(i.get("memory_mb", 0)), int(i.get("root_gb", 0)),
                    str(i.get("flavor_id", i.get("instance_type_id", ""))), str(i.get("project_id", "")))
        for uuid, i in instances.items()
    }
    aggregates = tuple(
        Aggregate(str(a.get("id", a.get("name", i))), str(a.get("name", "")), {k: str(v) for k, v in a.get("metadata", {}).items()})
        for i, a in enumerate(d.get("aggregates", []))
    )
    return SchedHost(
        host=d["host"],
        nodename=d.get("nodename") or d.get("hypervisor_hostname") or d["host"],
        total_usable_ram_mb=ram,
        free_ram_mb=int(d.get("free_ram_mb", ram - reserved_ram)),
        vcpus_total=vcpus,
        vcpus_used=int(d.get("vcpus_used", 0)),
        total_usable_disk_gb=disk_gb,
        free_disk_mb=int(d.get("free_disk_mb", (disk_gb - reserved_disk_gb) * 1024)),
        num_instances=int(d.get("num_instances", len(claims))),
        num_io_ops=int(d.get("num_io_ops", 0)),
        hypervisor_type=str(d.get("hypervisor_type", "")),
        hypervisor_version=int(d.get("hypervisor_version", 0)),
        cpu_allocation_ratio=float(d.get("cpu_allocation_ratio", 4.0)),
        ram_allocation_ratio=float(d.get("ram_allocation_ratio", 1.0)),
        disk_allocation_ratio=float(d.get("disk_allocation_ratio", 1.0)),
        reserved_vcpus=int(d.get("reserved_host_cpus", 0)),
        reserved_memory_mb=reserved_ram,
        reserved_disk_gb=reserved_disk_gb,
        service_up=bool(service.get("up", True)) and not bool(service.get("forced_down", False)),
        disabled=bool(service.get("disabled", False)),
        claims_ids=frozenset(c.claim_id for c in claims.values()),
        updated=None,
        cpu_info=d.get("cpu_info", "{}") if isinstance(d.get("cpu_info", "{}"), str) else json.dumps(d["cpu_info"]),
        host_ip=str(d.get("host_ip", "127.0.0.1")),
        supported_instances=tuple(tuple(t) for t in d.get("supported_instances", [])),
        stats={k: str(v) for k, v in d.get("stats", {}).items()},
        trust_level=d.get("trust_level"),
        failed_builds=int(d.get("failed_builds", 0)),
        forced_down=bool(service.get("forced_down", False)),
        disabled_reason=None if service.get("disabled_reason") is None else str(service["disabled_reason"]),
        aggregates=aggregates,
        instances=claims,
    )


def spec_from_nova(raw: Any) -> RequestSpec:
    """A RequestSpec from a Nova RequestSpec written as JSON (flavor with memory_mb/root_gb or ram/disk)."""
    d = _check("request", raw, SPEC_KEYS)
    f = d.get("flavor")
    if not isinstance(f, Mapping):
        raise FileFormatError("request: 'flavor' is required")
    flavor = Flavor(
        id=str(f.get("flavorid", f.get("id", "flavor"))),
        name=str(f.get("name", "flavor")),
        vcpus=int(f.get("vcpus", 1)),
        ram=int(f.get("memory_mb", f.get("ram", 0))),
        disk=int(f.get("root_gb", f.get("disk", 0))),
        ephemeral=int(f.get("ephemeral_gb", 0)),
        swap=int(f.get("swap", 0) or 0),
        extra_specs={k: str(v) for k, v in f.get("extra_specs", {}).items()},
    )
    image = d.get("image", {})
    retry = d.get("retry", {})
    group = d.get("instance_group")
    hints = {k: (v if isinstance(v, list) else [v]) for k, v in d.get("scheduler_hints", {}).items()}
    return RequestSpec(
        instance_id=str(d.get("instance_uuid", "request")),
        project_id=str(d.get("project_id", "")),
        user_id=str(d.get("user_id", "")),
        flavor=flavor,
        image_ref=str(image.get("id", "")),
        availability_zone=d.get("availability_zone"),
        scheduler_hints={k: [str(x) for x in v] for k, v in hints.items()},
        num_attempts=int(retry.get("num_attempts", 1)),
        retry_hosts=[str(h[0]) if isinstance(h, list) else str(h) for h in retry.get("hosts", [])],
        # Nova's [host, node] pairs; a bare host name (no node) stands for every node of it.
        retry_nodes=[str(h[1]) if isinstance(h, list) and len(h) > 1 and h[1] else "" for h in retry.get("hosts", [])],
        image_properties={k: str(v) for k, v in image.get("properties", {}).items()},
        instance_group=None if group is None else InstanceGroup(
            id=str(group.get("uuid", group.get("id", ""))),
            policy=str(group.get("policy") or (group.get("policies") or [""])[0]),
            members=[str(m) for m in group.get("members", [])],
            rules={k: str(v) for k, v in group.get("rules", {}).items()},
        ),
        force_hosts=list(d.get("force_hosts", [])),
        force_nodes=list(d.get("force_nodes", [])),
        ignore_hosts=list(d.get("ignore_hosts", [])),
        num_instances=int(d.get("num_instances", 1)),
    )
