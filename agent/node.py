"""Pure XML for the libvirt shell: the test driver's node and the guests' domains.

Nothing here talks to libvirt; `LibvirtDriver` feeds these strings to it, and
the tests parse them back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from novalog.agent.driver import GuestSpec

# The namespace of the <metadata> element that marks a domain as ours and
# carries its instance id; domains without it belong to someone else.
METADATA_NS = "https://novalog.dev/xmlns/instance/1"
METADATA_PREFIX = "novalog"
DOMAIN_TYPES = frozenset({"test", "qemu"})

# Where deploy/guest/build puts the tiny guest by default.
GUEST_DIR = "/var/lib/libvirt/images/novalog"
# Serial console only; reboot (not hang) if the guest's init ever dies.
GUEST_CMDLINE = "console=ttyS0 quiet panic=-1"

ET.register_namespace(METADATA_PREFIX, METADATA_NS)


def node_xml(vcpus: int, memory_mb: int, cpu_mhz: int = 2400, model: str = "novalog-test") -> str:
    """The test driver's description of a host with `vcpus` cores in one socket and `memory_mb` of RAM."""
    if vcpus < 1 or memory_mb < 1 or cpu_mhz < 1:
        raise ValueError(f"a node needs positive vcpus, memory and mhz, got {vcpus}, {memory_mb}, {cpu_mhz}")
    node = ET.Element("node")
    cpu = ET.SubElement(node, "cpu")
    for tag, value in (
        ("mhz", cpu_mhz),
        ("model", model),
        ("nodes", 1),
        ("sockets", 1),
        ("cores", vcpus),
        ("threads", 1),
        ("active", vcpus),
    ):
        ET.SubElement(cpu, tag).text = str(value)
    ET.SubElement(node, "memory").text = str(memory_mb * 1024)  # the test driver reads KiB
    return ET.tostring(node, encoding="unicode")


def test_uri(path: Path) -> str:
    """The libvirt URI of the simulated host described by the node file at `path`: `test:///<absolute path>`."""
    return "test://" + quote(str(Path(path).resolve()), safe="/")


# Not a test; pytest would otherwise collect the function above from any test module importing it.
test_uri.__test__ = False  # type: ignore[attr-defined]


def domain_type_for(uri: str) -> str:
    """The domain type a connection URI can run: 'test' for the test driver, 'qemu' (TCG) otherwise."""
    return "test" if uri.startswith("test:") else "qemu"


@dataclass(frozen=True, slots=True)
class GuestImage:
    """What every guest of a QEMU host boots, and where its instances' files go.

    The kernel boots directly with the initramfs; each instance gets its own
    directory `<instances_dir>/<host>/<instance id>/` holding its qcow2 overlay
    on the shared base image and its serial console log.
    """

    kernel: str = f"{GUEST_DIR}/vmlinux"
    initrd: str = f"{GUEST_DIR}/initrd.gz"
    base_image: str = f"{GUEST_DIR}/base.qcow2"
    instances_dir: str = f"{GUEST_DIR}/instances"
    cmdline: str = GUEST_CMDLINE

    def instance_dir(self, host: str, instance_id: str) -> str:
        for part in (host, instance_id):
            if not part or "/" in part or part in (".", ".."):
                raise ValueError(f"not usable in a path: {part!r}")
        return str(PurePosixPath(self.instances_dir) / host / instance_id)

    def disk_path(self, host: str, instance_id: str) -> str:
        return f"{self.instance_dir(host, instance_id)}/disk.qcow2"

    def rescue_disk_path(self, host: str, instance_id: str) -> str:
        return f"{self.instance_dir(host, instance_id)}/disk.rescue.qcow2"

    def console_path(self, host: str, instance_id: str) -> str:
        return f"{self.instance_dir(host, instance_id)}/console.log"


