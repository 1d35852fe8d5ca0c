"""ImagePropertiesFilter: canonical names, supported_instances triples, hypervisor version, address bits."""

from __future__ import annotations

import json

import pytest

from builders import build_sched_host, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.image_props_filter import (
    ImagePropertiesFilter,
    ImagePropertyError,
    canonical,
    version_satisfies,
)
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()
QEMU = [["x86_64", "qemu", "hvm"]]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(("x86_32", "xapi", "pv"), ("i686", "xen", "xen"), id="xen-era-aliases"),
        pytest.param(("i386", "QEMU", "HV"), ("i686", "qemu", "hvm"), id="i386-and-case"),
        pytest.param(("AMD64", "kvm", "baremetal"), ("x86_64", "kvm", "hvm"), id="amd64-baremetal"),
        pytest.param(("x86_32p", None, None), ("i686", None, None), id="unset-stay-none"),
        pytest.param(("sparc9", "hyperv", "exe"), ("sparc9", "hyperv", "exe"), id="unknown-kept"),
    ],
)
def test_canonical(names, expected) -> None:
    assert canonical(names) == expected


@pytest.mark.parametrize(
    ("props", "supported", "passes"),
    [
        # nothing asked: every host, even one that advertises nothing
        pytest.param({}, [], True, id="no-properties-no-triples"),
        pytest.param({"os_distro": "ubuntu"}, [], True, id="unrelated-property"),
        pytest.param({"hw_architecture": ""}, [], True, id="empty-value-is-unset"),
        # asked, host advertises nothing: fail
        pytest.param({"hw_architecture": "x86_64"}, [], False, id="host-without-triples"),
        # today's names
        pytest.param({"hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"}, QEMU, True, id="all-three-match"),
        pytest.param({"hw_architecture": "aarch64"}, QEMU, False, id="arch-differs"),
        pytest.param({"img_hv_type": "xen"}, QEMU, False, id="hv-type-differs"),
        pytest.param({"hw_vm_mode": "exe"}, QEMU, False, id="vm-mode-differs"),
        # canonicalization on the image side and on the host side
        pytest.param({"hw_architecture": "AMD64", "img_hv_type": "QEMU"}, QEMU, True, id="image-amd64-is-x86_64"),
        pytest.param({"hw_architecture": "x86_32", "hw_vm_mode": "pv"}, [["i686", "xen", "xen"]], True, id="image-x86_32-pv"),
        pytest.param({"img_hv_type": "xapi"}, [["x86_64", "xen", "hvm"]], True, id="image-xapi-is-xen"),
        pytest.param({"hw_vm_mode": "hv"}, QEMU, True, id="image-hv-is-hvm"),
        pytest.param({"img_hv_type": "qemu"}, [["X86_64", "QEMU", "HVM"]], True, id="host-upper-case"),
        # membership in the triple, not position (as Nova)
        pytest.param({"hw_vm_mode": "qemu"}, QEMU, True, id="membership-not-position"),
        # several triples: one must hold every asked property
        pytest.param({"hw_architecture": "i686", "img_hv_type": "qemu"}, [["x86_64", "qemu", "hvm"], ["i686", "kvm", "hvm"]], False, id="split-across-triples"),
        pytest.param({"hw_architecture": "i686", "img_hv_type": "kvm"}, [["x86_64", "qemu", "hvm"], ["i686", "kvm", "hvm"]], True, id="second-triple"),
        # legacy names are still read; today's name wins
        pytest.param({"architecture": "x86_64", "hypervisor_type": "qemu", "vm_mode": "hvm"}, QEMU, True, id="legacy-names"),
        pytest.param({"architecture": "aarch64"}, QEMU, False, id="legacy-name-differs"),
        pytest.param({"hw_architecture": "x86_64", "architecture": "aarch64"}, QEMU, True, id="today-name-wins"),
        # an unknown name is kept and matches no real host
        pytest.param({"hw_architecture": "sparc9"}, QEMU, False, id="unknown-arch"),
    ],
)
def test_image_properties_filter(props, supported, passes) -> None:
    host = build_sched_host(supported_instances=supported)
    spec = build_spec(image_properties=props)

    assert ImagePropertiesFilter().host_passes(host, spec, OPTIONS) is passes


QEMU_IMAGE = {"img_hv_type": "qemu"}


