"""Identity's shared vocabulary: the one domain, the roles and what each implies, and the keys of identity.events.

Users and projects are keyed by name (`user:<domain>:<name>`,
`project:<domain>:<name>`), so every event about one name is folded by one
writer, in log order: that is what makes names unique.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"

# Keystone's default roles and their implications (admin -> member -> reader).
IMPLIES: dict[str, tuple[str, ...]] = {"admin": ("member",), "member": ("reader",), "reader": ()}
ROLES: tuple[str, ...] = tuple(IMPLIES)


def user_key(domain_id: str, name: str) -> str:
    return f"user:{domain_id}:{name}"


def project_key(domain_id: str, name: str) -> str:
    return f"project:{domain_id}:{name}"


def effective_roles(assigned: Iterable[str]) -> tuple[str, ...]:
    """The assigned roles and every role they imply, in the order of ROLES.

    admin -> (admin, member, reader); member -> (member, reader); reader -> (reader).
    """
    found: set[str] = set()
    pending = list(assigned)
    while pending:
        role = pending.pop()
        if role not in found:
            found.add(role)
            pending.extend(IMPLIES.get(role, ()))
    return tuple(r for r in ROLES if r in found) + tuple(sorted(found - set(ROLES)))
