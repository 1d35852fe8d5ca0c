"""Server metadata, lock/unlock and the console on the in-memory backend, over HTTP, with Nova's codes and words."""

from __future__ import annotations

import pytest

from memory_api import booted, client, fault, flavor, memory_settings
from novalog.events.console import FAKE_CONSOLE
from novalog.memory import memory_backend

POLICY = "Policy doesn't allow {} to be performed."


@pytest.fixture
def server_id(admin, member) -> str:
    flavor(admin)
    return booted(member, "web", metadata={"role": "web"})


def act(http, server_id: str, body: dict):
    return http.post(f"/servers/{server_id}/action", json=body)


def shown(http, server_id: str, version: str | None = None) -> dict:
    headers = {} if version is None else {"OpenStack-API-Version": f"compute {version}"}
    resp = http.get(f"/servers/{server_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]


def actions(http, server_id: str) -> list[tuple[str, str]]:
    listed = http.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    return [(a["action"], a["user_id"]) for a in reversed(listed)]


# --- metadata -------------------------------------------------------------------------------


def test_metadata_set_at_create_is_listed_and_shown(member, server_id) -> None:
    assert member.get(f"/servers/{server_id}/metadata").json() == {"metadata": {"role": "web"}}
    assert member.get(f"/servers/{server_id}/metadata/role").json() == {"meta": {"role": "web"}}
    fault(member.get(f"/servers/{server_id}/metadata/nope"), 404, "Metadata item was not found")


def test_post_merges_put_replaces_and_the_server_shows_it(member, server_id) -> None:
    resp = member.post(f"/servers/{server_id}/metadata", json={"metadata": {"tier": "gold", "role": "db"}})
    assert (resp.status_code, resp.json()) == (200, {"metadata": {"role": "db", "tier": "gold"}})
    assert shown(member, server_id)["metadata"] == {"role": "db", "tier": "gold"}

    resp = member.put(f"/servers/{server_id}/metadata", json={"metadata": {"only": "this"}})
    assert (resp.status_code, resp.json()) == (200, {"metadata": {"only": "this"}})
    assert member.get(f"/servers/{server_id}/metadata").json() == {"metadata": {"only": "this"}}


def test_one_item_is_set_and_deleted(member, server_id) -> None:
    resp = member.put(f"/servers/{server_id}/metadata/color", json={"meta": {"color": "blue"}})
    assert (resp.status_code, resp.json()) == (200, {"meta": {"color": "blue"}})
    assert shown(member, server_id)["metadata"] == {"role": "web", "color": "blue"}

    assert member.delete(f"/servers/{server_id}/metadata/role").status_code == 204
    assert shown(member, server_id)["metadata"] == {"color": "blue"}
    fault(member.delete(f"/servers/{server_id}/metadata/role"), 404, "Metadata item was not found")


@pytest.mark.parametrize(("path", "body", "message"), [
    ("metadata/color", {"meta": {"colour": "blue"}}, "Request body and URI mismatch"),
    ("metadata/color", {"meta": {}},
     "Invalid input for field/attribute meta. Value: {}. {} is too short"),
    ("metadata", {"metadata": {"k" * 256: "v"}}, None),
    ("metadata", {"metadata": {"k": "v" * 256}}, None),
    ("metadata", {"metadata": {"bad/key": "v"}}, None),
    ("metadata", {"metadata": {"k": 1}}, None),
    ("metadata", {"meta": {"k": "v"}}, None),
], ids=["key not the url's", "no item", "key too long", "value too long", "key out of format", "not a string", "wrong wrapper"])
def test_metadata_bodies_nova_refuses(member, server_id, path: str, body: dict, message: str | None) -> None:
    method = member.put if path.startswith("metadata/") else member.post
    resp = method(f"/servers/{server_id}/{path}", json=body)
    assert resp.status_code == 400, resp.text
    if message is not None:
        fault(resp, 400, message)
    assert member.get(f"/servers/{server_id}/metadata").json() == {"metadata": {"role": "web"}}


def test_metadata_items_are_bounded_by_the_projects_quota(admin, member, server_id) -> None:
    assert admin.put("/os-quota-sets/demo", json={"quota_set": {"metadata_items": 2}}).status_code == 200
    assert member.post(f"/servers/{server_id}/metadata", json={"metadata": {"a": "1"}}).status_code == 200
    # role + a + b = 3 items on one server, over 2
    fault(member.post(f"/servers/{server_id}/metadata", json={"metadata": {"b": "2"}}), 403, "Maximum number of metadata items exceeds 2")
    # a replace counts only what it leaves
    assert member.put(f"/servers/{server_id}/metadata", json={"metadata": {"x": "1", "y": "2"}}).status_code == 200
    fault(member.post("/servers", json={"server": {"name": "big", "flavorRef": "2", "imageRef": "cirros", "metadata": {"1": "", "2": "", "3": ""}}}),
          403, "Maximum number of metadata items exceeds 2")


def test_metadata_cannot_change_while_the_server_builds(tmp_path) -> None:
    # No agent answers: the server stays building on its host, and Nova's vm_state check refuses.
    admin = client(memory_backend(memory_settings(tmp_path), agents=False))
    flavor(admin)
    server_id = booted(admin, "stuck")
    assert shown(admin, server_id)["status"] == "BUILD"
    fault(admin.post(f"/servers/{server_id}/metadata", json={"metadata": {"a": "1"}}), 409,
          f"Cannot 'update metadata' instance {server_id} while it is in vm_state building")


def test_another_projects_server_is_404_before_anything_else(admin, member) -> None:
    flavor(admin)
    theirs = booted(admin, "theirs")
    fault(member.get(f"/servers/{theirs}/metadata"), 404, f"Instance {theirs} could not be found.")
    fault(member.delete(f"/servers/{theirs}/metadata/x"), 404, f"Instance {theirs} could not be found.")
    fault(member.put(f"/servers/{theirs}/metadata/x", json={"meta": {"y": "1"}}), 404, f"Instance {theirs} could not be found.")
    fault(act(member, theirs, {"lock": None}), 404, f"Instance {theirs} could not be found.")
    fault(act(member, theirs, {"os-getConsoleOutput": {}}), 404, f"Instance {theirs} could not be found.")


# --- lock -----------------------------------------------------------------------------------


def test_a_locked_server_refuses_its_owners_changes_and_shows_locked_from_2_9(member, server_id) -> None:
    assert act(member, server_id, {"lock": None}).status_code == 202
    assert "locked" not in shown(member, server_id)
    assert shown(member, server_id, "2.9")["locked"] is True
    locked = f"Instance {server_id} is locked"
    fault(act(member, server_id, {"os-stop": None}), 409, locked)
    fault(act(member, server_id, {"reboot": {"type": "HARD"}}), 409, locked)
    fault(member.post(f"/servers/{server_id}/metadata", json={"metadata": {"a": "1"}}), 409, locked)
    fault(member.put(f"/servers/{server_id}/metadata/a", json={"meta": {"a": "1"}}), 409, locked)
    fault(member.delete(f"/servers/{server_id}/metadata/role"), 409, locked)
    fault(member.delete(f"/servers/{server_id}"), 409, locked)
    # reading still works, and so does locking again (a no-op for the owner: no second action)
    assert member.get(f"/servers/{server_id}/metadata").status_code == 200
    assert act(member, server_id, {"lock": {}}).status_code == 202
    assert act(member, server_id, {"unlock": None}).status_code == 202
    assert shown(member, server_id, "2.9")["locked"] is False
    assert act(member, server_id, {"os-stop": None}).status_code == 202
    assert [a for a, _ in actions(member, server_id)] == ["create", "lock", "unlock", "stop"]


def test_an_admin_overrides_a_lock_and_only_an_admin_lifts_an_admins_lock(admin, member, server_id) -> None:
    assert act(admin, server_id, {"lock": None}).status_code == 202
    assert admin.post(f"/servers/{server_id}/metadata", json={"metadata": {"by": "admin"}}).status_code == 200
    fault(act(member, server_id, {"unlock": None}), 403, POLICY.format("os_compute_api:os-lock-server:unlock:unlock_override"))
    assert shown(member, server_id, "2.9")["locked"] is True
    assert act(admin, server_id, {"unlock": None}).status_code == 202
    assert shown(member, server_id, "2.9")["locked"] is False
    listed = admin.get(f"/servers/{server_id}/os-instance-actions/{_request_of(member, server_id, 'lock')}").json()["instanceAction"]
    assert (listed["action"], listed["user_id"], [e["event"] for e in listed["events"]]) == ("lock", "admin", ["api_lock"])


def _request_of(http, server_id: str, action: str) -> str:
    listed = http.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    return next(a["request_id"] for a in listed if a["action"] == action)


def test_an_admin_can_delete_a_locked_server(admin, member, server_id) -> None:
    assert act(member, server_id, {"lock": None}).status_code == 202
    assert admin.delete(f"/servers/{server_id}").status_code == 204


# --- console --------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ({}, FAKE_CONSOLE),
    ({"length": None}, FAKE_CONSOLE),
    ({"length": -1}, FAKE_CONSOLE),
    ({"length": 2}, "ANOTHER\nLAST LINE"),
    ({"length": "1"}, "LAST LINE"),
    ({"length": 0}, ""),
], ids=["all", "null", "minus one", "two lines", "digits", "none"])
def test_the_console_is_the_agents_tail(member, server_id, args: dict, expected: str) -> None:
    resp = act(member, server_id, {"os-getConsoleOutput": args})
    assert (resp.status_code, resp.json()) == (200, {"output": expected})


