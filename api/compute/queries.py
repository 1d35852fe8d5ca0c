"""The list queries of servers and flavors: Nova's filters, sort keys and defaults (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from novalog.api.bodies import reference_id
from novalog.api.compute.server_index import ALL, ServerIndex, sort_key
from novalog.api.compute.views import server_status
from novalog.api.faults import BadRequest
from novalog.api.paging import name_matches, parse_limit, parse_time, sort, truthy
from novalog.events.state import FlavorState, InstanceState

# Filters only an admin's query may use (Nova ignores them for others).
ADMIN_SERVER_FILTERS = ("project_id", "tenant_id", "host", "node", "deleted")

SERVER_SORT_KEYS = {
    # Nova's default order breaks ties of created_at by id, so a marker always has one place.
    "created_at": lambda r: (r.created_at, r.instance_id),
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


def server_filter(params: Mapping[str, str], project_id: str, all_tenants: bool, admin: bool) -> Callable[[InstanceState], bool]:
    """Whether a row belongs in the list: the caller's project (or all, or one project, for an admin) and Nova's filters."""
    changes_since = parse_time("changes-since", params["changes-since"]) if "changes-since" in params else None
    show_deleted = admin and truthy(params.get("deleted")) or changes_since is not None
    wanted_project = admin and (params.get("project_id") or params.get("tenant_id"))

    def keep(row: InstanceState) -> bool:
        if row.vm_state == "deleted" and not show_deleted:
            return False
        if not all_tenants and row.project_id != project_id:
            return False
        if wanted_project and row.project_id != wanted_project:
            return False
        if admin and "host" in params and row.host != params["host"]:
            return False
        if admin and "node" in params and row.hypervisor_hostname != params["node"]:
            return False
        if "name" in params and not name_matches(params["name"], row.name):
            return False
        if "status" in params and server_status(row.vm_state, row.task_state) != params["status"].upper():
            return False
        if "flavor" in params and row.flavor.id != params["flavor"]:
            return False
        if "image" in params and row.image_ref != reference_id(params["image"]):
            return False
        return changes_since is None or row.updated_at >= changes_since

    return keep


def select_servers(rows: list[InstanceState], params: Mapping[str, str], project_id: str, all_tenants: bool, admin: bool) -> list[InstanceState]:
    """The servers a list returns: the caller's project (or all, or one project, for an admin), filtered and sorted."""
    keep = server_filter(params, project_id, all_tenants, admin)
    return sort([row for row in rows if keep(row)], params, SERVER_SORT_KEYS, "created_at", "desc")


def page_servers(
    index: ServerIndex, rows: Mapping[str, InstanceState], params: Mapping[str, str], project_id: str, all_tenants: bool, admin: bool
) -> list[InstanceState] | None:
    """The page `paging.page(select_servers(...))` would give, walked from the marker in the index; None when the
    order asked is not the index's (then the whole list is sorted). Read under the cache's lock."""
    key, direction = params.get("sort_key", "created_at"), params.get("sort_dir", "desc")
    if key != "created_at" or direction not in ("asc", "desc"):
        return None
    keep = server_filter(params, project_id, all_tenants, admin)
    limit = parse_limit(params)
    after = None
    if (marker := params.get("marker")) is not None:
        row = rows.get(marker)
        if row is None or not keep(row):
            raise BadRequest(f"marker [{marker}] not found")
        after = sort_key(row)
    wanted = admin and (params.get("project_id") or params.get("tenant_id"))
    scope = (wanted or ALL) if all_tenants else project_id
    with_deleted = admin and truthy(params.get("deleted")) or "changes-since" in params
    chosen: list[InstanceState] = []
    if limit == 0:
        return chosen
    if "changes-since" in params:  # what changed since: few rows, read from the updated_at index and sorted
        changed = sorted((r for i in index.changed_since(parse_time("changes-since", params["changes-since"])) if keep(r := rows[i])),
                         key=sort_key, reverse=direction == "desc")
        if after is not None:
            changed = [r for r in changed if (sort_key(r) < after if direction == "desc" else sort_key(r) > after)]
        return changed[:limit]
    for instance_id in index.walk(scope, with_deleted, direction == "desc", after):
        row = rows[instance_id]
        if keep(row):
            chosen.append(row)
            if len(chosen) == limit:
                break
    return chosen


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
