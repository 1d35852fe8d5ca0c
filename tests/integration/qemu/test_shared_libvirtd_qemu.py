"""Two novalog hosts on one libvirtd, each with a guest of the same flavor: no clash, and libvirt shows the API's names.

Guests are named after their instance name (Nova's instance_name_template
over a number the log assigns, unique in the deployment), no longer after a
name every host would give the same instance alike. What `virsh list` shows
an operator is what `OS-EXT-SRV-ATTR:instance_name` shows an admin.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_harness import URI, own_instance_names, remove_guests, session_host, wait_for_console

from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import GuestImage
from stack_harness import RunningStack, stack_settings, wait_until

pytestmark = pytest.mark.libvirtd

HOSTS = [session_host(f"qemu-sh{i}") for i in (1, 2)]
# Two of them do not fit one 1 GiB host: the scheduler puts one guest on each.
HALF = {"name": "q.half", "id": "q-half", "vcpus": 1, "ram": 640, "disk": 1}
BOOTED = "novalog guest booted"


def hosts_toml(image: GuestImage) -> str:
    return "".join(
        f'[[hosts]]\nname = "{host}"\nvcpus = 2\nmemory_mb = 1024\ndisk_gb = 10\nuri = "{URI}"\n'
        f'kernel = "{image.kernel}"\ninitrd = "{image.initrd}"\nbase_image = "{image.base_image}"\n'
        f'instances_dir = "{image.instances_dir}"\n'
        for host in HOSTS
    )


def virsh_names(*flags: str) -> set[str]:
    listed = subprocess.run(["virsh", "-c", URI, "list", "--name", *flags], capture_output=True, text=True, timeout=60, check=True)
    return set(listed.stdout.split())


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path, guest_image: GuestImage) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path, [], instance_name_template=own_instance_names())
    Path(settings.hosts_file).write_text(hosts_toml(guest_image))
    running = RunningStack(settings, HOSTS)
    try:
        yield running.start()
    finally:
        try:
            running.stop()
        finally:
            remove_guests(guest_image, HOSTS)


def test_two_hosts_on_one_libvirtd_each_run_a_guest_named_as_the_api_names_it(stack: RunningStack, guest_image: GuestImage) -> None:
    client = stack.client
    client.ensure_flavor(HALF)
    ids = [client.boot(f"twin-{i}", HALF["id"]) for i in range(2)]

    servers = client.wait_settled(ids, 120)

    assert [servers[sid]["status"] for sid in ids] == ["ACTIVE", "ACTIVE"], (servers, stack.logs())
    assert sorted(servers[sid]["OS-EXT-SRV-ATTR:host"] for sid in ids) == sorted(HOSTS)
    names = {sid: servers[sid]["OS-EXT-SRV-ATTR:instance_name"] for sid in ids}
    assert len(set(names.values())) == 2 and all(n.startswith("instance-") for n in names.values()), names
    # What libvirt shows an operator: the very names the API shows.
    assert set(names.values()) <= virsh_names()
    for sid in ids:
        with LibvirtDriver(URI, servers[sid]["OS-EXT-SRV-ATTR:host"], image=guest_image) as observer:
            # Each host sees its own guest only, under that name, and it booted.
            assert [(g.instance_id, g.domain_name) for g in observer.list_guests()] == [(sid, names[sid])]
            wait_for_console(observer, sid, BOOTED, timeout=90)

    for sid in ids:
        client.delete(sid)
    for sid in ids:
        wait_until(lambda sid=sid: client.show(sid) is None, 90, f"{sid} to be gone")
    assert not set(names.values()) & virsh_names("--all")
