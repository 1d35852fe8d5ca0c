"""A QEMU guest booted from the image catalog: the tiny guest's disk, kernel and initrd uploaded as images.

The host is configured with a base image, kernel and initrd that do not
exist, so the guest can only boot what the image catalog holds: the disk
image's bits (an overlay on the host's cached copy) and the images its
kernel_id and ramdisk_id properties name.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_harness import URI, domain_of, own_instance_names, remove_guests, session_host, wait_for_console

from image_harness import image_client, register_image
from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import GuestImage
from stack_harness import RunningStack, stack_settings, wait_until

pytestmark = pytest.mark.libvirtd

HOST = session_host("qemu-img1")
TINY = {"name": "qi.tiny", "id": "qi-tiny", "vcpus": 1, "ram": 128, "disk": 1}
BOOTED = "novalog guest booted"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, guest_image: GuestImage) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("qemu-images")
    settings = stack_settings(kafka_bootstrap, tmp, [], instance_name_template=own_instance_names())
    missing = tmp / "not-here"
    Path(settings.hosts_file).write_text(
        f'[[hosts]]\nname = "{HOST}"\nvcpus = 2\nmemory_mb = 1024\ndisk_gb = 10\nuri = "{URI}"\n'
        f'kernel = "{missing}/vmlinux"\ninitrd = "{missing}/initrd.gz"\nbase_image = "{missing}/base.qcow2"\n'
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


def test_a_server_boots_the_uploaded_disk_kernel_and_initrd(stack: RunningStack, guest_image: GuestImage) -> None:
    client = stack.client
    client.ensure_flavor(TINY)
    with image_client(stack.stack.api_url, "admin:admin") as http:
        kernel = register_image(http, "tiny-kernel", Path(guest_image.kernel).read_bytes(), disk_format="aki", container_format="aki")
        ramdisk = register_image(http, "tiny-initrd", Path(guest_image.initrd).read_bytes(), disk_format="ari", container_format="ari")
        disk = register_image(
            http, "tiny-guest", Path(guest_image.base_image).read_bytes(), kernel_id=kernel["id"], ramdisk_id=ramdisk["id"], architecture="x86_64"
        )
    cache = Path(guest_image.instances_dir) / "_base"
    try:
        server_id = client.boot("from-image", TINY["id"], image=disk["id"])

        server = client.wait_settled([server_id], 90)[server_id]
        assert (server["status"], server["image"]["id"]) == ("ACTIVE", disk["id"]), (server, stack.logs())
        with LibvirtDriver(URI, HOST, image=guest_image) as observer:
            console = wait_for_console(observer, server_id, BOOTED)
            definition = domain_of(observer, server_id).XMLDesc(0)
        assert f"{BOOTED} (disk: novalog-base-1," in console
        assert f"{cache}/{kernel['id']}" in definition and f"{cache}/{ramdisk['id']}" in definition
        assert (cache / disk["id"]).read_bytes() == Path(guest_image.base_image).read_bytes()

        client.delete(server_id)
        wait_until(lambda: client.show(server_id) is None, 60, "the server to be gone")
    finally:
        for image in (kernel, ramdisk, disk):
            (cache / image["id"]).unlink(missing_ok=True)
        if cache.is_dir() and not any(cache.iterdir()):
            shutil.rmtree(cache)
