"""The scheduler benchmark's inputs: deterministic synthetic hosts that exercise every stage (no timing asserted)."""

from __future__ import annotations

import random

from click.testing import CliRunner

from novalog.cli import main
from novalog.scheduler.bench import ALL_FILTERS_OPTIONS, OPTIONS, bench_request, synthetic_hosts
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import select_host


def test_the_synthetic_hosts_are_the_same_for_the_same_seed_and_varied() -> None:
    hosts = synthetic_hosts(500, seed=3)

    assert hosts == synthetic_hosts(500, seed=3)
    assert hosts != synthetic_hosts(500, seed=4)
    assert len({h.host for h in hosts}) == 500
    assert any(not h.service_up for h in hosts) and any(h.disabled for h in hosts)
    assert len({h.total_usable_ram_mb for h in hosts}) > 1
    assert 1 < len(HostColumns.from_hosts(hosts).agg_sets) < 10


def test_the_benchmarked_pass_gives_the_scalar_pass_selection() -> None:
    hosts, spec = synthetic_hosts(300), bench_request()

    columnar = select_host(HostColumns.from_hosts(hosts), spec, OPTIONS, random.Random(0))

    assert columnar == select_host(hosts, spec, OPTIONS, random.Random(0))
    # every default filter ran and RetryFilter dropped the host already tried
    assert [c.name for c in columnar.trace.filters] == list(OPTIONS.enabled_filters)
    assert columnar.trace.filters[1].hosts_after == columnar.trace.filters[0].hosts_after - 1


def test_the_command_prints_the_median() -> None:
    result = CliRunner().invoke(main, ["bench", "scheduler", "--hosts", "200", "--passes", "3", "--requests", "0", "--nova-venv", ""])

    assert result.exit_code == 0, result.output
    assert "scheduler pass over 200 hosts: median" in result.output
    # what ran is the service's default options, and the command says which plug-ins those are
    assert OPTIONS == SchedulerOptions()
    assert f"weighers: {', '.join(SchedulerOptions().weight_classes)}" in result.output


def test_the_all_filters_pass_runs_every_filter_and_gives_the_scalar_selection() -> None:
    hosts, spec = synthetic_hosts(300), bench_request()

    columnar = select_host(HostColumns.from_hosts(hosts), spec, ALL_FILTERS_OPTIONS, random.Random(0))

    assert columnar == select_host(hosts, spec, ALL_FILTERS_OPTIONS, random.Random(0))
    assert sorted(c.name for c in columnar.trace.filters) == sorted(FILTERS)
    assert columnar.host is not None


def test_the_command_times_all_filters_on_request() -> None:
    result = CliRunner().invoke(main, ["bench", "scheduler", "--hosts", "200", "--passes", "3", "--all-filters", "--requests", "0", "--nova-venv", ""])

    assert result.exit_code == 0, result.output
    assert "NumInstancesFilter" in result.output
