"""The keys of tenant.events: a key pair by its owner and name (so names are unique per user), a server group by its id."""

from __future__ import annotations


def keypair_key(user_id: str, name: str) -> str:
    return f"keypair:{user_id}:{name}"


def server_group_key(group_id: str) -> str:
    return f"server_group:{group_id}"
