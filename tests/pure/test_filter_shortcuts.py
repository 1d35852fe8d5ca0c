"""A filter that says the request alone decides (`passes_all`) must agree with asking every host."""

from __future__ import annotations

import pytest

from builders import build_flavor, build_sched_host, build_spec
from novalog.events.records import InstanceGroup
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.weights import WEIGHERS

HOSTS = [build_sched_host(host=f"h{i}") for i in range(4)]
SPECS = [
    build_spec(),
    build_spec(build_flavor(extra_specs={"capabilities:hypervisor_type": "QEMU"})),
    build_spec(image_properties={"hw_architecture": "aarch64"}),
    build_spec(instance_group=InstanceGroup("g", "anti-affinity", ["other"])),
    build_spec(instance_group=InstanceGroup("g", "affinity", ["other"])),
    build_spec(instance_group=InstanceGroup("g", "soft-affinity", ["other"])),
]


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("spec", SPECS, ids=["plain", "extra-specs", "image", "anti", "affinity", "soft"])
def test_a_filters_shortcut_never_contradicts_its_hosts(name: str, spec) -> None:
    host_filter, options = FILTERS[name](), SchedulerOptions()
    if host_filter.passes_all(spec, options):
        assert all(host_filter.host_passes(h, spec, options) for h in HOSTS)


@pytest.mark.parametrize("name", sorted(WEIGHERS))
@pytest.mark.parametrize("spec", SPECS, ids=["plain", "extra-specs", "image", "anti", "affinity", "soft"])
def test_a_weighers_shortcut_means_every_host_weighs_zero(name: str, spec) -> None:
    weigher = WEIGHERS[name]()
    if weigher.weighs_nothing(spec):
        assert all(weigher.weigh_object(h, spec) == 0 for h in HOSTS)


def test_the_shortcuts_are_taken_where_they_save_the_most() -> None:
    options = SchedulerOptions()
    plain = build_spec()
    assert all(FILTERS[n]().passes_all(plain, options) for n in ("ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                                                                  "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"))
    assert not FILTERS["ImagePropertiesFilter"]().passes_all(SPECS[2], options)
    assert not FILTERS["ServerGroupAntiAffinityFilter"]().passes_all(SPECS[3], options)
