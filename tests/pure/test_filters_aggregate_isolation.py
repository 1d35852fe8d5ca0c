"""Aggregates that reserve hosts.

AggregateMultiTenancyIsolation, AggregateTypeAffinityFilter, AggregateImagePropertiesIsolation.
"""

from __future__ import annotations

import pytest

from builders import build_aggregated_host, build_flavor, build_spec
from novalog.scheduler.filters.aggregate_image_properties_isolation import AggregateImagePropertiesIsolation
from novalog.scheduler.filters.aggregate_multitenancy_isolation import AggregateMultiTenancyIsolation
from novalog.scheduler.filters.aggregate_type_affinity_filter import AggregateTypeAffinityFilter
from novalog.scheduler.filters.image_meta_props import STANDARD_IMAGE_PROPERTIES
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


@pytest.mark.parametrize(
    ("aggregates", "project", "passes"),
    [
        pytest.param([], "p1", True, id="no-aggregate"),
        pytest.param([{"availability_zone": "az1"}], "p1", True, id="aggregate-without-tenant-key"),
        pytest.param([{"filter_tenant_id": "p1"}], "p1", True, id="named-tenant"),
        pytest.param([{"filter_tenant_id": "p1"}], "p2", False, id="other-tenant-kept-out"),
        # Kilo+: "p1, p2" -> {"p1", "p2"} (split on commas, trimmed)
        pytest.param([{"filter_tenant_id": "p1, p2"}], "p2", True, id="comma-list-trimmed"),
        pytest.param([{"filter_tenant_id": "p1,p2"}], "p3", False, id="comma-list-without-project"),
        # union over aggregates: {"p1"} | {"p2"}
        pytest.param([{"filter_tenant_id": "p1"}, {"filter_tenant_id": "p2"}], "p2", True, id="union-over-aggregates"),
        # a restricted aggregate restricts the host even beside an open one
        pytest.param([{"filter_tenant_id": "p1"}, {}], "p2", False, id="open-aggregate-does-not-reopen"),
        # 2024.2+: every key starting with filter_tenant_id counts: {"p1"} | {"p2", "p3"}
        pytest.param([{"filter_tenant_id": "p1", "filter_tenant_id_2": "p2,p3"}], "p3", True, id="prefixed-key-2024.2"),
        pytest.param([{"filter_tenant_id_extra": "p2"}], "p1", False, id="prefixed-key-alone-restricts"),
        # the prefix must start the key
        pytest.param([{"my_filter_tenant_id": "p2"}], "p1", True, id="prefix-not-at-start-ignored"),
        # "" names the tenant "", so every real project is kept out (Nova)
        pytest.param([{"filter_tenant_id": ""}], "p1", False, id="empty-value-keeps-everyone-out"),
    ],
)
def test_aggregate_multitenancy_isolation(aggregates, project, passes) -> None:
    host = build_aggregated_host(*aggregates)

    assert AggregateMultiTenancyIsolation().host_passes(host, build_spec(project_id=project), OPTIONS) is passes


