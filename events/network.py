"""The keys of network.events: a network (and everything on it) by its id, a security group (and its rules) by its id."""

from __future__ import annotations


def network_key(network_id: str) -> str:
    return f"network:{network_id}"


def security_group_key(security_group_id: str) -> str:
    return f"security_group:{security_group_id}"