def domain_xml(spec: GuestSpec, domain_type: str, *, host: str | None = None, image: GuestImage | None = None) -> str:
    """The persistent domain definition of `spec`'s guest, tagged with its instance id (and host) in our metadata.

    A 'test' domain is the test driver's minimal one. A 'qemu' domain is a
    whole TCG guest booting `image`'s kernel, with its disk and console under
    the instance's directory on `host`; both are required for it.
    """
    if domain_type not in DOMAIN_TYPES:
        raise ValueError(f"domain type must be one of {sorted(DOMAIN_TYPES)}, got {domain_type!r}")
    if domain_type == "qemu" and (image is None or host is None):
        raise ValueError("a qemu domain needs the host and the guest image it boots")
    domain = ET.Element("domain", {"type": domain_type})
    ET.SubElement(domain, "name").text = spec.guest_name
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(spec.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(spec.vcpus)
    metadata = ET.SubElement(domain, "metadata")
    tag = {"id": spec.instance_id} if host is None else {"id": spec.instance_id, "host": host}
    instance = ET.SubElement(metadata, f"{{{METADATA_NS}}}instance", tag)
    ET.SubElement(instance, f"{{{METADATA_NS}}}name").text = spec.name
    ET.SubElement(instance, f"{{{METADATA_NS}}}image").text = spec.image_ref
    ET.SubElement(instance, f"{{{METADATA_NS}}}disk_gb").text = str(spec.disk_gb)
    if spec.rebuild_id is not None:  # which rebuild made this guest: a redelivered order finds it done
        ET.SubElement(instance, f"{{{METADATA_NS}}}rebuild").text = spec.rebuild_id
    if spec.rescue:
        ET.SubElement(instance, f"{{{METADATA_NS}}}rescue").text = "1"
    os_ = ET.SubElement(domain, "os")
    if domain_type == "test":
        ET.SubElement(os_, "type").text = "hvm"
        return ET.tostring(domain, encoding="unicode")
    assert image is not None and host is not None
    ET.SubElement(os_, "type", {"arch": "x86_64", "machine": "pc"}).text = "hvm"
    # An image's kernel_id/ramdisk_id files, where it names them; else what every guest of the host boots.
    files = spec.rescue_files if spec.rescue else spec.image_files
    ET.SubElement(os_, "kernel").text = (files and files.kernel) or image.kernel
    ET.SubElement(os_, "initrd").text = (files and files.ramdisk) or image.initrd
    ET.SubElement(os_, "cmdline").text = image.cmdline
    # Without ACPI libvirt starts QEMU with it off and a graceful shutdown does nothing.
    ET.SubElement(ET.SubElement(domain, "features"), "acpi")
    for event, action in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")):
        ET.SubElement(domain, event).text = action
    devices = ET.SubElement(domain, "devices")
    # A rescued guest boots the rescue disk, its own disk attached second (Nova's rescue).
    disks = [image.rescue_disk_path(host, spec.instance_id), image.disk_path(host, spec.instance_id)] if spec.rescue else [image.disk_path(host, spec.instance_id)]
    for path, target in zip(disks, ("vda", "vdb"), strict=False):
        disk = ET.SubElement(devices, "disk", {"type": "file", "device": "disk"})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": "qcow2"})
        ET.SubElement(disk, "source", {"file": path})
        ET.SubElement(disk, "target", {"dev": target, "bus": "virtio"})
    serial = ET.SubElement(devices, "serial", {"type": "pty"})
    # virtlogd copies the console to the file, across restarts of the guest.
    ET.SubElement(serial, "log", {"file": image.console_path(host, spec.instance_id), "append": "on"})
    ET.SubElement(serial, "target", {"port": "0"})
    console = ET.SubElement(devices, "console", {"type": "pty"})
    ET.SubElement(console, "target", {"type": "serial", "port": "0"})
    ET.SubElement(devices, "memballoon", {"model": "none"})
    return ET.tostring(domain, encoding="unicode")


def instance_id_from_metadata(element_xml: str, host: str | None = None) -> str | None:
    """The instance id in our metadata element as libvirt returns it, or None when it carries none.

    With `host`, only a guest of that host has one: several hosts may share
    one hypervisor (one libvirtd) and must not see each other's guests.
    """
    try:
        element = ET.fromstring(element_xml)
    except ET.ParseError:
        return None
    # libvirt hands the element back with or without its namespace depending on version.
    if element.tag.rpartition("}")[2] != "instance":
        return None
    if host is not None and element.get("host") != host:
        return None
    return element.get("id") or None


def metadata_value(element_xml: str, tag: str) -> str | None:
    """The text of one child of our metadata element (as libvirt returns it), or None when it has none."""
    try:
        element = ET.fromstring(element_xml)
    except ET.ParseError:
        return None
    for child in element:
        if child.tag.rpartition("}")[2] == tag:
            return child.text
    return None


def with_uuid(definition: str, uuid: str) -> str:
    """A domain definition naming the existing domain's uuid, so defining it replaces that domain's definition."""
    domain = ET.fromstring(definition)
    element = domain.find("uuid")
    if element is None:
        element = ET.Element("uuid")
        domain.insert(1, element)
    element.text = uuid
    return ET.tostring(domain, encoding="unicode")


def resized_domain_xml(definition: str, spec: GuestSpec) -> str:
    """A domain definition (as libvirt returns it) with spec's vCPUs and memory, and our metadata's disk size to match."""
    domain = ET.fromstring(definition)
    kib = str(spec.memory_mb * 1024)
    for tag in ("memory", "currentMemory"):
        element = domain.find(tag)
        if element is not None:
            element.text, element.attrib = kib, {"unit": "KiB"}
    vcpu = domain.find("vcpu")
    if vcpu is None:
        vcpu = ET.SubElement(domain, "vcpu")
    vcpu.text = str(spec.vcpus)
    vcpu.attrib.pop("current", None)
    disk_gb = domain.find(f"metadata/{{{METADATA_NS}}}instance/{{{METADATA_NS}}}disk_gb")
    if disk_gb is not None:
        disk_gb.text = str(spec.disk_gb)
    return ET.tostring(domain, encoding="unicode")
