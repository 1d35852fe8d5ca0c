"""Rebuild, createImage, rescue and unrescue on the in-memory backend, over HTTP: Nova's answers, states and 409s."""

from __future__ import annotations

import pytest

from memory_api import booted, fault, flavor


@pytest.fixture
def server_id(admin, member) -> str:
    flavor(admin)
    return booted(member, "guest")


def show(http, server_id: str) -> dict:
    resp = http.get(f"/servers/{server_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]


def act(http, server_id: str, body: dict):
    return http.post(f"/servers/{server_id}/action", json=body)


def test_a_rebuild_answers_the_server_in_rebuild_and_ends_active_on_the_new_image(member, server_id) -> None:
    resp = act(member, server_id, {"rebuild": {"imageRef": "debian", "name": "renamed", "metadata": {"role": "db"}, "adminPass": "s3cret",
                                               "accessIPv4": "192.0.2.7"}})
    assert resp.status_code == 202, resp.text
    answered = resp.json()["server"]
    assert (answered["id"], answered["status"], answered["image"]["id"], answered["name"], answered["adminPass"]) == (
        server_id, "REBUILD", "debian", "renamed", "s3cret")
    assert (answered["metadata"], answered["accessIPv4"], answered["accessIPv6"]) == ({"role": "db"}, "192.0.2.7", "")
    shown = show(member, server_id)
    assert (shown["status"], shown["image"]["id"], shown["name"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", "debian", "renamed", None)
    assert shown["accessIPv4"] == "192.0.2.7"


def test_a_stopped_server_is_rebuilt_stopped_and_a_password_is_made_when_none_is_given(member, server_id) -> None:
    assert act(member, server_id, {"os-stop": None}).status_code == 202
    resp = act(member, server_id, {"rebuild": {"imageRef": "http://glance/images/debian"}})
    assert resp.status_code == 202 and len(resp.json()["server"]["adminPass"]) == 12
    assert (show(member, server_id)["status"], show(member, server_id)["image"]["id"]) == ("SHUTOFF", "debian")


@pytest.mark.parametrize(("body", "message"), [
    ({"rebuild": {}}, "Invalid input for field/attribute rebuild. Value: {}. 'imageRef' is a required property"),
    ({"rebuild": {"imageRef": "x", "wings": 2}},
     "Invalid input for field/attribute rebuild. Value: {'imageRef': 'x', 'wings': 2}. Additional properties are not allowed ('wings' was unexpected)"),
    ({"createImage": {}}, "Invalid input for field/attribute createImage. Value: {}. 'name' is a required property"),
    ({"rescue": {"color": "red"}},
     "Invalid input for field/attribute rescue. Value: {'color': 'red'}. Additional properties are not allowed ('color' was unexpected)"),
    ({"rebuild": {"imageRef": "x", "accessIPv4": "not-an-address"}},
     "Invalid input for field/attribute accessIPv4. Value: not-an-address. 'not-an-address' is not a 'ipv4'"),
], ids=["rebuild without image", "rebuild extra key", "image without name", "rescue extra key", "rebuild bad address"])
def test_bodies_are_checked_as_nova_checks_them(member, server_id, body: dict, message: str) -> None:
    fault(act(member, server_id, body), 400, message)


def test_create_image_answers_the_image_location_and_the_snapshot_goes_active(member, server_id) -> None:
    resp = act(member, server_id, {"createImage": {"name": "snap", "metadata": {"purpose": "backup"}}})
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    location = resp.headers["location"]
    assert location.startswith("http://testserver/image/v2/images/")
    image_id = location.rsplit("/", 1)[1]
    image = member.get(f"http://testserver/image/v2/images/{image_id}")
    assert image.status_code == 200, image.text
    seen = image.json()
    assert (seen["name"], seen["status"], seen["visibility"], seen["disk_format"], seen["owner"]) == ("snap", "active", "private", "qcow2", "demo")
    assert (seen["image_type"], seen["instance_uuid"], seen["base_image_ref"], seen["purpose"]) == ("snapshot", server_id, "cirros", "backup")
    assert show(member, server_id)["OS-EXT-STS:task_state"] is None


def test_rescue_and_unrescue(member, server_id) -> None:
    fault(act(member, server_id, {"unrescue": None}), 409, f"Cannot 'unrescue' instance {server_id} while it is in vm_state active")
    resp = act(member, server_id, {"rescue": {"adminPass": "rescue-me"}})
    assert (resp.status_code, resp.json()) == (200, {"adminPass": "rescue-me"})
    assert (show(member, server_id)["status"], show(member, server_id)["OS-EXT-STS:vm_state"]) == ("RESCUE", "rescued")
    fault(act(member, server_id, {"rescue": None}), 409, f"Cannot 'rescue' instance {server_id} while it is in vm_state rescued")
    fault(act(member, server_id, {"rebuild": {"imageRef": "x"}}), 409, f"Cannot 'rebuild' instance {server_id} while it is in vm_state rescued")
    fault(act(member, server_id, {"createImage": {"name": "s"}}), 409, f"Cannot 'createImage' instance {server_id} while it is in vm_state rescued")
    assert act(member, server_id, {"unrescue": None}).status_code == 202
    assert show(member, server_id)["status"] == "ACTIVE"
    assert len(act(member, server_id, {"rescue": None}).json()["adminPass"]) == 12


def test_the_actions_are_recorded_and_refused_to_a_reader(admin, member, memory_api, server_id) -> None:
    act(member, server_id, {"rebuild": {"imageRef": "debian"}})
    act(member, server_id, {"createImage": {"name": "snap"}})
    act(member, server_id, {"rescue": None})
    act(member, server_id, {"unrescue": None})
    actions = member.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions][:4] == ["unrescue", "rescue", "createImage", "rebuild"]
    events = admin.get(f"/servers/{server_id}/os-instance-actions/{actions[3]['request_id']}").json()["instanceAction"]["events"]
    assert [(e["event"], e["result"]) for e in events] == [("compute_rebuild_instance", "Success")]
