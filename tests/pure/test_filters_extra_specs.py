"""ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter: flavor extra specs against the host."""

from __future__ import annotations

import json

import pytest

from builders import build_aggregated_host, build_flavor, build_sched_host, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.aggregate_instance_extra_specs import AggregateInstanceExtraSpecsFilter
from novalog.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter, capability
from novalog.scheduler.filters.extra_specs_ops import ExtraSpecError
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()
CPU_INFO = json.dumps({"vendor": "Intel", "model": "Haswell", "topology": {"cores": 2}, "maxphysaddr": {"bits": 42}})
# free_ram_mb 8192, vcpus_total 4, vcpus_used 0, hypervisor_type "QEMU", trust_level None
HOST = build_sched_host(cpu_info=CPU_INFO, stats={"opt1": "1", "gpu": "a100", "nested": json.dumps({"a": {"b": "2"}})})


@pytest.mark.parametrize(
    ("extra_specs", "passes"),
    [
        pytest.param({}, True, id="no-extra-specs"),
        # unscoped: host attribute first
        pytest.param({"free_ram_mb": ">= 300"}, True, id="attribute-ram-ge-300"),
        pytest.param({"free_ram_mb": "<= 300"}, False, id="attribute-ram-le-300"),
        pytest.param({"vcpus_total": "= 4"}, True, id="eq-is-at-least-4"),
        pytest.param({"vcpus_total": "= 5"}, False, id="eq-is-at-least-5"),
        pytest.param({"hypervisor_type": "QEMU"}, True, id="attribute-string"),
        pytest.param({"hypervisor_type": "kvm"}, False, id="attribute-string-differs"),
        # unscoped: then stats
        pytest.param({"opt1": "1"}, True, id="stat"),
        pytest.param({"opt1": "2"}, False, id="stat-differs"),
        # Newton+: unscoped keys the host does not have are ignored
        pytest.param({"XXYY": "1"}, True, id="unknown-unscoped-ignored"),
        # an attribute that is None and no stat: the host fails
        pytest.param({"trust_level": "trusted"}, False, id="none-attribute-fails"),
        # other scopes are not this filter's business
        pytest.param({"wrong_scope:opt1": "2"}, True, id="other-scope-ignored"),
        pytest.param({"hw:cpu_policy": "dedicated"}, True, id="hw-scope-ignored"),
        pytest.param({"opt1:a": "9"}, True, id="unscoped-path-is-a-scope-ignored"),
        # capabilities scope
        pytest.param({"capabilities:opt1": "1"}, True, id="scoped-stat"),
        pytest.param({"capabilities:gpu": "<or> v100 <or> a100"}, True, id="scoped-or"),
        pytest.param({"capabilities:missing": "1"}, False, id="scoped-missing-fails"),
        pytest.param({"capabilities:free_ram_mb": "s== 8192"}, True, id="scoped-attribute-as-string"),
        # Juno+: JSON strings decoded mid-path
        pytest.param({"capabilities:cpu_info:vendor": "Intel"}, True, id="cpu-info-vendor"),
        pytest.param({"capabilities:cpu_info:vendor": "AMD"}, False, id="cpu-info-vendor-differs"),
        pytest.param({"capabilities:cpu_info:topology:cores": ">= 2"}, True, id="cpu-info-nested"),
        pytest.param({"capabilities:cpu_info:features": "x"}, False, id="cpu-info-missing-key"),
        pytest.param({"capabilities:cpu_info:vendor:x": "Intel"}, False, id="step-on-a-non-json-string-fails"),
        pytest.param({"capabilities:nested:a:b": "2"}, True, id="stat-json-decoded"),
        # several specs: all must hold
        pytest.param({"capabilities:opt1": "1", "free_ram_mb": ">= 9000"}, False, id="one-of-two-fails"),
        # today's Nova: hw:maxphysaddr_bits becomes capabilities:cpu_info:maxphysaddr:bits >= N
        pytest.param({"hw:maxphysaddr_bits": "42"}, True, id="maxphysaddr-42-of-42"),
        pytest.param({"hw:maxphysaddr_bits": "43"}, False, id="maxphysaddr-43-of-42"),
    ],
)
def test_compute_capabilities_filter(extra_specs, passes) -> None:
    spec = build_spec(build_flavor(extra_specs=extra_specs))

    assert ComputeCapabilitiesFilter().host_passes(HOST, spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("cpu_info", "extra_specs", "passes"),
    [
        pytest.param("{ }", {"capabilities:cpu_info:vendor": "Intel"}, False, id="empty-cpu-info"),
        pytest.param("cpu_info", {"capabilities:cpu_info:vendor": "Intel"}, False, id="cpu-info-not-json"),
        pytest.param("{ }", {"hw:maxphysaddr_bits": "42"}, False, id="maxphysaddr-unknown-fails"),
        # backward compatibility: the whole cpu_info string as an unscoped key
        pytest.param('{"vendor": "Intel"}', {"cpu_info": '{"vendor": "Intel"}'}, True, id="whole-cpu-info-string"),
        pytest.param('{"vendor": "Intel"}', {"cpu_info": ""}, False, id="whole-cpu-info-empty-req"),
    ],
)
def test_compute_capabilities_cpu_info(cpu_info, extra_specs, passes) -> None:
    spec = build_spec(build_flavor(extra_specs=extra_specs))

    assert ComputeCapabilitiesFilter().host_passes(build_sched_host(cpu_info=cpu_info), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(("vcpus_total",), 4, id="attribute"),
        pytest.param(("opt1",), "1", id="stat-fallback"),
        pytest.param(("cpu_info", "topology", "cores"), 2, id="json-path"),
        pytest.param(("__class__",), None, id="private-attribute-hidden"),
        pytest.param(("supported_instances", "x"), None, id="step-on-a-tuple"),
        pytest.param(("vcpus_total", "real"), None, id="step-on-a-number"),
    ],
)
def test_capability_walk(path, expected) -> None:
    assert capability(HOST, path) == expected


