"""The hosts an agent process may play: name, inventory, ratios and hypervisor URI, from a TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from novalog.agent.node import GuestImage

_GUEST = GuestImage()


@dataclass(frozen=True, slots=True)
class HostConfig:
    """One compute host. `uri` empty means a libvirt test-driver host made from the inventory.

    The inventory (`vcpus`, `memory_mb`, `disk_gb`) is what the host offers
    the scheduler, whatever the hypervisor reports about the machine. On a
    QEMU host (`uri = "qemu:///system"`) every guest boots `kernel` and
    `initrd` directly, from a qcow2 overlay on `base_image` kept under
    `instances_dir` (defaults: what deploy/guest/build makes).
    """

    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float | None = None
    ram_allocation_ratio: float | None = None
    disk_allocation_ratio: float | None = None
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    driver: str = "libvirt"
    uri: str = ""
    # Fault injection, honoured by the fake driver only: spawns of these images fail.
    fail_spawn_images: tuple[str, ...] = ()
    kernel: str = _GUEST.kernel
    initrd: str = _GUEST.initrd
    base_image: str = _GUEST.base_image
    instances_dir: str = _GUEST.instances_dir

    def guest_image(self) -> GuestImage:
        """What this host's guests boot, and where their disks and consoles go."""
        return GuestImage(self.kernel, self.initrd, self.base_image, self.instances_dir)


def load_hosts(path: Path) -> list[HostConfig]:
    """Every `[[hosts]]` entry of the file, checked; a clear error names a bad one."""
    data = tomllib.loads(path.read_text())
    hosts = []
    for i, entry in enumerate(data.get("hosts", [])):
        try:
            if "fail_spawn_images" in entry:
                entry = {**entry, "fail_spawn_images": tuple(entry["fail_spawn_images"])}
            hosts.append(HostConfig(**entry))
        except TypeError as exc:
            raise ValueError(f"{path}: hosts[{i}]: {exc}") from exc
    names = [h.name for h in hosts]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: host names repeat: {names}")
    return hosts
