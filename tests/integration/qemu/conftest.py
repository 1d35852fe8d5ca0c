"""Fixtures of the QEMU tests (marked `libvirtd`): the daemons and the tiny guest.

The daemons are started when they are not running and stopped at the end of
the session if they were started here, also when tests fail. The tests skip
only when the binaries are missing (scripts/setup installs them). The guest
is built by deploy/guest/build (idempotent: a no-op once built).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import libvirt
import pytest
from qemu_harness import BINARIES, GUEST_DIR, ROOT, Daemons, ignore_libvirt_errors

from novalog.agent.node import GuestImage


@pytest.fixture(scope="session")
def libvirtd() -> Iterator[Daemons]:
    """libvirtd and virtlogd running for the session: started (and stopped afterwards) unless already running."""
    # A developer without libvirtd or root skips these; CI (which installs them and runs as root) must not.
    unavailable = pytest.fail if os.environ.get("CI") else pytest.skip
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        unavailable(f"QEMU tests need {', '.join(missing)} (scripts/setup installs libvirt-daemon-system, qemu-system-x86, qemu-utils)")
    if os.geteuid() != 0:
        unavailable("QEMU tests drive qemu:///system: they run as root")
    libvirt.registerErrorHandler(ignore_libvirt_errors, None)
    daemons = Daemons()
    try:
        daemons.start()
        daemons.note_domains()
        yield daemons
    finally:
        try:
            if daemons.pid("libvirtd") is not None:
                daemons.sweep()
        finally:
            daemons.stop()


@pytest.fixture(scope="session")
def guest_image(libvirtd: Daemons) -> GuestImage:
    """The tiny guest (built unless it is already there)."""
    built = subprocess.run([str(ROOT / "deploy" / "guest" / "build"), GUEST_DIR], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"deploy/guest/build failed:\n{built.stdout}\n{built.stderr}"
    return GuestImage(f"{GUEST_DIR}/vmlinux", f"{GUEST_DIR}/initrd.gz", f"{GUEST_DIR}/base.qcow2", f"{GUEST_DIR}/instances")
