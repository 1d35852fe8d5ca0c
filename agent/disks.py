"""An instance's files on a QEMU host: its qcow2 overlay on the base image, and its console log.

Each instance has a directory of its own (`GuestImage.instance_dir`): the
overlay is made there before the guest is defined and the whole directory
goes when the guest is destroyed. The base image is shared and never written:
the guest's writes land in its overlay.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from novalog.agent.node import GuestImage


class DiskError(Exception):
    """An instance's disk could not be made; the message says why (qemu-img's own words)."""


def make_overlay(image: GuestImage, host: str, instance_id: str, disk_gb: int) -> str:
    """The instance's overlay on the base image, made unless it exists already; its path.

    Made under a temporary name and linked into place, so a crash midway
    never leaves a half-made disk behind the final name. The overlay's virtual
    size is the flavor's disk (the base's own size when that is 0).
    """
    path = image.disk_path(host, instance_id)
    if os.path.exists(path):
        return path
    if not os.path.isfile(image.base_image):
        raise DiskError(f"no base image {image.base_image} (build it with deploy/guest/build)")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    command = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", image.base_image, "-F", "qcow2", temporary]
    if disk_gb > 0:
        command.append(f"{disk_gb}G")
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DiskError(f"qemu-img create failed: {done.stderr.strip() or done.returncode}")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # a concurrent spawn of the same instance made it first
    finally:
        Path(temporary).unlink(missing_ok=True)
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
