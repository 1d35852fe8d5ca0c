"""Rebuild, createImage and rescue on a real QEMU guest, seen on its serial console.

The tiny guest prints the first line of its first disk (`disk: <label>`) at
every boot. Two images with their own labels are uploaded to the image
catalog: a rebuild makes the guest's disk afresh from the other image, a
snapshot is that disk flattened into the image store (a qcow2 of its own, no
backing file), which a new server then boots; a rescue boots the rescue
image's disk first with the server's own second, and unrescue boots its own
again.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_harness import URI, domain_of, own_instance_names, remove_guests, session_host, wait_for_console

from image_harness import image_client, register_image
from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import GuestImage
from stack_harness import RunningStack, stack_settings, wait_until

pytestmark = pytest.mark.libvirtd

HOST = session_host("qemu-gst1")
TINY = {"name": "qg.tiny", "id": "qg-tiny", "vcpus": 1, "ram": 128, "disk": 1}


def labelled_disk(tmp: Path, label: str) -> bytes:
    """A raw 1 MiB disk whose first line is `label`."""
    raw = tmp / f"{label}.raw"
    raw.write_bytes(f"{label}\n".encode())
    with raw.open("r+b") as disk:
        disk.truncate(1 << 20)
    return raw.read_bytes()


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, guest_image: GuestImage) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("qemu-guest")
    settings = stack_settings(kafka_bootstrap, tmp, [], instance_name_template=own_instance_names())
    Path(settings.hosts_file).write_text(
        f'[[hosts]]\nname = "{HOST}"\nvcpus = 2\nmemory_mb = 1024\ndisk_gb = 10\nuri = "{URI}"\n'
        f'kernel = "{guest_image.kernel}"\ninitrd = "{guest_image.initrd}"\nbase_image = "{guest_image.base_image}"\n'
        f'instances_dir = "{guest_image.instances_dir}"\n'
    )
    running = RunningStack(settings, [HOST])
    try:
        yield running.start()
    finally:
        try:
            running.stop()
        finally:
            remove_guests(guest_image, [HOST])


def settled(stack: RunningStack, server_id: str, status: str, timeout: float = 90) -> dict:
    def reached() -> dict | None:
        server = stack.client.show(server_id) or {}
        return server if server.get("status") == status and server.get("OS-EXT-STS:task_state") is None else None

    return wait_until(reached, timeout, f"{server_id} to settle in {status}")


def test_rebuild_snapshot_and_rescue_show_on_the_console(stack: RunningStack, guest_image: GuestImage, tmp_path: Path) -> None:
    client = stack.client
    client.ensure_flavor(TINY)
    with image_client(stack.stack.api_url, "admin:admin") as http:
        first = register_image(http, "label-a", labelled_disk(tmp_path, "novalog-image-a"), disk_format="raw")
        second = register_image(http, "label-b", labelled_disk(tmp_path, "novalog-image-b"), disk_format="raw")
        server_id = client.boot("reimaged", TINY["id"], image=first["id"])
        settled(stack, server_id, "ACTIVE")
        with LibvirtDriver(URI, HOST, image=guest_image) as observer:
            wait_for_console(observer, server_id, "disk: novalog-image-a,", timeout=90)

            # rebuild: the same guest (same domain), its disk made afresh from the other image
            uuid_before = domain_of(observer, server_id).UUIDString()
            rebuilt = client.http.post(f"/servers/{server_id}/action", json={"rebuild": {"imageRef": second["id"]}})
            assert rebuilt.status_code == 202, rebuilt.text
            assert settled(stack, server_id, "ACTIVE")["image"]["id"] == second["id"]
            console = wait_for_console(observer, server_id, "disk: novalog-image-b,", timeout=90)
            assert console.count("novalog guest booted") == 2, console
            assert domain_of(observer, server_id).UUIDString() == uuid_before

            # createImage: the disk flattened into the image store; a new server boots it
            snap = client.http.post(f"/servers/{server_id}/action", json={"createImage": {"name": "reimaged-snap"}})
            assert snap.status_code == 202, snap.text
            image_id = snap.headers["location"].rsplit("/", 1)[1]
            image = wait_until(lambda: (lambda r: r if r["status"] == "active" else None)(http.get(f"/images/{image_id}").json()), 60, "the snapshot")
            assert (image["disk_format"], image["image_type"], image["base_image_ref"]) == ("qcow2", "snapshot", second["id"])
            stored = str(Path(stack.settings.image_store()) / image_id)
            info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", stored], capture_output=True, text=True, check=True).stdout)
            assert info["format"] == "qcow2" and "backing-filename" not in info, info
            settled(stack, server_id, "ACTIVE")
            copy_id = client.boot("from-snapshot", TINY["id"], image=image_id)
            settled(stack, copy_id, "ACTIVE")
            wait_for_console(observer, copy_id, "disk: novalog-image-b,", timeout=90)

            # rescue: the rescue image's disk first; unrescue: the server's own again
            rescue = client.http.post(f"/servers/{server_id}/action", json={"rescue": {"rescue_image_ref": first["id"]}})
            assert rescue.status_code == 200, rescue.text
            settled(stack, server_id, "RESCUE")
            wait_for_console(observer, server_id, "disk: novalog-image-a,", count=2, timeout=90)
            disks = domain_of(observer, server_id).XMLDesc(0)
            assert "disk.rescue.qcow2" in disks and "<target dev='vdb'" in disks
            assert client.http.post(f"/servers/{server_id}/action", json={"unrescue": None}).status_code == 202
            settled(stack, server_id, "ACTIVE")
            wait_for_console(observer, server_id, "disk: novalog-image-b,", count=2, timeout=90)
            assert "disk.rescue.qcow2" not in domain_of(observer, server_id).XMLDesc(0)

        for sid in (server_id, copy_id):
            client.delete(sid)
            wait_until(lambda sid=sid: client.show(sid) is None, 60, f"{sid} to be gone")
    cache = Path(guest_image.instances_dir) / "_base"
    for made in (first["id"], second["id"], image_id):
        (cache / made).unlink(missing_ok=True)
