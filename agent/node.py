"""Pure XML for the libvirt shell: the test driver's node and the guests' domains.

Nothing here talks to libvirt; `LibvirtDriver` feeds these strings to it, and
the tests parse them back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from novalog.agent.driver import GuestSpec, domain_name

# The namespace of the <metadata> element that marks a domain as ours and
# carries its instance id; domains without it belong to someone else.
METADATA_NS = "https://novalog.dev/xmlns/instance/1"
METADATA_PREFIX = "novalog"
DOMAIN_TYPES = frozenset({"test", "qemu"})

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


def domain_xml(spec: GuestSpec, domain_type: str) -> str:
    """The persistent domain definition of `spec`'s guest, tagged with its instance id in our metadata.

    Only the test driver's minimal domain is complete; a 'qemu' domain still
    lacks its kernel and disk.
    """
    if domain_type not in DOMAIN_TYPES:
        raise ValueError(f"domain type must be one of {sorted(DOMAIN_TYPES)}, got {domain_type!r}")
    domain = ET.Element("domain", {"type": domain_type})
    ET.SubElement(domain, "name").text = domain_name(spec.instance_id)
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(spec.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(spec.vcpus)
    metadata = ET.SubElement(domain, "metadata")
    instance = ET.SubElement(metadata, f"{{{METADATA_NS}}}instance", {"id": spec.instance_id})
    ET.SubElement(instance, f"{{{METADATA_NS}}}name").text = spec.name
    ET.SubElement(instance, f"{{{METADATA_NS}}}image").text = spec.image_ref
    ET.SubElement(instance, f"{{{METADATA_NS}}}disk_gb").text = str(spec.disk_gb)
    os_ = ET.SubElement(domain, "os")
    ET.SubElement(os_, "type").text = "hvm"
    if domain_type == "qemu":
        # Without ACPI libvirt starts QEMU with it off and a graceful shutdown does nothing.
        ET.SubElement(ET.SubElement(domain, "features"), "acpi")
    return ET.tostring(domain, encoding="unicode")


def instance_id_from_metadata(element_xml: str) -> str | None:
    """The instance id in our metadata element as libvirt returns it, or None when it carries none."""
    try:
        element = ET.fromstring(element_xml)
    except ET.ParseError:
        return None
    # libvirt hands the element back with or without its namespace depending on version.
    if element.tag.rpartition("}")[2] != "instance":
        return None
    return element.get("id") or None


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
