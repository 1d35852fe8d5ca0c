"""ComputeFilter, RetryFilter, AllHostsFilter, and the filter registry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import NOW, build_sched_host, build_spec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import FILTERS, AllHostsFilter, BaseHostFilter, ComputeFilter, RetryFilter
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


@pytest.mark.parametrize(
    ("host", "passes"),
    [
        pytest.param(dict(), True, id="up-and-enabled"),
        # service_down_time 20 s: a beat 21 s old is down
        pytest.param(dict(last_heartbeat_at=NOW - timedelta(seconds=21)), False, id="down"),
        pytest.param(dict(last_heartbeat_at=None), False, id="never-beat"),
        pytest.param(dict(disabled=True, disabled_reason="maintenance"), False, id="disabled"),
        pytest.param(dict(disabled=True, last_heartbeat_at=None), False, id="disabled-and-down"),
    ],
)
def test_compute_filter(host, passes) -> None:
    assert ComputeFilter().host_passes(build_sched_host(**host), build_spec(), OPTIONS) is passes


@pytest.mark.parametrize(
    ("retry_hosts", "passes"),
    [
        pytest.param([], True, id="first-attempt"),
        pytest.param(["h2"], True, id="another-host-tried"),
        pytest.param(["h2", "h1"], False, id="this-host-tried"),
    ],
)
def test_retry_filter(retry_hosts, passes) -> None:
    spec = build_spec(retry_hosts=retry_hosts, num_attempts=len(retry_hosts) + 1)

    assert RetryFilter().host_passes(build_sched_host(host="h1"), spec, OPTIONS) is passes


@pytest.mark.parametrize(
    ("retry_hosts", "retry_nodes", "passes"),
    [
        # Nova compares [host, node]: the host h1 is seen here as its node n1
        pytest.param(["h1"], ["n1"], False, id="this-host-and-node-tried"),
        pytest.param(["h1"], ["n2"], True, id="another-node-of-this-host-tried"),
        pytest.param(["h2"], ["n1"], True, id="same-node-name-on-another-host"),
        pytest.param(["h2", "h1"], ["n9", "n1"], False, id="second-pair-matches"),
        # a spec written before nodes were kept: the host alone, every node of it tried
        pytest.param(["h1"], [], False, id="old-spec-host-without-node"),
        pytest.param(["h1"], [""], False, id="node-unknown"),
        pytest.param(["h2", "h1"], ["n9"], False, id="old-entries-padded-host-without-node"),
        pytest.param(["h2"], [], True, id="old-spec-another-host"),
    ],
)
def test_retry_filter_compares_host_and_node(retry_hosts, retry_nodes, passes) -> None:
    spec = build_spec(retry_hosts=retry_hosts, retry_nodes=retry_nodes, num_attempts=len(retry_hosts) + 1)
    host = build_sched_host(host="h1", hypervisor_hostname="n1")

    assert host.nodename == "n1"
    assert RetryFilter().host_passes(host, spec, OPTIONS) is passes
    assert bool(RetryFilter().mask(HostColumns.from_hosts([host]), spec, OPTIONS)[0]) is passes


def test_all_hosts_filter_passes_even_a_dead_disabled_host() -> None:
    host = build_sched_host(disabled=True, last_heartbeat_at=None, capacity_reported_at=None)

    assert AllHostsFilter().host_passes(host, build_spec(), OPTIONS) is True


@pytest.mark.parametrize(("name", "cls"), list(FILTERS.items()), ids=list(FILTERS))
def test_every_registered_filter_keeps_its_name_and_a_reason(name, cls) -> None:
    assert issubclass(cls, BaseHostFilter)
    assert (cls.NAME, cls.__name__) == (name, name)
    assert cls.REASON


@pytest.mark.parametrize(
    ("name", "once"),
    [
        pytest.param("AllHostsFilter", True, id="AllHostsFilter"),
        pytest.param("ComputeFilter", True, id="ComputeFilter"),
        pytest.param("RamFilter", False, id="RamFilter-sees-consumption"),
        pytest.param("CoreFilter", False, id="CoreFilter-sees-consumption"),
        pytest.param("DiskFilter", False, id="DiskFilter-sees-consumption"),
        pytest.param("RetryFilter", False, id="RetryFilter"),
    ],
)
def test_once_per_request_flags_follow_nova(name, once) -> None:
    assert FILTERS[name].run_filter_once_per_request is once
