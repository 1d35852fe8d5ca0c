"""The keys of tenant.events: a key pair by its owner and name (so names are unique per user), a server group by its id."""

from __future__ import annotations


def keypair_key(user_id: str, name: str) -> str:
    return f"keypair:{user_id}:{name}"


def keypair_quota_key(user_id: str) -> str:
    """Whose key_pairs quota a key pair counts against: its user's (Nova counts key pairs per user, not per project).

    The quota writer keeps one row under this key for the user's key pairs,
    whatever project they were made in, beside the projects' rows.
    """
    return f"user:{user_id}"


def server_group_key(group_id: str) -> str:
    return f"server_group:{group_id}"
