"""An instance's files on a QEMU host: its qcow2 overlay on the base image, and its console log.

Each instance has a directory of its own (`GuestImage.instance_dir`): the
overlay is made there before the guest is defined and the whole directory
goes when the guest is destroyed. The base image is shared and never written:
the guest's writes land in its overlay. The base is the image the instance
was built from when it has bits (copied once from the image store into the
host's cache `<instances_dir>/_base/`, as Nova caches images, so deleting the
image later leaves its guests whole), else the host's configured base image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from novalog.agent.node import GuestImage
from novalog.events.records import ImageFiles

# Glance's disk_format -> qemu-img's name of the format (-F).
QEMU_FORMATS = {"qcow2": "qcow2", "raw": "raw", "iso": "raw", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx"}


class DiskError(Exception):
    """An instance's disk could not be made; the message says why (qemu-img's own words)."""


@contextmanager
def _into_place(dest: str | Path) -> Iterator[str]:
    """A temporary name beside `dest` to write to; linked to `dest` once the block ends without error.

    A file at `dest` is always whole: a crash midway leaves only the
    temporary, which goes. When `dest` appeared meanwhile (a concurrent call
    for the same file made it first) the one there is kept.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield str(temporary)
        try:
            os.link(temporary, dest)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def _qemu_img(*args: str) -> None:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DiskError(f"qemu-img {args[0]} failed: {done.stderr.strip() or done.returncode}")


def _cached(image: GuestImage, source: str) -> str:
    """The host's copy of an image store file (`<instances_dir>/_base/<file name>`), made once; store files never change."""
    cache = Path(image.instances_dir) / "_base"
    path = cache / Path(source).name
    if path.exists():
        return str(path)
    if not os.path.isfile(source):
        raise DiskError(f"no image file {source} in the image store")
    with _into_place(path) as temporary:
        shutil.copyfile(source, temporary)
    return str(path)


def cache_image_files(image: GuestImage, files: ImageFiles) -> ImageFiles:
    """The same files, from the host's cache (copied there first if needed); an unknown disk format is a DiskError."""
    if files.disk_format not in QEMU_FORMATS:
        raise DiskError(f"disk format {files.disk_format!r} cannot back an instance disk (one of {sorted(QEMU_FORMATS)})")
    return ImageFiles(
        disk=_cached(image, files.disk),
        disk_format=files.disk_format,
        kernel=files.kernel and _cached(image, files.kernel),
        ramdisk=files.ramdisk and _cached(image, files.ramdisk),
    )


def make_overlay(image: GuestImage, host: str, instance_id: str, disk_gb: int, files: ImageFiles | None = None) -> str:
    """The instance's overlay on the base image, made unless it exists already; its path.

    Made under a temporary name and linked into place, so a crash midway
    never leaves a half-made disk behind the final name. The overlay's virtual
    size is the flavor's disk (the base's own size when that is 0). `files`
    (already cached) name the instance's image as the base, in its format.
    """
    path = image.disk_path(host, instance_id)
    if os.path.exists(path):
        return path
    base, base_format = (files.disk, QEMU_FORMATS[files.disk_format]) if files else (image.base_image, "qcow2")
    if not os.path.isfile(base):
        raise DiskError(f"no base image {base} (build it with deploy/guest/build)")
    _qcow2_overlay(path, base, base_format, disk_gb)
    return path


def write_once(dest: str, data: bytes) -> None:
    """Write `data` to `dest` under a temporary name, linked into place: a file there is always whole; nothing when it exists."""
    if os.path.exists(dest):
        return
    with _into_place(dest) as temporary:
        Path(temporary).write_bytes(data)


def convert_disk(source: str, dest: str, disk_format: str) -> None:
    """A whole copy of a disk (its backing chain flattened) at `dest` in `disk_format` (qemu-img convert); nothing when it exists.

    `-U` reads the disk of a running guest (QEMU holds its lock): the copy is
    what the disk holds at that moment, as a crash would leave it.
    """
    if os.path.exists(dest):
        return
    if disk_format not in QEMU_FORMATS:
        raise DiskError(f"disk format {disk_format!r} cannot hold a snapshot (one of {sorted(QEMU_FORMATS)})")
    if not os.path.isfile(source):
        raise DiskError(f"no disk {source} to snapshot")
    with _into_place(dest) as temporary:
        _qemu_img("convert", "-q", "-U", "-O", QEMU_FORMATS[disk_format], source, temporary)


def _qcow2_overlay(path: str, base: str, base_format: str, disk_gb: int) -> None:
    """A qcow2 overlay on `base` at `path`, made under a temporary name and linked into place."""
    with _into_place(path) as temporary:
        _qemu_img("create", "-q", "-f", "qcow2", "-b", base, "-F", base_format, temporary, *([f"{disk_gb}G"] if disk_gb > 0 else []))


def make_rescue_overlay(image: GuestImage, host: str, instance_id: str, files: ImageFiles | None = None) -> str:
    """The instance's rescue disk: an overlay on the rescue image (cached `files`, else the host's base image); its path."""
    path = image.rescue_disk_path(host, instance_id)
    if os.path.exists(path):
        return path
    base, base_format = (files.disk, QEMU_FORMATS[files.disk_format]) if files else (image.base_image, "qcow2")
    if not os.path.isfile(base):
        raise DiskError(f"no rescue image {base}")
    _qcow2_overlay(path, base, base_format, 0)
    return path


def remove_instance_files(image: GuestImage, host: str, instance_id: str) -> bool:
    """Remove the instance's directory (overlay, console log); True when there was one."""
    directory = image.instance_dir(host, instance_id)
    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory)
    return True


def read_console(image: GuestImage, host: str, instance_id: str) -> str:
    """Everything the guest wrote on its serial console so far ("" before its first boot)."""
    try:
        return Path(image.console_path(host, instance_id)).read_text(errors="replace")
    except FileNotFoundError:
        return ""
