"""The XML the libvirt shell feeds to libvirt, parsed back and checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from driver_contract import guest_spec
from novalog.agent.node import (
    GUEST_CMDLINE,
    METADATA_NS,
    GuestImage,
    domain_type_for,
    domain_xml,
    instance_id_from_metadata,
    node_xml,
    resized_domain_xml,
    test_uri,
)

IMAGE = GuestImage("/g/vmlinux", "/g/initrd.gz", "/g/base.qcow2", "/g/instances")


def test_node_xml_describes_one_socket_of_cores() -> None:
    node = ET.fromstring(node_xml(vcpus=6, memory_mb=12288, cpu_mhz=3000, model="xeon"))

    cpu = {child.tag: child.text for child in node.find("cpu")}
    assert cpu == {
        "mhz": "3000",
        "model": "xeon",
        "nodes": "1",
        "sockets": "1",
        "cores": "6",
        "threads": "1",
        "active": "6",
    }
    assert node.findtext("memory") == "12582912"  # 12288 MiB x 1024 = KiB


def test_node_xml_defaults() -> None:
    node = ET.fromstring(node_xml(vcpus=4, memory_mb=8192))

    assert (node.findtext("cpu/mhz"), node.findtext("cpu/model")) == ("2400", "novalog-test")


@pytest.mark.parametrize(
    ("vcpus", "memory_mb", "mhz"),
    [pytest.param(0, 1024, 2400, id="no-cpus"), pytest.param(4, 0, 2400, id="no-memory"), pytest.param(4, 1024, 0, id="no-mhz")],
)
def test_node_xml_refuses_an_empty_node(vcpus: int, memory_mb: int, mhz: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        node_xml(vcpus, memory_mb, cpu_mhz=mhz)


def test_test_uri_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert test_uri(Path("node.xml")) == f"test://{tmp_path.resolve()}/node.xml"
    assert test_uri(tmp_path / "node.xml").startswith("test:///")


def test_test_uri_escapes_what_a_uri_cannot_hold() -> None:
    assert test_uri(Path("/tmp/my hosts/a.xml")) == "test:///tmp/my%20hosts/a.xml"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [("test:///tmp/node.xml", "test"), ("qemu:///system", "qemu"), ("qemu+ssh://h/system", "qemu")],
)
def test_domain_type_for(uri: str, expected: str) -> None:
    assert domain_type_for(uri) == expected


def test_domain_xml_is_the_minimal_test_domain_tagged_with_the_instance() -> None:
    domain = ET.fromstring(domain_xml(guest_spec("i-1", vcpus=2, memory_mb=512), "test"))

    assert domain.get("type") == "test"
    assert domain.findtext("name") == "novalog-i-1"
    assert (domain.find("memory").get("unit"), domain.findtext("memory")) == ("MiB", "512")
    assert domain.findtext("vcpu") == "2"
    assert domain.findtext("os/type") == "hvm"
    assert domain.find("features") is None
    instance = domain.find(f"metadata/{{{METADATA_NS}}}instance")
    assert instance.get("id") == "i-1"
    assert instance.findtext(f"{{{METADATA_NS}}}image") == "cirros"


def test_domain_xml_for_qemu_is_a_whole_tcg_guest_booting_the_image() -> None:
    domain = ET.fromstring(domain_xml(guest_spec("i-1", vcpus=1, memory_mb=128), "qemu", host="cn1", image=IMAGE))

    assert domain.get("type") == "qemu"  # TCG: never kvm
    assert (domain.findtext("name"), domain.findtext("memory"), domain.findtext("vcpu")) == ("novalog-i-1", "128", "1")
    assert domain.find("os/type").attrib == {"arch": "x86_64", "machine": "pc"}
    assert [domain.findtext(f"os/{tag}") for tag in ("kernel", "initrd", "cmdline")] == ["/g/vmlinux", "/g/initrd.gz", GUEST_CMDLINE]
    assert "console=ttyS0" in GUEST_CMDLINE
    # Without ACPI a clean shutdown does nothing.
    assert domain.find("features/acpi") is not None
    assert domain.findtext("on_poweroff") == "destroy"
    (disk,) = domain.findall("devices/disk")
    assert disk.find("driver").attrib == {"name": "qemu", "type": "qcow2"}
    assert disk.find("source").get("file") == "/g/instances/cn1/i-1/disk.qcow2"
    assert disk.find("target").attrib == {"dev": "vda", "bus": "virtio"}
    (serial,) = domain.findall("devices/serial")
    assert serial.find("log").attrib == {"file": "/g/instances/cn1/i-1/console.log", "append": "on"}
    assert domain.find("devices/console/target").attrib == {"type": "serial", "port": "0"}
    assert domain.find("devices/memballoon").get("model") == "none"
    assert domain.find(f"metadata/{{{METADATA_NS}}}instance").attrib == {"id": "i-1", "host": "cn1"}


@pytest.mark.parametrize("given", [{"host": "cn1"}, {"image": IMAGE}, {}], ids=["no-image", "no-host", "neither"])
def test_domain_xml_for_qemu_needs_the_host_and_the_image(given: dict) -> None:
    with pytest.raises(ValueError, match="qemu domain needs the host and the guest image"):
        domain_xml(guest_spec("i-1"), "qemu", **given)


def test_guest_image_defaults_are_where_the_builder_puts_the_guest() -> None:
    image = GuestImage()

    assert (image.kernel, image.initrd, image.base_image) == (
        "/var/lib/libvirt/images/novalog/vmlinux",
        "/var/lib/libvirt/images/novalog/initrd.gz",
        "/var/lib/libvirt/images/novalog/base.qcow2",
    )
    assert image.disk_path("cn1", "i-1") == "/var/lib/libvirt/images/novalog/instances/cn1/i-1/disk.qcow2"


@pytest.mark.parametrize(("host", "instance_id"), [("cn1", "../x"), ("..", "i-1"), ("", "i-1"), ("cn1", "a/b")])
def test_guest_image_refuses_paths_outside_the_instance_directory(host: str, instance_id: str) -> None:
    with pytest.raises(ValueError, match="not usable in a path"):
        IMAGE.instance_dir(host, instance_id)


def test_domain_xml_escapes_user_text() -> None:
    spec = replace(guest_spec("i-1"), name="<a & 'b'>")

    instance = ET.fromstring(domain_xml(spec, "test")).find(f"metadata/{{{METADATA_NS}}}instance")

    assert instance.findtext(f"{{{METADATA_NS}}}name") == "<a & 'b'>"


def test_domain_xml_refuses_an_unknown_domain_type() -> None:
    with pytest.raises(ValueError, match="kvm"):
        domain_xml(guest_spec("i-1"), "kvm")


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        pytest.param('<instance id="i-1"/>', "i-1", id="as-libvirt-returns-it"),
        pytest.param(f'<n:instance xmlns:n="{METADATA_NS}" id="i-1"><n:name>x</n:name></n:instance>', "i-1", id="namespaced"),
        pytest.param('<instance id=""/>', None, id="empty-id"),
        pytest.param("<instance/>", None, id="no-id"),
        pytest.param('<other id="i-1"/>', None, id="other-element"),
        pytest.param("not xml", None, id="garbage"),
    ],
)
def test_instance_id_from_metadata(element: str, expected: str | None) -> None:
    assert instance_id_from_metadata(element) == expected


@pytest.mark.parametrize(
    ("element", "host", "expected"),
    [
        pytest.param('<instance id="i-1" host="cn1"/>', "cn1", "i-1", id="this-host"),
        pytest.param('<instance id="i-1" host="cn2"/>', "cn1", None, id="another-host-on-the-same-hypervisor"),
        pytest.param('<instance id="i-1"/>', "cn1", None, id="no-host"),
        pytest.param('<instance id="i-1" host="cn2"/>', None, "i-1", id="any-host"),
    ],
)
def test_instance_id_from_metadata_of_one_host(element: str, host: str | None, expected: str | None) -> None:
    assert instance_id_from_metadata(element, host) == expected


def test_domain_xml_round_trips_its_instance_id() -> None:
    instance = ET.fromstring(domain_xml(guest_spec("i-42"), "test")).find(f"metadata/{{{METADATA_NS}}}instance")

    assert instance_id_from_metadata(ET.tostring(instance, encoding="unicode")) == "i-42"


def test_a_resized_definition_changes_only_the_sizes() -> None:
    original = domain_xml(guest_spec("i-1"), "test")
    resized = ET.fromstring(resized_domain_xml(original, replace(guest_spec("i-1", vcpus=4, memory_mb=2048), disk_gb=20)))
    before = ET.fromstring(original)

    assert (resized.find("memory").text, resized.find("memory").get("unit"), resized.find("vcpu").text) == ("2097152", "KiB", "4")
    assert resized.find(f"metadata/{{{METADATA_NS}}}instance/{{{METADATA_NS}}}disk_gb").text == "20"
    assert resized.find("name").text == before.find("name").text
    assert instance_id_from_metadata(ET.tostring(resized.find(f"metadata/{{{METADATA_NS}}}instance"), encoding="unicode")) == "i-1"


@pytest.mark.parametrize(("domain_type", "given"), [("test", {}), ("qemu", {"host": "cn1", "image": IMAGE})], ids=["test", "qemu"])
def test_domain_xml_names_the_guest_with_its_instance_name(domain_type: str, given: dict) -> None:
    # The agent sets domain_name to Nova's instance name (instance-%08x); the metadata still says whose guest it is.
    domain = ET.fromstring(domain_xml(replace(guest_spec("i-1"), domain_name="instance-00002a05"), domain_type, **given))

    assert domain.findtext("name") == "instance-00002a05"
    assert domain.find(f"metadata/{{{METADATA_NS}}}instance").get("id") == "i-1"
