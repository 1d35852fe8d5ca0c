"""Quota resources, Nova's defaults, and the arithmetic the quota processor and the API share (pure)."""

from __future__ import annotations

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


def usage_of(state: QuotaState | None) -> dict[str, int]:
    """What the project's counted instances use, per enforced resource."""
    rows = list(state.instances.values()) if state else []
    return {"instances": len(rows), "cores": sum(r[0] for r in rows), "ram": sum(r[1] for r in rows)}
