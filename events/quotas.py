"""Quota resources, Nova's defaults, and the arithmetic the quota processor and the API share (pure)."""

from __future__ import annotations

from novalog.events.records import Flavor
from novalog.events.state import QuotaState

UNLIMITED = -1

# Nova's quota resources, and their defaults (nova.conf [quota]); the network ones are shown, not enforced.
DEFAULT_LIMITS: dict[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "security_group_rules": 20,
}
ENFORCED = ("instances", "cores", "ram")


def limits_of(state: QuotaState | None, defaults: dict[str, int]) -> dict[str, int]:
    """The limits in force: the defaults, then the project's overrides."""
    return {**DEFAULT_LIMITS, **defaults, **(state.limits if state else {})}


def counted(flavor: Flavor) -> dict[str, int]:
    """What one instance of the flavor counts against its project, per enforced resource."""
    return {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram}


def usage_of(state: QuotaState | None) -> dict[str, int]:
    """What the project's counted instances use, per enforced resource: the running totals, and what an older row counted one by one."""
    if state is None:
        return {"instances": 0, "cores": 0, "ram": 0}
    legacy = state.instances.values()
    return {
        "instances": state.used.get("instances", 0) + len(legacy),
        "cores": state.used.get("cores", 0) + sum(r[0] for r in legacy),
        "ram": state.used.get("ram", 0) + sum(r[1] for r in legacy),
    }


def group_members(state: QuotaState | None, group_id: str) -> int:
    """How many of the project's counted instances are in the server group."""
    if state is None:
        return 0
    return state.group_members.get(group_id, 0) + sum(1 for g in state.groups.values() if g == group_id)