@pytest.mark.parametrize(
    ("aggregates", "flavor_name", "passes"),
    [
        pytest.param([], "m1.tiny", True, id="no-aggregate"),
        pytest.param([{"filter_tenant_id": "p1"}], "m1.tiny", True, id="aggregate-without-instance-type"),
        pytest.param([{"instance_type": "m1.tiny"}], "m1.tiny", True, id="named-flavor"),
        pytest.param([{"instance_type": "m1.large"}], "m1.tiny", False, id="other-flavor"),
        # Kilo+: "m1.large, m1.tiny" -> {"m1.large", "m1.tiny"}
        pytest.param([{"instance_type": "m1.large, m1.tiny"}], "m1.tiny", True, id="comma-list-trimmed"),
        # one aggregate naming the flavor is enough
        pytest.param([{"instance_type": "m1.large"}, {"instance_type": "m1.tiny"}], "m1.tiny", True, id="any-aggregate"),
        # names, not prefixes: "m1.tiny" is not "m1.tiny.v2"
        pytest.param([{"instance_type": "m1.tiny.v2"}], "m1.tiny", False, id="whole-name-only"),
    ],
)
def test_aggregate_type_affinity_filter(aggregates, flavor_name, passes) -> None:
    spec = build_spec(build_flavor(name=flavor_name, id="id-is-not-the-name"))

    assert AggregateTypeAffinityFilter().host_passes(build_aggregated_host(*aggregates), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("aggregates", "image", "options", "passes"),
    [
        pytest.param([], {"os_distro": "ubuntu"}, {}, True, id="no-aggregate"),
        pytest.param([{"os_distro": "ubuntu"}], {"os_distro": "ubuntu"}, {}, True, id="value-allowed"),
        pytest.param([{"os_distro": "ubuntu"}], {"os_distro": "windows"}, {}, False, id="value-not-allowed"),
        # "ubuntu, debian" -> {"ubuntu", "debian"}
        pytest.param([{"os_distro": "ubuntu, debian"}], {"os_distro": "debian"}, {}, True, id="comma-list-trimmed"),
        # values gathered across aggregates: {"ubuntu"} | {"debian"}
        pytest.param([{"os_distro": "ubuntu"}, {"os_distro": "debian"}], {"os_distro": "debian"}, {}, True, id="union"),
        pytest.param([{"os_distro": "ubuntu"}], {}, {}, True, id="image-without-property"),
        # "" is falsy in Nova's test, so it passes
        pytest.param([{"os_distro": "ubuntu"}], {"os_distro": ""}, {}, True, id="empty-property-passes"),
        # every key is checked: os_distro passes, hw_architecture does not
        pytest.param(
            [{"os_distro": "ubuntu", "hw_architecture": "x86_64"}],
            {"os_distro": "ubuntu", "hw_architecture": "aarch64"},
            {},
            False,
            id="all-keys-checked",
        ),
        # today's Nova only checks its standard property names
        pytest.param([{"my_custom": "a"}], {"my_custom": "b"}, {}, True, id="custom-property-skipped"),
        pytest.param([{"architecture": "x86_64"}], {"architecture": "aarch64"}, {}, True, id="legacy-name-skipped"),
        # namespace "hw" + separator "_": hw_architecture counts, os_distro does not
        pytest.param(
            [{"os_distro": "ubuntu", "hw_architecture": "x86_64"}],
            {"os_distro": "windows", "hw_architecture": "x86_64"},
            {"aggregate_image_properties_isolation_namespace": "hw", "aggregate_image_properties_isolation_separator": "_"},
            True,
            id="namespace-skips-other-keys",
        ),
        pytest.param(
            [{"hw_architecture": "x86_64"}],
            {"hw_architecture": "aarch64"},
            {"aggregate_image_properties_isolation_namespace": "hw", "aggregate_image_properties_isolation_separator": "_"},
            False,
            id="namespace-checks-its-keys",
        ),
        # default separator ".": "hw." starts no standard name, so nothing is checked
        pytest.param(
            [{"hw_architecture": "x86_64"}],
            {"hw_architecture": "aarch64"},
            {"aggregate_image_properties_isolation_namespace": "hw"},
            True,
            id="dotted-namespace-checks-nothing",
        ),
    ],
)
def test_aggregate_image_properties_isolation(aggregates, image, options, passes) -> None:
    host = build_aggregated_host(*aggregates)
    spec = build_spec(image_properties=image)

    assert AggregateImagePropertiesIsolation().host_passes(host, spec, SchedulerOptions(**options)) is passes


def test_standard_image_properties_are_novas_field_names() -> None:
    # 58 hw_, 19 img_, 8 os_, traits_required: 86 fields of ImageMetaProps (34.0.0)
    prefixes = sorted({name.split("_")[0] for name in STANDARD_IMAGE_PROPERTIES})

    assert (len(STANDARD_IMAGE_PROPERTIES), prefixes) == (86, ["hw", "img", "os", "traits"])
    assert {"hw_architecture", "img_hv_type", "hw_vm_mode", "os_distro"} <= STANDARD_IMAGE_PROPERTIES
