"""Placement policies: the filter scheduler (default) and the chance scheduler, chosen per request.

Nova's multi scheduler routed requests to a driver by topic; novalog picks
the driver per request: the flavor extra spec `scheduler:driver` names one
(`filter_scheduler` or `chance_scheduler`), else the options' `driver`.
Whatever the driver, its pick is only a proposal: the host-state processor's
claim check decides it, so no policy can overcommit a host.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from novalog.events.records import FilterCount, PlacementTrace, RequestSpec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.lazy_numpy import np
from novalog.scheduler.options import DRIVERS, SchedulerOptions
from novalog.scheduler.pipeline import Selection, select_host

DRIVER_SPEC = "scheduler:driver"


def driver_for(spec: RequestSpec, options: SchedulerOptions) -> str:
    """The driver this request asks for (a flavor extra spec), or the configured one."""
    wanted = spec.flavor.extra_specs.get(DRIVER_SPEC, options.driver)
    return wanted if wanted in DRIVERS else options.driver


def chance_select(hosts: Sequence[SchedHost] | HostColumns, spec: RequestSpec, rng: random.Random) -> Selection:
    """Nova's ChanceScheduler: a uniform pick among hosts that are up and enabled.

    Hosts in `ignore_hosts` are left out (Nova), and so are the hosts already
    tried for this request: novalog retries a rejected claim elsewhere, as
    for every policy. No resource filter runs; the claim check still does.
    """
    if isinstance(hosts, HostColumns):  # the columns say who is up, without a view per host
        up = [hosts.names[row] for row in np.flatnonzero(hosts.service_up & ~hosts.disabled & ~hosts.forced_down)]
    else:
        up = [h.host for h in hosts if h.service_up and not h.disabled and not h.forced_down]
    candidates = [name for name in up if name not in spec.ignore_hosts and name not in spec.retry_hosts]
    if spec.requested_host is not None:
        candidates = [name for name in candidates if name == spec.requested_host]
    trace = PlacementTrace(
        hosts_before=len(hosts),
        filters=[FilterCount("ChanceScheduler(up and enabled)", len(up)), FilterCount("ChanceScheduler(not ignored or tried)", len(candidates))],
    )
    if not candidates:
        return Selection(host=None, trace=trace)
    return Selection(host=rng.choice(candidates), trace=trace)


def select(hosts: Sequence[SchedHost] | HostColumns, spec: RequestSpec, options: SchedulerOptions, rng: random.Random) -> Selection:
    """The proposal of the driver this request asks for."""
    if driver_for(spec, options) == "chance_scheduler":
        return chance_select(hosts, spec, rng)
    return select_host(hosts, spec, options, rng)
