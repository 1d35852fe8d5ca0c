"""What the QEMU tests share: libvirtd and virtlogd started by hand (no systemd), and guest helpers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import libvirt

from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import GuestImage

URI = "qemu:///system"
ROOT = Path(__file__).resolve().parents[3]
GUEST_DIR = os.environ.get("NOVALOG_GUEST_DIR", "/var/lib/libvirt/images/novalog")
BINARIES = ("libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img")
READY_TIMEOUT = 60.0



def domain_of(driver: LibvirtDriver, instance_id: str) -> libvirt.virDomain:
    """The instance's domain on the driver's host, found by our metadata: its name is the instance's name."""
    (domain,) = [d for d, iid in driver._our_domains() if iid == instance_id]
    return domain


def ignore_libvirt_errors(_ctx: object, _error: object) -> None:
    """The fixtures poll libvirtd while it starts; its refusals meanwhile are expected, not news."""


class Daemons:
    """virtlogd and libvirtd as this session found them, or started by it (then stopped by it too)."""

    NAMES = ("virtlogd", "libvirtd")  # virtlogd first: libvirtd hands it the guests' consoles

    def __init__(self) -> None:
        self.started: list[str] = []
        self.found: set[str] = set()  # the domains there before the session, left alone

    def note_domains(self) -> None:
        with libvirt.open(URI) as conn:
            self.found = {domain.UUIDString() for domain in conn.listAllDomains(0)}

    def sweep(self) -> list[str]:
        """Remove the guests the session left behind (a test that failed before its own cleanup); their names."""
        swept = []
        with libvirt.open(URI) as conn:
            for domain in conn.listAllDomains(0):
                if domain.UUIDString() in self.found or not domain.name().startswith("novalog-"):
                    continue
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
                swept.append(domain.name())
        return swept

    @staticmethod
    def pid(name: str) -> int | None:
        """The daemon's pid from its pid file, if that process is alive and is the daemon."""
        try:
            pid = int(Path(f"/run/{name}.pid").read_text().strip())
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (OSError, ValueError):
            return None
        return pid if comm == name else None

    def start(self) -> None:
        for name in self.NAMES:
            if self.pid(name) is None:
                self._launch(name)
                self.started.append(name)
        self.wait_ready()

    def _launch(self, name: str) -> None:
        subprocess.run([name, "-d"], check=True, timeout=30)
        deadline = time.monotonic() + READY_TIMEOUT
        while self.pid(name) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} -d did not leave a running daemon within {READY_TIMEOUT} s")
            time.sleep(0.1)

    @staticmethod
    def wait_ready() -> None:
        """Until libvirtd answers on qemu:///system."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                libvirt.open(URI).close()
                return
            except libvirt.libvirtError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"libvirtd does not answer on {URI}: {error}") from error
                time.sleep(0.2)

    def stop_libvirtd(self) -> None:
        """SIGTERM, as its service would; its QEMU guests keep running."""
        pid = self.pid("libvirtd")
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + READY_TIMEOUT
        while Path(f"/proc/{pid}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"libvirtd (pid {pid}) did not stop on SIGTERM within {READY_TIMEOUT} s")
            time.sleep(0.05)

    def start_libvirtd(self) -> None:
        self._launch("libvirtd")
        self.wait_ready()

    def stop(self) -> None:
        """Stop what this session started, libvirtd first."""
        for name in reversed(self.started):
            pid = self.pid(name)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + READY_TIMEOUT
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
        self.started.clear()


def remove_guests(image: GuestImage, hosts: Iterable[str]) -> list[str]:
    """Destroy every guest (domain, disk, console) the hosts still have; the instance ids it removed."""
    removed = []
    for host in hosts:
        with LibvirtDriver(URI, host, image=image) as driver:
            for guest in driver.list_guests():
                driver.destroy(guest.instance_id)
                removed.append(guest.instance_id)
        shutil.rmtree(Path(image.instances_dir) / host, ignore_errors=True)
    return removed


def wait_for_console(driver: LibvirtDriver, instance_id: str, marker: str, count: int = 1, timeout: float = 60.0) -> str:
    """The guest's console once `marker` is on it `count` times; fails with the console after `timeout` s."""
    deadline = time.monotonic() + timeout
    while (console := driver.console_output(instance_id)).count(marker) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} x{count} not on the console of {instance_id} within {timeout} s:\n{console}")
        time.sleep(0.2)
    return console