@pytest.mark.parametrize(("args", "message"), [
    ({"length": -2}, "Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1"),
    ({"length": "ten"}, "Invalid input for field/attribute length. Value: ten. 'ten' is not of type 'integer', 'string', 'null'"),
    ({"length": True}, "Invalid input for field/attribute length. Value: True. True is not of type 'integer', 'string', 'null'"),
    ({"lines": 2}, "Invalid input for field/attribute os-getConsoleOutput. Value: {'lines': 2}. "
                   "Additional properties are not allowed ('lines' was unexpected)"),
], ids=["below -1", "not digits", "a boolean", "unknown key"])
def test_console_bodies_nova_refuses(member, server_id, args: dict, message: str) -> None:
    fault(act(member, server_id, {"os-getConsoleOutput": args}), 400, message)


def test_a_locked_server_still_shows_its_console(member, server_id) -> None:
    assert act(member, server_id, {"lock": None}).status_code == 202
    assert act(member, server_id, {"os-getConsoleOutput": {"length": 1}}).json() == {"output": "LAST LINE"}


def test_the_console_of_a_server_without_a_host_is_409(tmp_path) -> None:
    admin = client(memory_backend(memory_settings(tmp_path), scheduler=False))  # nothing places it
    flavor(admin)
    server_id = booted(admin, "unplaced")
    fault(act(admin, server_id, {"os-getConsoleOutput": {}}), 409, f"Instance {server_id} is not ready")


def test_an_ask_no_agent_answers_is_a_clear_fault(tmp_path) -> None:
    silent = memory_backend(memory_settings(tmp_path), agents=False)
    silent.reply_wait = 0.2
    admin = client(silent)
    flavor(admin)
    server_id = booted(admin, "unanswered")
    host = shown(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    fault(act(admin, server_id, {"os-getConsoleOutput": {}}), 504,
          f"The console of instance {server_id} did not come back in time: the agent of host {host} did not answer.")


def test_the_guest_actions_go_through_the_one_lock_check(member, server_id) -> None:
    # rebuild and rescue are lock-checked by their names alone (ACTION_RULES); createImage is not, as in Nova.
    assert act(member, server_id, {"lock": None}).status_code == 202
    locked = f"Instance {server_id} is locked"
    fault(act(member, server_id, {"rebuild": {"imageRef": "cirros"}}), 409, locked)
    fault(act(member, server_id, {"rescue": None}), 409, locked)
    assert act(member, server_id, {"createImage": {"name": "snap"}}).status_code != 409
