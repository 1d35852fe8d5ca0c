"""SchedulerOptions: defaults, and bad values refused with a clear error."""

from __future__ import annotations

import pytest

from novalog.scheduler.filters import FILTERS
from novalog.scheduler.options import SchedulerOptions, UnknownPluginError
from novalog.scheduler.weights import WEIGHERS


def test_defaults() -> None:
    options = SchedulerOptions()

    assert options.enabled_filters == (
        "ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
    )
    assert options.weight_classes == ("RAMWeigher", "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher")
    assert (options.ram_weight_multiplier, options.cpu_weight_multiplier, options.disk_weight_multiplier) == (1.0, 1.0, 1.0)
    assert (options.host_subset_size, options.max_attempts) == (1, 3)


def test_lists_from_a_parsed_file_become_tuples() -> None:
    options = SchedulerOptions(enabled_filters=["AllHostsFilter"], weight_classes=["CPUWeigher", "RAMWeigher"])

    assert options.enabled_filters == ("AllHostsFilter",)
    assert options.weight_classes == ("CPUWeigher", "RAMWeigher")
    hash(options)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        pytest.param(
            dict(enabled_filters=("RamFilter", "NoSuchFilter")),
            UnknownPluginError,
            # the known names are the whole registry, sorted
            f"enabled_filters: unknown filter 'NoSuchFilter'; known: {', '.join(sorted(FILTERS))} (or a dotted path package.module.ClassName)",
            id="unknown-filter",
        ),
        pytest.param(
            dict(weight_classes=("RAMWeigher", "NoSuchWeigher")),
            UnknownPluginError,
            f"weight_classes: unknown weigher 'NoSuchWeigher'; known: {', '.join(sorted(WEIGHERS))} (or a dotted path package.module.ClassName)",
            id="unknown-weigher",
        ),
        pytest.param(dict(host_subset_size=0), ValueError, "host_subset_size must be at least 1, got 0", id="subset-0"),
        pytest.param(dict(max_attempts=0), ValueError, "max_attempts must be at least 1, got 0", id="max-attempts-0"),
    ],
)
def test_bad_options_are_refused(fields, error, message) -> None:
    with pytest.raises(error) as raised:
        SchedulerOptions(**fields)

    assert str(raised.value) == message