@pytest.mark.parametrize(
    ("props", "hypervisor_version", "passes"),
    [
        # 8_002_000 reads "8.2.0"
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": ">=8.0"}, 8_002_000, True, id="ge-8.0-on-8.2.0"),
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": ">=8.3"}, 8_002_000, False, id="ge-8.3-on-8.2.0"),
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": ">=6.0,<8.2"}, 8_002_000, False, id="range-upper-excluded"),
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": ">=6.0, <8.3"}, 8_002_000, True, id="range-inside"),
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": "==8.2"}, 8_002_000, True, id="eq-8.2-is-8.2.0"),
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": "!=8.2.0"}, 8_002_000, False, id="ne-same"),
        pytest.param({**QEMU_IMAGE, "hypervisor_version_requires": ">=9"}, 8_002_000, False, id="legacy-name"),
        # the host's version unknown (0): not checked
        pytest.param({**QEMU_IMAGE, "img_hv_requested_version": ">=9"}, 0, True, id="host-version-unknown"),
        # a version alone, with no arch/type/mode asked: not checked at all (Nova returns early)
        pytest.param({"img_hv_requested_version": ">=9"}, 8_002_000, True, id="version-alone-not-checked"),
    ],
)
def test_image_properties_hypervisor_version(props, hypervisor_version, passes) -> None:
    host = build_sched_host(supported_instances=QEMU, hypervisor_version=hypervisor_version)

    assert ImagePropertiesFilter().host_passes(host, build_spec(image_properties=props), OPTIONS) is passes


@pytest.mark.parametrize(
    ("predicate", "version", "expected"),
    [
        pytest.param(">=6.0,<6.2", 6_001_000, True, id="6.1-in-range"),
        pytest.param(">=6.0,<6.2", 6_002_000, False, id="6.2-out"),
        pytest.param("<=6", 6_000_000, True, id="6-is-6.0.0"),
        pytest.param(">1.1", 1_002, True, id="1002-reads-1.2-as-nova"),
        pytest.param("==0.1.2", 1_002, False, id="1002-is-not-0.1.2"),
        pytest.param(">10.0", 9_000_000, False, id="numeric-not-lexicographic"),
    ],
)
def test_version_satisfies(predicate, version, expected) -> None:
    assert version_satisfies(predicate, version) is expected


@pytest.mark.parametrize("predicate", ["6.0", "~=6.0", ">=six", ">= 6.0 7"], ids=["no-operator", "unknown-operator", "not-numeric", "two-versions"])
def test_bad_version_predicate_raises(predicate) -> None:
    host = build_sched_host(supported_instances=QEMU)
    spec = build_spec(image_properties={**QEMU_IMAGE, "img_hv_requested_version": predicate})

    with pytest.raises(ImagePropertyError):
        ImagePropertiesFilter().host_passes(host, spec, OPTIONS)


@pytest.mark.parametrize(
    ("cpu_info", "bits", "passes"),
    [
        pytest.param({"maxphysaddr": {"mode": "emulate", "bits": 42}}, "42", True, id="42-of-42"),
        pytest.param({"maxphysaddr": {"mode": "emulate", "bits": 20}}, "42", False, id="42-of-20"),
        # the host's bits unknown: not checked
        pytest.param({}, "42", True, id="host-bits-unknown"),
        pytest.param({"maxphysaddr": {"bits": 20}}, "", True, id="not-asked"),
    ],
)
def test_image_properties_maxphysaddr_bits(cpu_info, bits, passes) -> None:
    host = build_sched_host(supported_instances=QEMU, cpu_info=json.dumps(cpu_info))
    spec = build_spec(image_properties={**QEMU_IMAGE, "hw_maxphysaddr_bits": bits})

    assert ImagePropertiesFilter().host_passes(host, spec, OPTIONS) is passes


def test_run_once_per_request() -> None:
    assert ImagePropertiesFilter.run_filter_once_per_request is True


@pytest.mark.parametrize("registered", [ImagePropertiesFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered


@pytest.mark.parametrize(
    ("props", "supported", "passes"),
    [
        # an image without an architecture takes the option's: an ARM host no longer fits it
        ({}, [["aarch64", "qemu", "hvm"]], False),
        ({}, QEMU, True),
        ({"hw_vm_mode": "hvm"}, [["aarch64", "qemu", "hvm"]], False),
        # the image's own architecture, today's name or the legacy one, wins over the default
        ({"hw_architecture": "aarch64"}, [["aarch64", "qemu", "hvm"]], True),
        ({"architecture": "aarch64"}, QEMU, False),
        # a host that advertises nothing cannot show it runs the default architecture
        ({}, [], False),
    ],
)
def test_default_architecture_stands_in_for_an_image_without_one(props, supported, passes) -> None:
    options = SchedulerOptions(image_properties_default_architecture="x86_64")
    spec = build_spec(image_properties=props)
    host = build_sched_host(supported_instances=supported)
    assert ImagePropertiesFilter().host_passes(host, spec, options) is passes
    # With a default, no request is decided without looking at the hosts.
    assert ImagePropertiesFilter().passes_all(spec, options) is False


def test_without_the_default_an_image_without_properties_passes_everywhere() -> None:
    spec = build_spec(image_properties={})
    assert ImagePropertiesFilter().passes_all(spec, OPTIONS) is True
    assert ImagePropertiesFilter().host_passes(build_sched_host(supported_instances=[["aarch64", "qemu", "hvm"]]), spec, OPTIONS)


def test_the_options_file_takes_the_default_architecture() -> None:
    from novalog.scheduler.options_file import parse_options

    assert parse_options({"image_properties_default_architecture": "x86_64"}).image_properties_default_architecture == "x86_64"
