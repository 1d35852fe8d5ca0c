"""The list queries of servers and flavors: Nova's filters, sort keys and defaults (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from novalog.api.faults import BadRequest
from novalog.api.paging import name_matches, parse_time, sort, truthy
from novalog.api.views import server_status
from novalog.events.state import FlavorState, InstanceState

# Filters only an admin's query may use (Nova ignores them for others).
ADMIN_SERVER_FILTERS = ("project_id", "tenant_id", "host", "node", "deleted")

SERVER_SORT_KEYS = {
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
    "display_name": lambda r: r.name,
    "uuid": lambda r: r.instance_id,
    "vm_state": lambda r: r.vm_state,
    "task_state": lambda r: r.task_state or "",
    "power_state": lambda r: r.power_state,
    "host": lambda r: r.host or "",
    "launched_at": lambda r: r.launched_at,
    "terminated_at": lambda r: r.terminated_at,
    "project_id": lambda r: r.project_id,
    "user_id": lambda r: r.user_id,
    "availability_zone": lambda r: r.availability_zone or "",
    "instance_type_id": lambda r: r.flavor.id,
    "image_ref": lambda r: r.image_ref,
}


def select_servers(rows: list[InstanceState], params: Mapping[str, str], project_id: str, all_tenants: bool, admin: bool) -> list[InstanceState]:
    """The servers a list returns: the caller's project (or all, or one project, for an admin), filtered and sorted."""
    changes_since = parse_time("changes-since", params["changes-since"]) if "changes-since" in params else None
    show_deleted = admin and truthy(params.get("deleted")) or changes_since is not None
    chosen = []
    for row in rows:
        if row.vm_state == "deleted" and not show_deleted:
            continue
        if not all_tenants and row.project_id != project_id:
            continue
        if admin and (wanted := params.get("project_id") or params.get("tenant_id")) and row.project_id != wanted:
            continue
        if admin and "host" in params and row.host != params["host"]:
            continue
        if admin and "node" in params and row.hypervisor_hostname != params["node"]:
            continue
        if "name" in params and not name_matches(params["name"], row.name):
            continue
        if "status" in params and server_status(row.vm_state, row.task_state) != params["status"].upper():
            continue
        if "flavor" in params and row.flavor.id != params["flavor"]:
            continue
        if "image" in params and row.image_ref != params["image"].rstrip("/").rsplit("/", 1)[-1]:
            continue
        if changes_since is not None and row.updated_at < changes_since:
            continue
        chosen.append(row)
    return sort(chosen, params, SERVER_SORT_KEYS, "created_at", "desc")


FLAVOR_SORT_KEYS = {
    "flavorid": lambda r: r.flavor.id,
    "id": lambda r: r.flavor.id,
    "name": lambda r: r.flavor.name,
    "memory_mb": lambda r: r.flavor.ram,
    "vcpus": lambda r: r.flavor.vcpus,
    "root_gb": lambda r: r.flavor.disk,
    "ephemeral_gb": lambda r: r.flavor.ephemeral,
    "swap": lambda r: r.flavor.swap,
    "rxtx_factor": lambda r: r.flavor.rxtx_factor,
    "created_at": lambda r: r.created_at,
}


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{raw}]") from None


def flavor_visible(row: FlavorState, project_id: str, admin: bool) -> bool:
    """A public flavor is everyone's; a private one its projects' (os-flavor-access) and the admins'."""
    return row.flavor.is_public or admin or project_id in row.projects


def select_flavors(rows: list[Any], params: Mapping[str, str], admin: bool, project_id: str = "") -> list[FlavorState]:
    """Nova's flavor list: public ones and the private ones open to the caller's project (an admin:
    `is_public` says which), `minRam`/`minDisk`, sorted by flavor id."""
    min_ram, min_disk = _int_param(params, "minRam"), _int_param(params, "minDisk")
    raw_public = params.get("is_public")
    if raw_public is None:
        public: bool | None = True
    elif raw_public.strip().lower() == "none":
        public = None if admin else True
    else:
        public = truthy(raw_public) if admin else True
    chosen = [
        r for r in rows
        if isinstance(r, FlavorState) and not r.deleted
        and (public is None or r.flavor.is_public == public or (public and not admin and project_id in r.projects))
        and (min_ram is None or r.flavor.ram >= min_ram)
        and (min_disk is None or r.flavor.disk >= min_disk)
    ]
    return sort(chosen, params, FLAVOR_SORT_KEYS, "flavorid", "asc")
