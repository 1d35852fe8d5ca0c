"""Key pairs and server groups as Nova shows them, per microversion (up to this API's maximum).

* key pairs: `type` from 2.2; the list wraps each item in `{"keypair": ...}`;
  show adds Nova's database columns (id, user_id, deleted, created_at...);
* server groups below 2.13: `{id, name, policies, members, metadata}`, no
  project_id/user_id (2.13) and `policies` as a one-item list (until 2.64).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from novalog.api.microversion import Version
from novalog.events.state import KeypairState, ServerGroupState

V2_2 = Version(2, 2)


def _time(at: datetime | None) -> str | None:
    """Nova's database timestamps: ISO 8601 with microseconds, no zone."""
    return None if at is None else at.replace(tzinfo=None).isoformat(timespec="microseconds")


def _typed(view: dict[str, Any], row: KeypairState, version: Version) -> dict[str, Any]:
    return {**view, "type": row.key_type} if version >= V2_2 else view


def keypair_created(row: KeypairState, private_key: str | None, version: Version) -> dict[str, Any]:
    view = {"name": row.name, "public_key": row.public_key, "fingerprint": row.fingerprint, "user_id": row.user_id}
    if private_key is not None:
        view["private_key"] = private_key
    return {"keypair": _typed(view, row, version)}


def keypair_list(rows: list[KeypairState], version: Version) -> dict[str, Any]:
    return {"keypairs": [{"keypair": _typed({"name": r.name, "public_key": r.public_key, "fingerprint": r.fingerprint}, r, version)} for r in rows]}


def keypair_detail(row: KeypairState, version: Version) -> dict[str, Any]:
    view = {
        "name": row.name,
        "public_key": row.public_key,
        "fingerprint": row.fingerprint,
        "user_id": row.user_id,
        "id": row.keypair_id,
        "created_at": _time(row.created_at),
        "updated_at": None,
        "deleted": False,
        "deleted_at": None,
    }
    return {"keypair": _typed(view, row, version)}


def server_group(row: ServerGroupState, members: list[str], version: Version = Version(2, 1)) -> dict[str, Any]:
    view: dict[str, Any] = {"id": row.group_id, "name": row.name, "policies": [row.policy], "members": members, "metadata": {}}
    if version >= Version(2, 13):
        view.update(project_id=row.project_id, user_id=row.user_id)
    return view
