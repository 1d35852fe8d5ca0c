"""The whole stack on a QEMU host: API -> Kafka -> scheduler -> agent -> libvirtd -> a real guest, and back.

The host's inventory (2 vCPUs, 1 GiB) comes from its hosts entry, not from
what libvirt says of the machine; the flavor is the tiny guest's (1 vCPU,
128 MiB). An observer driver on the same host name looks at the guests
through libvirt, as `virsh` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_harness import URI, domain_of, own_instance_names, remove_guests, session_host, wait_for_console

from novalog.agent.driver import Guest, PowerState
from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import GuestImage
from stack_harness import RunningStack, act, assert_log_holds, assert_replay_identical, stack_settings, wait_until

pytestmark = pytest.mark.libvirtd

HOST = session_host("qemu-cn1")
TINY = {"name": "q.tiny", "id": "q-tiny", "vcpus": 1, "ram": 128, "disk": 1}
LARGER = {"name": "q.larger", "id": "q-larger", "vcpus": 1, "ram": 160, "disk": 1}
BOOTED = "novalog guest booted"


def qemu_hosts_toml(image: GuestImage) -> str:
    return (
        f'[[hosts]]\nname = "{HOST}"\nvcpus = 2\nmemory_mb = 1024\ndisk_gb = 10\nuri = "{URI}"\n'
        f'kernel = "{image.kernel}"\ninitrd = "{image.initrd}"\nbase_image = "{image.base_image}"\n'
        f'instances_dir = "{image.instances_dir}"\n'
    )


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, guest_image: GuestImage) -> Iterator[RunningStack]:
    # One host: a resize can only stay on it (Nova's allow_resize_to_same_host).
    settings = stack_settings(
        kafka_bootstrap, tmp_path_factory.mktemp("qemu-stack"), [], allow_resize_to_same_host=True, instance_name_template=own_instance_names()
    )
    Path(settings.hosts_file).write_text(qemu_hosts_toml(guest_image))
    running = RunningStack(settings, [HOST])
    try:
        yield running.start()
    finally:
        try:
            running.stop()
        finally:
            remove_guests(guest_image, [HOST])


@pytest.fixture
def observer(stack: RunningStack, guest_image: GuestImage) -> Iterator[LibvirtDriver]:
    """The host's guests as libvirt has them (a second connection; it changes nothing)."""
    with LibvirtDriver(URI, HOST, image=guest_image) as driver:
        yield driver




def test_a_server_boots_on_qemu_stops_starts_and_is_deleted_with_its_disk(
    stack: RunningStack, observer: LibvirtDriver, guest_image: GuestImage
) -> None:
    client = stack.client
    (hypervisor,) = client.hypervisors()
    # The configured inventory, not the machine's.
    assert (hypervisor["vcpus"], hypervisor["memory_mb"]) == (2, 1024), hypervisor
    client.ensure_flavor(TINY)

    server_id = client.boot("tiny-1", TINY["id"])

    server = client.wait_settled([server_id], 60)[server_id]
    assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", HOST), (server, stack.logs())
    # The guest is named as the API names the instance (Nova's instance_name_template).
    assert observer.list_guests() == [Guest(server_id, server["OS-EXT-SRV-ATTR:instance_name"], PowerState.RUNNING, 1, 128)]
    console = wait_for_console(observer, server_id, BOOTED)
    assert f"{BOOTED} (disk: novalog-base-1," in console
    # The same console through the API: asked through the log, read and cut by the agent on its host.
    whole = client.http.post(f"/servers/{server_id}/action", json={"os-getConsoleOutput": {}})
    assert whole.status_code == 200 and f"{BOOTED} (disk: novalog-base-1," in whole.json()["output"], whole.text
    tail = client.http.post(f"/servers/{server_id}/action", json={"os-getConsoleOutput": {"length": 2}})
    assert tail.status_code == 200 and len(tail.json()["output"].split("\n")) == 2, tail.text
    assert tail.json()["output"] in observer.console_output(server_id)  # a console only grows: the tail is in it
    disk = Path(guest_image.disk_path(HOST, server_id))
    assert disk.is_file()

    act(stack, server_id, {"os-stop": None}, "SHUTOFF", PowerState.SHUTDOWN, timeout=60)
    assert observer.power_state(server_id) == PowerState.SHUTDOWN
    act(stack, server_id, {"os-start": None}, "ACTIVE", PowerState.RUNNING, timeout=60)
    assert observer.power_state(server_id) == PowerState.RUNNING
    # The console log is kept across boots: the guest booted a second time, from the same disk.
    wait_for_console(observer, server_id, BOOTED, count=2)

    client.delete(server_id)

    wait_until(lambda: client.show(server_id) is None, 60, "the server to be gone")
    # The agent reports the deletion once the domain and its files are gone.
    assert observer.list_guests() == []
    assert not disk.exists() and not disk.parent.exists()
    assert Path(guest_image.base_image).is_file()


def test_an_agent_killed_during_a_spawn_and_a_delete_boots_nothing_twice_and_leaves_nothing(
    stack: RunningStack, observer: LibvirtDriver, guest_image: GuestImage
) -> None:
    """The hypervisor outlives the agent: a restarted agent finds what libvirtd kept running, and finishes."""
    client, agent = stack.client, f"agent-{HOST}"
    client.ensure_flavor(TINY)
    server_id = client.boot("crash-1", TINY["id"])
    # SIGKILL as soon as libvirt has the guest: mid-spawn, before its STARTED reached the log.
    wait_until(lambda: observer.list_guests(), 60, "the guest to be defined")
    stack.stack.kill(agent)
    run = domain_of(observer, server_id).ID()  # the QEMU run the spawn started
    stack.stack.start(agent, "agent", HOST)

    server = client.wait_settled([server_id], 90)[server_id]
    assert server["status"] == "ACTIVE", (server, stack.logs())
    assert [g.instance_id for g in observer.list_guests()] == [server_id]
    console = wait_for_console(observer, server_id, BOOTED)
    assert domain_of(observer, server_id).ID() == run  # the same run: not booted again

    client.delete(server_id)
    stack.stack.kill(agent)  # whether or not it got to the delete
    stack.stack.start(agent, "agent", HOST)

    wait_until(lambda: client.show(server_id) is None, 90, "the server to be gone")
    assert console.count(BOOTED) == 1, console  # booted once: the redelivered spawn left it alone
    assert observer.list_guests() == []
    assert not Path(guest_image.instance_dir(HOST, server_id)).exists()
    wait_until(lambda: client.hypervisors()[0]["running_vms"] == 0, 30, "the claim to be released")
    assert_replay_identical(stack)
    assert_log_holds(stack)


def test_an_agent_killed_during_a_resize_finishes_it_once_restarted(
    stack: RunningStack, observer: LibvirtDriver, guest_image: GuestImage
) -> None:
    """SIGKILL right after the resize is asked (the guest is shutting down for it): the restarted agent carries on."""
    client, agent = stack.client, f"agent-{HOST}"
    client.ensure_flavor(TINY)
    client.ensure_flavor(LARGER)
    server_id = client.boot("resize-crash", TINY["id"])
    assert client.wait_settled([server_id], 90)[server_id]["status"] == "ACTIVE"
    wait_for_console(observer, server_id, BOOTED)

    resp = client.http.post(f"/servers/{server_id}/action", json={"resize": {"flavorRef": LARGER["id"]}})
    assert resp.status_code == 202, resp.text
    stack.stack.kill(agent)
    stack.stack.start(agent, "agent", HOST)

    resized = wait_until(
        lambda: (s := client.show(server_id)) and s["status"] in ("VERIFY_RESIZE", "ERROR") and s, 120, "the resize to finish"
    )
    assert resized["status"] == "VERIFY_RESIZE", (resized, stack.logs())
    assert [(g.instance_id, g.memory_mb) for g in observer.list_guests()] == [(server_id, LARGER["ram"])]
    assert client.http.post(f"/servers/{server_id}/action", json={"confirmResize": None}).status_code == 204
    active = wait_until(lambda: (s := client.show(server_id)) and s["status"] == "ACTIVE" and s, 60, "ACTIVE after confirm")
    assert active["flavor"]["id"] == LARGER["id"]
    assert observer.power_state(server_id) == PowerState.RUNNING
    client.delete(server_id)
    wait_until(lambda: client.show(server_id) is None, 90, "the server to be gone")
    assert observer.list_guests() == []
    wait_until(lambda: client.hypervisors()[0]["running_vms"] == 0, 30, "the claims to be released")
    assert_replay_identical(stack)
    assert_log_holds(stack)
