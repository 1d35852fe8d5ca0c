"""Why no host is valid, per reason: each host counted once, under the first step that dropped it."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from builders import NOW, build_build_requested, build_claim, build_flavor, build_host_state, build_sched_host, build_spec
from novalog.events.records import FilterCount, PlacementTrace
from novalog.events.types import InstanceSchedulingFailed
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.explain import explain, render
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import no_valid_host_message, select_host
from novalog.scheduler.policies import chance_select
from novalog.scheduler.reasons import STEP_REASONS, reason_of, rejections, summarize
from novalog.scheduler.service import Scheduler

DEFAULT = SchedulerOptions()


def trace(before: int, *steps: tuple[str, int]) -> PlacementTrace:
    return PlacementTrace(hosts_before=before, filters=[FilterCount(name, after) for name, after in steps])


@pytest.mark.parametrize(
    ("given", "summary"),
    [
        # ComputeFilter drops 3 - 2 = 1, RetryFilter none, RamFilter the 2 left.
        pytest.param(
            trace(3, ("ComputeFilter", 2), ("RetryFilter", 2), ("RamFilter", 0)),
            "0/3 hosts: 2 not enough RAM, 1 disabled or down",
            id="most-common-reason-first",
        ),
        # 4 - 2 = 2 and 2 - 0 = 2: a tie keeps the pipeline's order.
        pytest.param(
            trace(4, ("ComputeFilter", 2), ("RamFilter", 0)), "0/4 hosts: 2 disabled or down, 2 not enough RAM", id="tie-in-order"
        ),
        # 5 - 4 = 1 ignored, 4 - 1 = 3 in another zone, the last 1 without RAM.
        pytest.param(
            trace(5, ("(ignore_hosts)", 4), ("(availability_zone)", 1), ("ComputeFilter", 1), ("RamFilter", 0)),
            "0/5 hosts: 3 not in the requested zone, 1 ignored by the request, 1 not enough RAM",
            id="preparation-steps",
        ),
        # A filter enabled twice: 6 - 4 = 2 and 4 - 0 = 4 under the one reason.
        pytest.param(trace(6, ("RamFilter", 4), ("RamFilter", 0)), "0/6 hosts: 6 not enough RAM", id="same-reason-merged"),
        pytest.param(trace(3, ("NoSuchStep", 0)), "0/3 hosts: 3 NoSuchStep", id="unknown-step-is-its-own-reason"),
        pytest.param(trace(3, ("ComputeFilter", 2), ("RamFilter", 2)), "2/3 hosts: 1 disabled or down", id="some-hosts-left"),
        pytest.param(trace(2), "2/2 hosts", id="no-step"),
    ],
)
def test_summarize(given: PlacementTrace, summary: str) -> None:
    assert summarize(given) == summary


def test_every_filter_is_counted_under_its_reason() -> None:
    assert {name: reason_of(name) for name in FILTERS} == {name: cls.REASON for name, cls in FILTERS.items()}


def test_every_preparation_step_of_the_pipeline_has_a_reason() -> None:
    in_az1 = (Aggregate("1", "a", {"availability_zone": "az1"}),)
    hosts = [replace(build_sched_host(host=f"h{i}"), aggregates=in_az1 if i > 2 else ()) for i in range(5)]
    spec = build_spec(ignore_hosts=["h0"], force_hosts=["nowhere"], requested_host="h1", availability_zone="az1")
    options = replace(DEFAULT, enabled_filters=tuple(name for name in DEFAULT.enabled_filters if name != "AvailabilityZoneFilter"))
    selection = select_host(hosts, spec, options, random.Random(0))
    chance = chance_select([build_sched_host(host="h", disabled=True)], spec, random.Random(0))

    steps = [step.name for step in [*selection.trace.filters, *chance.trace.filters]]
    assert {step: reason_of(step) for step in steps} == {step: STEP_REASONS[step] for step in steps}
    assert len(steps) == len(STEP_REASONS)


def _mixed_hosts():
    """Six hosts, each refused for one reason or none, in pipeline order ComputeFilter, RetryFilter, RamFilter, CoreFilter."""
    full = build_claim("full", memory_mb=8192)
    return [
        build_sched_host(host="down", disabled=True, claims=[full]),  # disabled first: counted there, not under RAM
        build_sched_host(host="tried"),
        build_sched_host(host="no-ram-1", claims=[full]),
        build_sched_host(host="no-ram-2", claims=[full]),
        build_sched_host(host="no-cpu", vcpus=1),
        build_sched_host(host="fits"),
    ]


@pytest.mark.parametrize("columns", [False, True], ids=["list", "columns"])
def test_the_pipeline_counts_each_host_under_the_first_filter_that_refused_it(columns: bool) -> None:
    hosts = _mixed_hosts()
    spec = build_spec(build_flavor(vcpus=2, ram=512), retry_hosts=["tried"], num_attempts=2)

    selection = select_host(HostColumns(hosts) if columns else hosts, spec, DEFAULT, random.Random(0))

    assert selection.host == "fits"
    assert rejections(selection.trace) == {"disabled or down": 1, "already tried": 1, "not enough RAM": 2, "not enough vCPUs": 1}
    assert summarize(selection.trace) == "1/6 hosts: 2 not enough RAM, 1 disabled or down, 1 already tried, 1 not enough vCPUs"


def test_the_fault_and_the_explanation_agree_on_why_no_host_is_valid() -> None:
    hosts = _mixed_hosts()[:-1]
    spec = build_spec(build_flavor(vcpus=2, ram=512), retry_hosts=["tried"], num_attempts=2)

    result = explain(hosts, spec, DEFAULT, random.Random(0))

    # Each host's first refusal, read from every filter's verdict, gives the pipeline's count.
    assert Counter(v.reason for v in result.hosts) == rejections(result.selection.trace)
    assert no_valid_host_message(result.selection.trace).startswith(
        "No valid host was found. 0/5 hosts: 2 not enough RAM, 1 disabled or down, 1 already tried, 1 not enough vCPUs. "
    )
    assert result.to_json()["summary"] == "0/5 hosts: 2 not enough RAM, 1 disabled or down, 1 already tried, 1 not enough vCPUs"
    table = render(result).splitlines()
    assert {line.split()[0]: line.rsplit("  ", 1)[-1] for line in table[1:-2]} == {  # the WHY NOT column
        "down": "disabled or down", "tried": "already tried", "no-ram-1": "not enough RAM", "no-ram-2": "not enough RAM",
        "no-cpu": "not enough vCPUs",
    }
    assert table[-1] == no_valid_host_message(result.selection.trace)


def test_the_scheduling_fault_says_why_per_reason() -> None:
    # h1 is disabled; h2 and h3 have 8192 MB, less than the 16384 asked.
    rows = [build_host_state("h1", disabled=True), build_host_state("h2"), build_host_state("h3")]
    scheduler = Scheduler("s1", lambda: rows, DEFAULT, 60.0, random.Random(0), clock=lambda: NOW)

    (out,) = scheduler.handle(build_build_requested(flavor=build_flavor(ram=16384)))

    assert isinstance(out.record, InstanceSchedulingFailed)
    assert out.record.fault.message.startswith("No valid host was found. 0/3 hosts: 2 not enough RAM, 1 disabled or down. ")
