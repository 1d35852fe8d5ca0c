"""IoOpsFilter, NumInstancesFilter and their aggregate variants: strictly fewer than the limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import build_busy_host, build_resources, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.aggregate_io_ops_filter import AggregateIoOpsFilter
from novalog.scheduler.filters.aggregate_num_instances_filter import AggregateNumInstancesFilter
from novalog.scheduler.filters.io_ops_filter import IoOpsFilter
from novalog.scheduler.filters.num_instances_filter import NumInstancesFilter
from novalog.scheduler.host_state import consume
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions(max_io_ops_per_host=3, max_instances_per_host=4)
SPEC = build_spec()


@pytest.mark.parametrize(
    ("building", "limit", "passes"),
    [
        # num_io_ops < max_io_ops_per_host, strict
        pytest.param(0, 3, True, id="0-of-3"),
        pytest.param(2, 3, True, id="2-of-3"),
        pytest.param(3, 3, False, id="3-of-3-full"),
        pytest.param(4, 3, False, id="4-of-3"),
        pytest.param(0, 0, False, id="limit-0-takes-nothing"),
        pytest.param(7, 8, True, id="nova-default-7-of-8"),
        pytest.param(8, 8, False, id="nova-default-8-of-8"),
    ],
)
def test_io_ops_filter(building, limit, passes) -> None:
    host = build_busy_host(running=5, building=building)  # running instances are not I/O ops

    assert IoOpsFilter().host_passes(host, SPEC, replace(OPTIONS, max_io_ops_per_host=limit)) is passes


@pytest.mark.parametrize(
    ("running", "building", "limit", "passes"),
    [
        # num_instances = running + building < max_instances_per_host, strict
        pytest.param(0, 0, 4, True, id="0-of-4"),
        pytest.param(3, 0, 4, True, id="3-of-4"),
        pytest.param(4, 0, 4, False, id="4-of-4-full"),
        pytest.param(2, 2, 4, False, id="2-running+2-building-of-4"),
        pytest.param(49, 0, 50, True, id="nova-default-49-of-50"),
        pytest.param(50, 0, 50, False, id="nova-default-50-of-50"),
    ],
)
def test_num_instances_filter(running, building, limit, passes) -> None:
    host = build_busy_host(running=running, building=building)

    assert NumInstancesFilter().host_passes(host, SPEC, replace(OPTIONS, max_instances_per_host=limit)) is passes


@pytest.mark.parametrize(
    ("aggregates", "building", "passes"),
    [
        # no aggregate value: global 3
        pytest.param([], 2, True, id="global-2-of-3"),
        pytest.param([], 3, False, id="global-3-of-3"),
        pytest.param([{"other": "10"}], 3, False, id="no-key-global-3-of-3"),
        # aggregate 5 replaces the global 3, up or down
        pytest.param([{"max_io_ops_per_host": "5"}], 4, True, id="agg-5-4-of-5"),
        pytest.param([{"max_io_ops_per_host": "5"}], 5, False, id="agg-5-5-of-5"),
        pytest.param([{"max_io_ops_per_host": "1"}], 1, False, id="agg-1-below-global-1-of-1"),
        # lowest wins, numerically: 5 of {5, 10} (the string minimum would be "10")
        pytest.param([{"max_io_ops_per_host": "10"}, {"max_io_ops_per_host": "5"}], 5, False, id="two-aggs-lowest-5"),
        # any unparsable value: global 3 (int refuses "6.0")
        pytest.param([{"max_io_ops_per_host": "10"}, {"max_io_ops_per_host": "6.0"}], 3, False, id="int-refuses-6.0-global"),
        pytest.param([{"max_io_ops_per_host": "ten"}], 2, True, id="unparsable-global-2-of-3"),
    ],
)
def test_aggregate_io_ops_filter(aggregates, building, passes) -> None:
    host = build_busy_host(building=building, aggregates=aggregates)

    assert AggregateIoOpsFilter().host_passes(host, SPEC, OPTIONS) is passes


@pytest.mark.parametrize(
    ("aggregates", "running", "passes"),
    [
        pytest.param([], 3, True, id="global-3-of-4"),
        pytest.param([], 4, False, id="global-4-of-4"),
        pytest.param([{"max_instances_per_host": "6"}], 5, True, id="agg-6-5-of-6"),
        pytest.param([{"max_instances_per_host": "6"}], 6, False, id="agg-6-6-of-6"),
        # lowest wins: 2 of {6, 2}
        pytest.param([{"max_instances_per_host": "6"}, {"max_instances_per_host": "2"}], 2, False, id="two-aggs-lowest-2"),
        # any unparsable: global 4
        pytest.param([{"max_instances_per_host": "6"}, {"max_instances_per_host": "x"}], 4, False, id="unparsable-global-4-of-4"),
        pytest.param([{"max_instances_per_host": "6"}, {"max_instances_per_host": "x"}], 3, True, id="unparsable-global-3-of-4"),
    ],
)
def test_aggregate_num_instances_filter(aggregates, running, passes) -> None:
    host = build_busy_host(running=running, aggregates=aggregates)

    assert AggregateNumInstancesFilter().host_passes(host, SPEC, OPTIONS) is passes


@pytest.mark.parametrize(
    "count_filter",
    [IoOpsFilter, NumInstancesFilter, AggregateIoOpsFilter, AggregateNumInstancesFilter],
    ids=lambda cls: cls.NAME,
)
def test_earlier_instances_of_the_request_count(count_filter) -> None:
    # 2 running + 2 building: io ops 2 < 3, instances 4 < 5.
    # One more instance consumed on the host: io ops 3 of 3, instances 5 of 5, both full.
    options = replace(OPTIONS, max_instances_per_host=5)
    host = build_busy_host(running=2, building=2)
    after = consume(host, build_resources(), "claim-next")

    assert count_filter.run_filter_once_per_request is False
    assert count_filter().host_passes(host, SPEC, options) is True
    assert count_filter().host_passes(after, SPEC, options) is False


@pytest.mark.parametrize("registered", [IoOpsFilter, NumInstancesFilter, AggregateIoOpsFilter, AggregateNumInstancesFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered
