"""Operators' own filters and weighers, loaded by dotted path (Nova's available_filters / weight_classes)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from builders import build_aggregated_host, build_sched_host, build_spec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.examples.plugins import DrainingHostFilter, RackPreferenceWeigher
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.options import PluginLoadError, SchedulerOptions, UnknownPluginError
from novalog.scheduler.options_file import OptionsFile, parse_options
from novalog.scheduler.pipeline import enabled_filters, enabled_weighers, no_valid_host_message, select_host
from novalog.scheduler.vectorized import AggregateSetFilter, VectorizedFilter, VectorizedWeigher
from novalog.scheduler.weights.base import BaseHostWeigher

DRAINING = "novalog.scheduler.examples.plugins.DrainingHostFilter"
RACK = "novalog.scheduler.examples.plugins.RackPreferenceWeigher"
HOSTS = [
    build_sched_host(host="cn1", stats={"draining": "true", "rack": "r1"}),  # drained by its own stat
    build_aggregated_host({"draining": "True"}, host="cn2", stats={"rack": "r2"}),  # drained by its aggregate
    build_sched_host(host="cn3", stats={"rack": "r1"}),
    build_sched_host(host="cn4", stats={"rack": "r2"}, memory_mb=16384),  # most free RAM
]


# --- test-local plug-ins that break the contract one way each (importable as test_scheduler_plugins.X)


class NotAFilter:
    NAME = "NotAFilter"
    REASON = "never"

    def host_passes(self, host, spec, options) -> bool:
        return True


class ClashingFilter(BaseHostFilter):
    NAME = "RamFilter"
    REASON = "shadowing a built-in"

    def host_passes(self, host, spec, options) -> bool:
        return True


class ReasonlessFilter(BaseHostFilter):
    NAME = "ReasonlessFilter"

    def host_passes(self, host, spec, options) -> bool:
        return True


class AbstractFilter(BaseHostFilter):
    NAME = "AbstractFilter"
    REASON = "abstract"


class UnconfiguredWeigher(BaseHostWeigher):
    NAME = "UnconfiguredWeigher"
    MULTIPLIER_OPTION = "no_such_option"

    def weigh_object(self, host, spec) -> float:
        return 0.0


class ConfiguredWeigher(BaseHostWeigher):
    """Its multiplier is a scheduler option: no override needed."""

    NAME = "ConfiguredWeigher"
    MULTIPLIER_OPTION = "ram_weight_multiplier"

    def weigh_object(self, host, spec) -> float:
        return -float(host.free_ram_mb)


def options(**fields) -> SchedulerOptions:
    return SchedulerOptions(
        available_filters=(DRAINING,), enabled_filters=("ComputeFilter", "RamFilter", "DrainingHostFilter"), **fields
    )


@pytest.mark.parametrize("columnar", [False, True], ids=["host-by-host", "columnar"])
def test_a_filter_loaded_by_dotted_path_filters_in_the_pipeline(columnar) -> None:
    hosts = HostColumns.from_hosts(HOSTS) if columnar else HOSTS

    selection = select_host(hosts, build_spec(), options(), random.Random(0))

    # cn1 and cn2 are draining; of cn3 and cn4, RAMWeigher prefers cn4's 16 GB
    assert selection.host == "cn4"
    assert selection.trace.funnel() == "ComputeFilter: 4 -> 4, RamFilter: 4 -> 4, DrainingHostFilter: 4 -> 2"
    assert [w.host for w in selection.trace.top] == ["cn4", "cn3"]


def test_the_plugin_is_named_by_dotted_path_in_enabled_filters_too_and_its_reason_explains() -> None:
    opts = SchedulerOptions(enabled_filters=("ComputeFilter", DRAINING))
    selection = select_host(HOSTS[:2], build_spec(), opts, random.Random(0))

    assert selection.host is None
    assert no_valid_host_message(selection.trace) == (
        "No valid host was found. 0/2 hosts: 2 draining. ComputeFilter: 2 -> 2, DrainingHostFilter: 2 -> 0"
    )


def test_plugins_have_no_columnar_form_and_the_columnar_pass_asks_them_host_by_host() -> None:
    assert not issubclass(DrainingHostFilter, (VectorizedFilter, AggregateSetFilter))
    assert not issubclass(RackPreferenceWeigher, VectorizedWeigher)
    opts = options(weight_classes=("RAMWeigher", RACK), host_subset_size=1)
    spec = build_spec(scheduler_hints={"rack": ["r1"]})

    # RAMWeigher (minval 0): cn3 8192 / 16384 = 0.5, cn4 1.0; the rack hint r1: cn3 1.0, cn4 0.0 -> cn3 1.5 beats cn4 1.0
    scalar = select_host(HOSTS, spec, opts, random.Random(0))
    columnar = select_host(HostColumns.from_hosts(HOSTS), spec, opts, random.Random(0))

    assert scalar == columnar and scalar.host == "cn3"
    assert {w.host: w.parts for w in scalar.trace.top} == {
        "cn3": {"RAMWeigher": 0.5, "RackPreferenceWeigher": 1.0},
        "cn4": {"RAMWeigher": 1.0, "RackPreferenceWeigher": 0.0},
    }


def test_a_plugin_weigher_multiplier_from_its_aggregates() -> None:
    hosts = [build_aggregated_host({"rack_weight_multiplier": "-2.0"}, host="a", stats={"rack": "r1"}), build_sched_host(host="b")]
    spec = build_spec(scheduler_hints={"rack": ["r1"]})

    selection = select_host(hosts, spec, SchedulerOptions(weight_classes=(RACK,)), random.Random(0))

    # a: -2.0 x 1.0 = -2.0; b: 1.0 x 0.0 = 0.0 -> b first
    assert [(w.host, w.weight) for w in selection.trace.top] == [("b", 0.0), ("a", -2.0)]


def test_the_loaded_instances_are_the_classes_at_those_paths() -> None:
    opts = options(weight_classes=("RAMWeigher", RACK, "test_scheduler_plugins.ConfiguredWeigher"))

    assert [type(f).__name__ for f in enabled_filters(opts)] == ["ComputeFilter", "RamFilter", "DrainingHostFilter"]
    assert [type(w) for w in enabled_weighers(opts)][1:] == [RackPreferenceWeigher, ConfiguredWeigher]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        pytest.param(dict(enabled_filters=("no.such.module.Filter",)), PluginLoadError,
                     "cannot load plug-in 'no.such.module.Filter': module 'no.such.module' does not import (No module named 'no')",
                     id="module-missing"),
        pytest.param(dict(available_filters=("novalog.scheduler.examples.plugins.NoSuchFilter",)), PluginLoadError,
                     "cannot load plug-in 'novalog.scheduler.examples.plugins.NoSuchFilter': "
                     "module 'novalog.scheduler.examples.plugins' has no 'NoSuchFilter'", id="class-missing"),
        pytest.param(dict(enabled_filters=("test_scheduler_plugins.NotAFilter",)), PluginLoadError,
                     "'test_scheduler_plugins.NotAFilter' is not a filter: a filter is a subclass of "
                     "novalog.scheduler.filters.base.BaseHostFilter", id="not-a-filter"),
        pytest.param(dict(enabled_filters=(RACK,)), PluginLoadError,
                     f"'{RACK}' is not a filter: a filter is a subclass of novalog.scheduler.filters.base.BaseHostFilter",
                     id="a-weigher-as-filter"),
        pytest.param(dict(weight_classes=(DRAINING,)), PluginLoadError,
                     f"'{DRAINING}' is not a weigher: a weigher is a subclass of novalog.scheduler.weights.base.BaseHostWeigher",
                     id="a-filter-as-weigher"),
        pytest.param(dict(enabled_filters=("json.JSONDecodeError.msg",)), PluginLoadError,
                     "cannot load plug-in 'json.JSONDecodeError.msg': module 'json.JSONDecodeError' does not import (",
                     id="a-class-as-module"),
        pytest.param(dict(enabled_filters=("json.dumps",)), PluginLoadError,
                     "'json.dumps' is not a filter: a filter is a subclass of novalog.scheduler.filters.base.BaseHostFilter",
                     id="a-function-not-a-class"),
        pytest.param(dict(enabled_filters=("test_scheduler_plugins.AbstractFilter",)), PluginLoadError,
                     "'test_scheduler_plugins.AbstractFilter' is not a usable filter: it does not implement host_passes",
                     id="abstract"),
        pytest.param(dict(enabled_filters=("test_scheduler_plugins.ReasonlessFilter",)), PluginLoadError,
                     "'test_scheduler_plugins.ReasonlessFilter' is not a usable filter: class variable REASON must be a non-empty string",
                     id="no-reason"),
        pytest.param(dict(enabled_filters=("test_scheduler_plugins.ClashingFilter",)), PluginLoadError,
                     "'test_scheduler_plugins.ClashingFilter': NAME 'RamFilter' is a built-in filter's; a plug-in needs a name of its own",
                     id="shadows-a-built-in"),
        pytest.param(dict(weight_classes=("test_scheduler_plugins.UnconfiguredWeigher",)), PluginLoadError,
                     "'test_scheduler_plugins.UnconfiguredWeigher' is not a usable weigher: MULTIPLIER_OPTION 'no_such_option' "
                     "is not a scheduler option and the class does not override weight_multiplier", id="weigher-without-multiplier"),
        # named by NAME without its path in available_filters: unknown, and the error says a path would do
        pytest.param(dict(enabled_filters=("DrainingHostFilter",)), UnknownPluginError,
                     "enabled_filters: unknown filter 'DrainingHostFilter'", id="name-without-available-path"),
    ],
)
def test_bad_plugin_paths_are_refused_clearly(fields, error, message) -> None:
    with pytest.raises(error) as raised:
        SchedulerOptions(**fields)

    assert str(raised.value).startswith(message)


def test_the_options_file_accepts_plugins(tmp_path: Path) -> None:
    raw = {"available_filters": [DRAINING], "enabled_filters": ["ComputeFilter", "DrainingHostFilter"], "weight_classes": ["RAMWeigher", RACK]}
    path = tmp_path / "options.json"
    path.write_text(json.dumps(raw))

    current = OptionsFile(path).current()

    assert current == parse_options(raw)
    assert (current.available_filters, current.enabled_filters, current.weight_classes) == (
        (DRAINING,), ("ComputeFilter", "DrainingHostFilter"), ("RAMWeigher", RACK),
    )
    assert select_host(HOSTS, build_spec(), current, random.Random(0)).host == "cn4"


def test_an_options_file_with_a_bad_plugin_path_keeps_the_last_good_options(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    path.write_text(json.dumps({"enabled_filters": ["ComputeFilter", DRAINING]}))
    watched = OptionsFile(path)
    good = watched.current()
    path.write_text(json.dumps({"enabled_filters": ["ComputeFilter", "my_plugins.NoSuchFilter", "RamFilter"]}))

    assert watched.current() is good
    assert watched.last_error is not None
    assert "cannot load plug-in 'my_plugins.NoSuchFilter': module 'my_plugins' does not import" in watched.last_error
