"""Pure views: table rows in, OpenStack Compute v2.1 response shapes out."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import datetime
from typing import Any

from novalog.api.microversion import MAX as MAX_VERSION
from novalog.api.microversion import MIN as MIN_VERSION
from novalog.api.microversion import Version
from novalog.events.capacity import used_by_claims
from novalog.events.instance_names import InstanceNaming
from novalog.events.state import FlavorState, HostState, InstanceState

API_VERSION = {
    "id": "v2.1",
    "status": "CURRENT",
    "version": str(MAX_VERSION),
    "min_version": "2.1",
    "updated": "2013-07-23T11:33:21Z",
    "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
}

NAMING = InstanceNaming()  # the default template over the default partition count

TASK_STATUS = {
    "rebooting": "REBOOT",
    "reboot_pending": "REBOOT",
    "reboot_started": "REBOOT",
    "rebooting_hard": "HARD_REBOOT",
    "reboot_pending_hard": "HARD_REBOOT",
    "reboot_started_hard": "HARD_REBOOT",
    "rebuilding": "REBUILD",
    "rebuild_block_device_mapping": "REBUILD",
    "rebuild_spawning": "REBUILD",
    "migrating": "MIGRATING",
    "resize_prep": "RESIZE",
    "resize_migrating": "RESIZE",
    "resize_migrated": "RESIZE",
    "resize_finish": "RESIZE",
}
# Task states that show through a vm_state other than active (Nova's status table).
TASK_STATUS_OVER = {
    "stopped": {"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning", "resize_prep", "resize_migrating", "resize_migrated", "resize_finish"},
    "error": {"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"},
    "paused": {"migrating"},
}
VM_STATUS = {
    "building": "BUILD",
    "active": "ACTIVE",
    "stopped": "SHUTOFF",
    "resized": "VERIFY_RESIZE",
    "paused": "PAUSED",
    "suspended": "SUSPENDED",
    "rescued": "RESCUE",
    "error": "ERROR",
    "deleted": "DELETED",
    "soft-delete": "SOFT_DELETED",
    "shelved": "SHELVED",
    "shelved_offloaded": "SHELVED_OFFLOADED",
}


def version_doc(base: str) -> dict[str, Any]:
    return {**API_VERSION, "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}


def server_status(vm_state: str, task_state: str | None) -> str:
    """Nova's status from vm_state and task_state."""
    if task_state in TASK_STATUS and (vm_state == "active" or task_state in TASK_STATUS_OVER.get(vm_state, ())):
        return TASK_STATUS[task_state]
    if vm_state == "resized" and task_state == "resize_reverting":
        return "REVERT_RESIZE"
    return VM_STATUS.get(vm_state, "UNKNOWN")


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")


def links(base: str, collection: str, entity_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{base}/v2.1/{collection}/{entity_id}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{entity_id}"},
    ]


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: sha224 of project id and host, empty without a host."""
    return hashlib.sha224(f"{project_id}{host}".encode()).hexdigest() if host else ""


def server_brief(base: str, row: InstanceState) -> dict[str, Any]:
    return {"id": row.instance_id, "name": row.name, "links": links(base, "servers", row.instance_id)}


def hostname_of(name: str) -> str:
    """Nova's hostname for a display name: lower case letters, digits and hyphens, at most 63."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "server"


def server_detail(base: str, row: InstanceState, is_admin: bool, version: Version = MIN_VERSION, naming: InstanceNaming = NAMING) -> dict[str, Any]:
    """GET /servers/{id} and /servers/detail: the server's own fields and every extension's (the admin's ones to admins)."""
    view = server_core(base, row, is_admin, version)
    view.update({
        "config_drive": "",
        "key_name": row.key_name,
        "security_groups": [{"name": "default"}],
        "OS-EXT-AZ:availability_zone": row.availability_zone or "nova",
        "OS-EXT-STS:vm_state": row.vm_state,
        "OS-EXT-STS:task_state": row.task_state,
        "OS-EXT-STS:power_state": row.power_state,
        "OS-SRV-USG:launched_at": row.launched_at.isoformat(timespec="microseconds").replace("+00:00", "") if row.launched_at else None,
        "OS-SRV-USG:terminated_at": row.terminated_at.isoformat(timespec="microseconds").replace("+00:00", "") if row.terminated_at else None,
        "os-extended-volumes:volumes_attached": [],
    })
    if is_admin:
        view["OS-EXT-SRV-ATTR:host"] = row.host
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = row.hypervisor_hostname if row.host else None
        view["OS-EXT-SRV-ATTR:instance_name"] = naming.name(row.instance_id, row.build_offset, row.name) or row.domain_name or ""
        if version >= Version(2, 3):
            view["OS-EXT-SRV-ATTR:reservation_id"] = row.reservation_id or ""
            view["OS-EXT-SRV-ATTR:launch_index"] = row.launch_index
            view["OS-EXT-SRV-ATTR:hostname"] = hostname_of(row.name)
            view["OS-EXT-SRV-ATTR:kernel_id"] = ""
            view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda" if row.host else None
            view["OS-EXT-SRV-ATTR:user_data"] = row.user_data
    return view


def server_core(base: str, row: InstanceState, is_admin: bool, version: Version = MIN_VERSION) -> dict[str, Any]:
    """The server's own fields without the extensions' (Nova's view below 2.75 for PUT /servers/{id}; the start of every detail)."""
    view: dict[str, Any] = {
        **server_brief(base, row),
        "status": server_status(row.vm_state, row.task_state),
        "tenant_id": row.project_id,
        "user_id": row.user_id,
        "metadata": dict(row.metadata),
        "hostId": host_id(row.project_id, row.host),
        "image": {"id": row.image_ref, "links": links(base, "images", row.image_ref)[1:]} if row.image_ref else "",
        "flavor": {"id": row.flavor.id, "links": links(base, "flavors", row.flavor.id)[1:]},
        "created": _time(row.created_at),
        "updated": _time(row.updated_at),
        "addresses": {},
        "accessIPv4": row.access_ip_v4 or "",
        "accessIPv6": row.access_ip_v6 or "",
        "progress": 0,
        "OS-DCF:diskConfig": "MANUAL",
    }
    if version >= Version(2, 9):
        view["locked"] = row.locked
    if row.fault is not None and row.vm_state in ("error", "deleted"):
        fault = {"code": row.fault.code, "message": row.fault.message, "created": _time(row.fault.created)}
        if is_admin and row.fault.details:
            fault["details"] = row.fault.details
        view["fault"] = fault
    return view


def flavor_brief(base: str, row: FlavorState) -> dict[str, Any]:
    return {"id": row.flavor.id, "name": row.flavor.name, "links": links(base, "flavors", row.flavor.id)}


def flavor_detail(base: str, row: FlavorState) -> dict[str, Any]:
    f = row.flavor
    return {
        **flavor_brief(base, row),
        "ram": f.ram,
        "vcpus": f.vcpus,
        "disk": f.disk,
        "swap": f.swap or "",
        "rxtx_factor": f.rxtx_factor,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        "OS-FLV-DISABLED:disabled": False,
        "os-flavor-access:is_public": f.is_public,
    }


def hypervisor_numeric_id(host: str) -> int:
    """A stable integer id for a host (v2.1 hypervisor ids are integers)."""
    return zlib.crc32(host.encode()) & 0x7FFFFFFF


def host_is_up(row: HostState, now: datetime, service_down_time: float) -> bool:
    if row.forced_down:
        return False
    return row.last_heartbeat_at is not None and (now - row.last_heartbeat_at).total_seconds() <= service_down_time


def hypervisor_brief(row: HostState, up: bool) -> dict[str, Any]:
    return {
        "id": hypervisor_numeric_id(row.host),
        "hypervisor_hostname": row.hypervisor_hostname or row.host,
        "state": "up" if up else "down",
        "status": "disabled" if row.disabled else "enabled",
    }


def hypervisor_detail(row: HostState, up: bool) -> dict[str, Any]:
    used = used_by_claims(row)
    memory_used = used.memory_mb + row.reserved_memory_mb
    disk_used = used.disk_gb + row.reserved_disk_gb
    return {
        **hypervisor_brief(row, up),
        "hypervisor_type": row.hypervisor_type,
        "hypervisor_version": row.hypervisor_version,
        "host_ip": "127.0.0.1",
        "cpu_info": row.cpu_info if row.cpu_info else json.dumps({}),
        "vcpus": row.vcpus,
        "vcpus_used": used.vcpus,
        "memory_mb": row.memory_mb,
        "memory_mb_used": memory_used,
        "free_ram_mb": row.memory_mb - memory_used,
        "local_gb": row.disk_gb,
        "local_gb_used": disk_used,
        "free_disk_gb": row.disk_gb - disk_used,
        "disk_available_least": row.disk_gb - disk_used,
        "running_vms": len(row.claims),
        "current_workload": 0,
        "service": {"host": row.host, "id": hypervisor_numeric_id(row.host), "disabled_reason": row.disabled_reason},
    }


STATISTICS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "free_ram_mb", "free_disk_gb",
              "current_workload", "running_vms", "disk_available_least")


def hypervisor_statistics(rows: list[tuple[HostState, bool]]) -> dict[str, Any]:
    """The sums over every hypervisor (os-hypervisors/statistics)."""
    details = [hypervisor_detail(row, up) for row, up in rows]
    return {"count": len(details), **{key: sum(d[key] for d in details) for key in STATISTICS}}


def service_view(row: HostState, up: bool, version: Version = MIN_VERSION) -> dict[str, Any]:
    """A compute host's nova-compute service (os-services; `forced_down` from 2.11)."""
    beat = row.last_heartbeat_at
    view = {
        "id": hypervisor_numeric_id(row.host),
        "binary": "nova-compute",
        "host": row.host,
        "zone": "nova",
        "status": "disabled" if row.disabled else "enabled",
        "state": "up" if up else "down",
        "updated_at": beat.replace(tzinfo=None).isoformat(timespec="microseconds") if beat else None,
        "disabled_reason": row.disabled_reason,
    }
    if version >= Version(2, 11):
        view["forced_down"] = row.forced_down
    return view