def test_compute_capabilities_non_numeric_capability_raises() -> None:
    spec = build_spec(build_flavor(extra_specs={"capabilities:gpu": ">= 2"}))

    with pytest.raises(ExtraSpecError):
        ComputeCapabilitiesFilter().host_passes(HOST, spec, OPTIONS)


@pytest.mark.parametrize(
    ("aggregates", "extra_specs", "passes"),
    [
        pytest.param([], {}, True, id="no-extra-specs-no-aggregate"),
        pytest.param([{"ssd": "true"}], {}, True, id="no-extra-specs"),
        # unscoped and scoped keys both read the aggregates
        pytest.param([{"ssd": "true"}], {"ssd": "true"}, True, id="unscoped-match"),
        pytest.param([{"ssd": "true"}], {"aggregate_instance_extra_specs:ssd": "true"}, True, id="scoped-match"),
        pytest.param([{"ssd": "true"}], {"ssd": "false"}, False, id="unscoped-differs"),
        # key missing from every aggregate (or no aggregate): fail
        pytest.param([{"ssd": "true"}], {"gpu": "1"}, False, id="key-missing"),
        pytest.param([], {"ssd": "true"}, False, id="no-aggregate"),
        # other scopes ignored
        pytest.param([], {"capabilities:ssd": "true", "hw:cpu_policy": "dedicated"}, True, id="other-scopes-ignored"),
        # the scope is split at the first ":" only
        pytest.param([{"a:b": "1"}], {"aggregate_instance_extra_specs:a:b": "1"}, True, id="scope-split-once"),
        # values gathered over the aggregates: any one may match
        pytest.param([{"ssd": "false"}, {"ssd": "true"}], {"ssd": "true"}, True, id="any-aggregate-value"),
        # Kilo+: values split on commas and trimmed
        pytest.param([{"gpu": "k80, a100"}], {"gpu": "a100"}, True, id="comma-list"),
        pytest.param([{"gpu": "k80, a100"}], {"gpu": "k80, a100"}, False, id="comma-list-whole-string-no"),
        # operators apply to each value
        pytest.param([{"cores": "8,16"}], {"cores": ">= 12"}, True, id="numeric-any-value"),
        pytest.param([{"cores": "8,16"}], {"cores": ">= 32"}, False, id="numeric-no-value"),
        pytest.param([{"cores": "16"}], {"cores": "= 8"}, True, id="eq-is-at-least"),
        pytest.param([{"gpu": "a100"}], {"gpu": "<in> 100"}, True, id="in-substring"),
        # all specs must hold
        pytest.param([{"ssd": "true", "gpu": "a100"}], {"ssd": "true", "gpu": "k80"}, False, id="one-of-two-fails"),
    ],
)
def test_aggregate_instance_extra_specs_filter(aggregates, extra_specs, passes) -> None:
    spec = build_spec(build_flavor(extra_specs=extra_specs))

    assert AggregateInstanceExtraSpecsFilter().host_passes(build_aggregated_host(*aggregates), spec, OPTIONS) is passes


def test_aggregate_instance_extra_specs_non_numeric_value_raises() -> None:
    spec = build_spec(build_flavor(extra_specs={"gpu": ">= 2"}))

    with pytest.raises(ExtraSpecError):
        AggregateInstanceExtraSpecsFilter().host_passes(build_aggregated_host({"gpu": "a100"}), spec, OPTIONS)


def test_unscoped_spec_is_read_by_both_filters() -> None:
    # Reference §5: an unscoped key the host also has as a stat must satisfy both filters.
    spec = build_spec(build_flavor(extra_specs={"gpu": "a100"}))
    host = build_aggregated_host({"gpu": "k80"}, stats={"gpu": "a100"})

    assert ComputeCapabilitiesFilter().host_passes(host, spec, OPTIONS) is True
    assert AggregateInstanceExtraSpecsFilter().host_passes(host, spec, OPTIONS) is False


@pytest.mark.parametrize("once_filter", [ComputeCapabilitiesFilter, AggregateInstanceExtraSpecsFilter], ids=lambda cls: cls.NAME)
def test_run_once_per_request(once_filter) -> None:
    assert once_filter.run_filter_once_per_request is True


@pytest.mark.parametrize("registered", [ComputeCapabilitiesFilter, AggregateInstanceExtraSpecsFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered
