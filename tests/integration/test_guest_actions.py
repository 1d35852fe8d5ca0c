"""Rebuild, createImage, rescue and unrescue end to end on the libvirt test driver, through the API and the openstack CLI.

API -> request event -> instance table -> the host's agent -> libvirt -> report -> Nova's status. The test
driver's guests have no disk: a snapshot of one holds its domain definition (what that hypervisor has),
and a server booted from it boots as any server does on that driver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from identity_harness import Identity, keystone_stack
from image_harness import image_client, register_image
from novalog.demo import ComputeClient
from stack_harness import SMALL_FLAVOR, assert_log_holds, wait_until

HOSTS = [("gst1", 4, 8192, 80)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def identity(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    with keystone_stack(kafka_bootstrap, tmp_path_factory.mktemp("guest-actions"), HOSTS) as env:
        yield env


def settled(client: ComputeClient, server_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        server = client.show(server_id) or {}
        return server if server.get("status") == status and server.get("OS-EXT-STS:task_state") is None else None

    return wait_until(reached, timeout, f"{server_id} to settle in {status}")


def test_rebuild_snapshot_boot_from_it_rescue_and_unrescue(identity: Identity) -> None:
    token = identity.token()
    client = ComputeClient(identity.url, token)
    with image_client(identity.url, token) as images:
        other = register_image(images, "other-image")
        server_id = client.boot("guest", SMALL_FLAVOR["id"], image=identity.image_id)
        settled(client, server_id, "ACTIVE")

        rebuilt = client.http.post(f"/servers/{server_id}/action", json={"rebuild": {"imageRef": other["id"], "name": "guest-2"}})
        assert rebuilt.status_code == 202, rebuilt.text
        answered = rebuilt.json()["server"]
        assert (answered["status"], answered["image"]["id"], len(answered["adminPass"])) == ("REBUILD", other["id"], 12)
        server = settled(client, server_id, "ACTIVE")
        assert (server["image"]["id"], server["name"], server["OS-EXT-STS:power_state"]) == (other["id"], "guest-2", 1)

        snap = client.http.post(f"/servers/{server_id}/action", json={"createImage": {"name": "guest-snap"}})
        assert snap.status_code == 202, snap.text
        image_id = snap.headers["location"].rsplit("/", 1)[1]
        image = wait_until(lambda: (lambda r: r if r.get("status") == "active" else None)(images.get(f"/images/{image_id}").json()), 30,
                           "the snapshot to be active")
        assert (image["image_type"], image["instance_uuid"], image["base_image_ref"], image["owner"]) == (
            "snapshot", server_id, other["id"], answered["tenant_id"])
        data = images.get(f"/images/{image_id}/file")
        assert data.status_code == 200 and "<uuid>".encode() in data.content and server_id.encode() in data.content  # the definition
        settled(client, server_id, "ACTIVE")

        from_snap = client.boot("from-snap", SMALL_FLAVOR["id"], image=image_id)
        assert settled(client, from_snap, "ACTIVE")["image"]["id"] == image_id

        rescue = client.http.post(f"/servers/{server_id}/action", json={"rescue": {"rescue_image_ref": identity.image_id}})
        assert rescue.status_code == 200 and len(rescue.json()["adminPass"]) == 12
        assert settled(client, server_id, "RESCUE")["OS-EXT-STS:vm_state"] == "rescued"
        refused = client.http.post(f"/servers/{server_id}/action", json={"rebuild": {"imageRef": other["id"]}})
        assert refused.status_code == 409 and "while it is in vm_state rescued" in refused.text
        assert client.http.post(f"/servers/{server_id}/action", json={"unrescue": None}).status_code == 202
        settled(client, server_id, "ACTIVE")

        # Nova's task states on the way, as the instance table published them
        from novalog.events import topics

        rows = [r for _, r in identity.running.records(topics.STATE_INSTANCES) if r is not None and r.instance_id == server_id]
        seen = {r.task_state for r in rows}
        assert {"rebuilding", "image_snapshot_pending", "rescuing", "unrescuing"} <= seen, seen  # each the answer to a request
        assert "rescued" in {r.vm_state for r in rows}
        # The agent's snapshot steps, in order on the instance's partition (the table may publish only the last of a quick run)
        steps = [r.task_state for _, r in identity.running.records(topics.INSTANCE_EVENTS)
                 if type(r).__name__ == "InstanceSnapshotProgressed" and r.instance_id == server_id]
        assert steps == ["image_snapshot", "image_pending_upload", "image_uploading"]
        actions = client.http.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
        assert [a["action"] for a in actions] == ["unrescue", "rescue", "createImage", "rebuild", "create"]
        for sid in (server_id, from_snap):
            client.delete(sid)
            wait_until(lambda sid=sid: client.show(sid) is None, 30, f"{sid} to be gone")
    assert_log_holds(identity.running)


def test_the_openstack_cli_rebuilds_and_snapshots_a_server(identity: Identity) -> None:
    token = identity.token()
    client = ComputeClient(identity.url, token)
    with image_client(identity.url, token) as images:
        other = register_image(images, "cli-other")
    server_id = client.boot("cli-guest", SMALL_FLAVOR["id"], image=identity.image_id)
    settled(client, server_id, "ACTIVE")
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}

    def openstack(*args: str) -> Any:
        done = subprocess.run([str(BIN / "openstack"), "--os-cloud", "novalog", *args, "-f", "json"], env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout[done.stdout.index("{"):])  # after --wait's progress ("Complete")

    rebuilt = openstack("server", "rebuild", "--image", other["id"], "--wait", server_id)
    assert rebuilt["id"] == server_id and other["id"] in json.dumps(rebuilt["image"])
    assert settled(client, server_id, "ACTIVE")["image"]["id"] == other["id"]

    image = openstack("server", "image", "create", "--name", "cli-snap", "--wait", server_id)
    assert (image["name"], image["status"]) == ("cli-snap", "active")
    assert f'"instance_uuid": "{server_id}"' in json.dumps(image["properties"])
    client.delete(server_id)
    wait_until(lambda: client.show(server_id) is None, 30, "the server to be gone")


def test_a_redelivered_rebuild_order_is_reported_again_without_reimaging(identity: Identity) -> None:
    """An agent killed after acting gets its order again: the guest is not rebuilt twice, the same report comes again."""
    from novalog.events import topics
    from novalog.events.codec import encode

    token = identity.token()
    client = ComputeClient(identity.url, token)
    server_id = client.boot("redelivered", SMALL_FLAVOR["id"], image=identity.image_id)
    settled(client, server_id, "ACTIVE")
    assert client.http.post(f"/servers/{server_id}/action", json={"rebuild": {"imageRef": identity.image_id}}).status_code == 202
    settled(client, server_id, "ACTIVE")
    agent_topic, events_topic = f"{topics.AGENT_COMMANDS}.{HOSTS[0][0]}", topics.INSTANCE_EVENTS

    def of_server(kind: str) -> list[Any]:
        return [r for _, r in identity.running.records(events_topic) if type(r).__name__ == kind and r.instance_id == server_id]

    (order,) = [r for _, r in identity.running.records(agent_topic) if type(r).__name__ == "InstanceRebuildOrdered" and r.instance_id == server_id]
    (report,) = of_server("InstanceRebuilt")
    starts = len(of_server("InstanceSpawned"))
    assert starts == 2  # the boot's STARTED and the rebuild's: a second rebuild would add one

    identity.running.produce_raw(identity.running.topic(agent_topic), server_id.encode(), encode(order))
    again = wait_until(lambda: (lambda found: found if len(found) == 2 else None)(of_server("InstanceRebuilt")), 30, "the report again")

    assert again[1].envelope.event_id == report.envelope.event_id  # the same fact, derived from the same order
    assert len(of_server("InstanceSpawned")) == starts  # and the guest did not start again
    assert settled(client, server_id, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    client.delete(server_id)
    wait_until(lambda: client.show(server_id) is None, 30, "the server to be gone")
