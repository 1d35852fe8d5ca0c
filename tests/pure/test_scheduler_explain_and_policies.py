"""`schedule --explain` on Nova-named files, and the chance policy chosen per request."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from builders import build_flavor, build_host_state, build_sched_host, build_spec
from novalog.scheduler.explain import explain, render
from novalog.scheduler.nova_files import FileFormatError, sched_host_from_nova, spec_from_nova
from novalog.scheduler.options import SchedulerOptions, UnknownPluginError
from novalog.scheduler.policies import chance_select, driver_for, select

EXAMPLES = Path(__file__).resolve().parents[2] / "scheduler" / "examples"


def example_hosts():
    return [sched_host_from_nova(h) for h in json.loads((EXAMPLES / "hosts.json").read_text())]


def example_spec():
    return spec_from_nova(json.loads((EXAMPLES / "request.json").read_text()))


def host(name: str, **fields) -> object:
    return replace(build_sched_host(build_host_state(name)), **fields)


def test_the_example_files_parse_with_nova_names() -> None:
    cn1, cn2, cn3 = example_hosts()
    assert (cn1.free_ram_mb, cn1.vcpus_used, cn1.aggregates[0].metadata) == (1024, 3, {"availability_zone": "az1"})
    assert (cn3.service_up, cn2.supported_instances) == (False, (("x86_64", "qemu", "hvm"),))
    spec = example_spec()
    assert (spec.flavor.ram, spec.flavor.disk, spec.flavor.vcpus, spec.image_properties) == (4096, 40, 2, {"hw_architecture": "x86_64"})


def test_explain_gives_every_filter_verdict_for_every_host() -> None:
    result = explain(example_hosts(), example_spec(), SchedulerOptions(), random.Random(0))
    verdicts = {v.host: v.filters for v in result.hosts}
    # cn1: 1024 MB free < 4096 requested; cn3: its service is down (and would have room).
    assert verdicts["cn1"]["RamFilter"] is False and verdicts["cn1"]["ComputeFilter"] is True
    assert verdicts["cn3"]["ComputeFilter"] is False and verdicts["cn3"]["RamFilter"] is True
    assert all(verdicts["cn2"].values())
    assert result.selection.host == "cn2"
    assert [v.host for v in result.hosts] == ["cn2", "cn1", "cn3"]
    as_json = result.to_json()
    assert as_json["selected"] == "cn2" and as_json["funnel"][0] == {"filter": "ComputeFilter", "hosts_after": 2}
    assert "selected: cn2" in render(result)


def test_explain_names_what_eliminated_every_host() -> None:
    spec = build_spec(build_flavor(ram=65536))
    result = explain(example_hosts(), spec, SchedulerOptions(), random.Random(0))
    assert result.selection.host is None
    # cn3 is down (ComputeFilter, first); cn1 and cn2 have less than 65536 MB (RamFilter).
    assert result.to_json()["message"] == (
        "No valid host was found. 0/3 hosts: 2 not enough RAM, 1 disabled or down. "
        "ComputeFilter: 3 -> 2, RetryFilter: 2 -> 2, RamFilter: 2 -> 0"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"host": "h", "free_ram": 1}, "unknown field", id="misspelt-host-field"),
        pytest.param({"free_ram_mb": 1}, "'host' is required", id="host-without-name"),
    ],
)
def test_bad_host_files_are_refused(raw: dict, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        sched_host_from_nova(raw)


def test_a_request_without_a_flavor_is_refused() -> None:
    with pytest.raises(FileFormatError, match="'flavor' is required"):
        spec_from_nova({"project_id": "p"})


def test_the_chance_scheduler_picks_only_up_enabled_untried_hosts() -> None:
    hosts = [
        host("up-1"),
        host("down", service_up=False),
        host("disabled", disabled=True),
        host("tried"),
        host("ignored"),
        host("up-2"),
    ]
    spec = build_spec(retry_hosts=["tried"], ignore_hosts=["ignored"])
    picks = {chance_select(hosts, spec, random.Random(seed)).host for seed in range(50)}
    assert picks == {"up-1", "up-2"}


def test_the_chance_scheduler_with_no_host_gives_no_valid_host() -> None:
    selection = chance_select([host("down", service_up=False)], build_spec(), random.Random(0))
    assert selection.host is None
    assert selection.trace.funnel() == "ChanceScheduler(up and enabled): 1 -> 0, ChanceScheduler(not ignored or tried): 0 -> 0"


def test_a_flavor_extra_spec_picks_the_driver_per_request() -> None:
    chance = build_spec(build_flavor(extra_specs={"scheduler:driver": "chance_scheduler"}))
    assert driver_for(chance, SchedulerOptions()) == "chance_scheduler"
    assert driver_for(build_spec(), SchedulerOptions()) == "filter_scheduler"
    assert driver_for(build_spec(), SchedulerOptions(driver="chance_scheduler")) == "chance_scheduler"
    # The chance driver ignores RAM: a host too small for the filter scheduler can be proposed
    # (and the claim check will reject it).
    tiny = [host("tiny", total_usable_ram_mb=256, free_ram_mb=256)]
    assert select(tiny, build_spec(build_flavor(ram=512)), SchedulerOptions(), random.Random(0)).host is None
    big = build_flavor(ram=512, extra_specs={"scheduler:driver": "chance_scheduler"})
    assert select(tiny, build_spec(big), SchedulerOptions(), random.Random(0)).host == "tiny"


def test_an_unknown_driver_is_refused() -> None:
    with pytest.raises(UnknownPluginError, match="unknown scheduler driver"):
        SchedulerOptions(driver="multi_scheduler")
