"""The driver contract on real QEMU guests (qemu:///system, TCG), and the driver surviving a libvirtd restart.

The guests take seconds where the test driver takes milliseconds, and one
still booting does not hear an ACPI shutdown: the driver asks again every
second here (Nova's shutdown_retry_interval, shortened) and the waits for an
event are longer. Every test leaves its hosts without guests, disks or
consoles, also when it fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_harness import URI, Daemons, remove_guests, wait_for_console

from driver_contract import DriverContract, EventRecorder, HostSpec, OpenDriver, guest_spec
from novalog.agent.driver import STARTED, STOPPED, UNDEFINED, DriverError, Guest, PowerState
from novalog.agent.libvirt_driver import LibvirtDriver, ShutdownPolicy
from novalog.agent.node import GuestImage

pytestmark = pytest.mark.libvirtd

BOOTED = "novalog guest booted"
# Asked again every second: a guest that is still booting ignores the first request.
QUICK_SHUTDOWN = ShutdownPolicy(timeout=60.0, retry_interval=1.0)
EVENT_TIMEOUT = 60.0  # a boot (to where ACPI is heard) takes 3-8 s on 2 busy cores, a shutdown 1-2 s more


def open_qemu(image: GuestImage, host: HostSpec) -> LibvirtDriver:
    return LibvirtDriver(URI, host.hostname, vcpus=host.vcpus, memory_mb=host.memory_mb, image=image, shutdown=QUICK_SHUTDOWN)


class TestQemuDriverContract(DriverContract):
    FAKE_CONSOLE = False
    CPU_MODEL_FROM_HOST_SPEC = False  # a real machine's model

    @pytest.fixture
    def event_timeout(self) -> float:
        return EVENT_TIMEOUT

    @pytest.fixture
    def open_driver(self, guest_image: GuestImage) -> Iterator[OpenDriver]:
        hosts: set[str] = set()

        def open_(host: HostSpec) -> LibvirtDriver:
            hosts.add(host.hostname)
            return open_qemu(guest_image, host)

        yield open_
        # After make_host closed the drivers: whatever a failed test left running goes.
        remove_guests(guest_image, hosts)


@pytest.fixture
def host_r(guest_image: GuestImage) -> Iterator[LibvirtDriver]:
    driver = open_qemu(guest_image, HostSpec("host-r", vcpus=2, memory_mb=1024))
    try:
        yield driver
    finally:
        driver.close()
        remove_guests(guest_image, ["host-r"])


def qemu_pid(instance_id: str) -> int:
    return int(Path(f"/run/libvirt/qemu/novalog-{instance_id}.pid").read_text())


def test_a_guest_boots_from_its_own_overlay_and_destroy_removes_it(host_r: LibvirtDriver, guest_image: GuestImage) -> None:
    events = EventRecorder(EVENT_TIMEOUT)
    host_r.set_event_sink(events)

    host_r.spawn(guest_spec("i-o", vcpus=1, memory_mb=128))

    events.wait_for("i-o", {STARTED})
    disk = Path(guest_image.disk_path("host-r", "i-o"))
    assert disk.is_file()
    console = wait_for_console(host_r, "i-o", BOOTED)
    # The base image's label, read by the guest from /dev/vda through its overlay.
    assert f"{BOOTED} (disk: novalog-base-1," in console
    assert host_r.destroy("i-o") is True
    events.wait_for("i-o", {UNDEFINED})
    assert not disk.exists() and not disk.parent.exists()
    with pytest.raises(DriverError, match="no such instance"):
        host_r.console_output("i-o")  # the guest, and its console with it, are gone


def test_the_driver_reconnects_after_a_libvirtd_restart(host_r: LibvirtDriver, libvirtd: Daemons) -> None:
    events = EventRecorder(EVENT_TIMEOUT)
    host_r.set_event_sink(events)
    reconnected = threading.Event()
    host_r.set_reconnect_hook(reconnected.set)
    host_r.spawn(guest_spec("i-r", vcpus=1, memory_mb=128))
    events.wait_for("i-r", {STARTED})
    pid = qemu_pid("i-r")

    libvirtd.stop_libvirtd()
    libvirtd.start_libvirtd()

    assert reconnected.wait(30), "the driver did not reconnect within 30 s of libvirtd's restart"
    # The guest kept running (the same QEMU process) and the new connection sees it.
    assert Path(f"/proc/{pid}").exists() and qemu_pid("i-r") == pid
    assert host_r.list_guests() == [Guest("i-r", "novalog-i-r", PowerState.RUNNING, 1, 128)]
    assert host_r.power_state("i-r") == PowerState.RUNNING
    # Lifecycle events flow again on the new connection.
    wait_for_console(host_r, "i-r", BOOTED)
    host_r.power_off("i-r")
    assert events.wait_for("i-r", {STOPPED}).power_state == PowerState.SHUTDOWN
    assert host_r.power_state("i-r") == PowerState.SHUTDOWN
    assert host_r.destroy("i-r") is True
    events.wait_for("i-r", {UNDEFINED})
