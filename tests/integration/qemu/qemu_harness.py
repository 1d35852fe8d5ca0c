"""What the QEMU tests share: libvirtd and virtlogd started by hand (no systemd), and guest helpers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import libvirt

from novalog.agent.libvirt_driver import LibvirtDriver
from novalog.agent.node import METADATA_NS, GuestImage

URI = "qemu:///system"
ROOT = Path(__file__).resolve().parents[3]
GUEST_DIR = os.environ.get("NOVALOG_GUEST_DIR", "/var/lib/libvirt/images/novalog")
BINARIES = ("libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img")
READY_TIMEOUT = 60.0
# The hosts this session's tests ran (remove_guests notes each): the sweep removes their guests only. Other
# people's domains on this libvirtd, novalog's other hosts' included, are never touched, whatever their names.
SESSION_HOSTS: set[str] = set()


# This session's mark on its host names: a host's agent reaps the guests its log does not know, so two
# sessions running a host of the same name on the shared libvirtd would remove each other's guests.
SESSION_TAG = uuid.uuid4().hex[:6]


def session_host(name: str) -> str:
    """A test host's name, made this session's own."""
    return f"{name}-{SESSION_TAG}"


def own_instance_names() -> str:
    """An instance_name_template of the stack's own (Nova's `instance-%08x` with a tag in it).

    A test stack's log starts empty, so its instances' numbers are those of any other test stack
    of the moment: on the one libvirtd that all of them share, the default names would clash.
    """
    return f"instance-{uuid.uuid4().hex[:6]}-%08x"


def novalog_host_of(domain: libvirt.virDomain) -> str | None:
    """The novalog host whose guest the domain is, from our metadata (never from its name); None: not a novalog guest."""
    try:
        element = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0)
    except libvirt.libvirtError:
        return None
    try:
        return ET.fromstring(element).get("host")
    except ET.ParseError:
        return None


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
        """Remove the guests the session left behind (a test that failed before its own cleanup); their names.

        Only domains defined since the session started whose metadata makes them guests of one of the
        session's hosts: not by name, since guests take their instance names and other engineers' QEMU
        guests (novalog's or not) share this libvirtd.
        """
        swept = []
        with libvirt.open(URI) as conn:
            for domain in conn.listAllDomains(0):
                if domain.UUIDString() in self.found or novalog_host_of(domain) not in SESSION_HOSTS:
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
        SESSION_HOSTS.add(host)
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
