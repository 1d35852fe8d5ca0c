"""Builders for test data: the real frozen records, with defaults a test overrides by keyword.

Each builder returns a value that could have come out of the log; pass only
the fields the test is about, so the test reads as its own specification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from novalog.events.records import Claim, Flavor, RequestSpec
from novalog.events.state import HostState
from novalog.scheduler.host_state import SchedHost, host_view

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
SERVICE_DOWN_TIME = 20.0

# --- catalog and requests ---


def build_flavor(**fields: Any) -> Flavor:
    """m1.tiny-sized: 1 vCPU, 512 MB RAM, 1 GB root disk."""
    return replace(Flavor(id="flavor-1", name="m1.tiny", vcpus=1, ram=512, disk=1), **fields)


def build_spec(flavor: Flavor | None = None, **fields: Any) -> RequestSpec:
    """A first-attempt request for one instance of `flavor` (default: build_flavor())."""
    spec = RequestSpec(
        instance_id="instance-1",
        project_id="project-1",
        user_id="user-1",
        flavor=flavor or build_flavor(),
        image_ref="image-1",
    )
    return replace(spec, **fields)


# --- hosts and claims ---


def build_claim(claim_id: str = "claim-1", **fields: Any) -> Claim:
    """An accepted claim of 1 vCPU, 512 MB, 1 GB."""
    claim = Claim(claim_id=claim_id, instance_id=f"instance-of-{claim_id}", vcpus=1, memory_mb=512, disk_gb=1)
    return replace(claim, **fields)


def build_host_state(host: str = "host-1", **fields: Any) -> HostState:
    """A host that reported capacity and a heartbeat at NOW, enabled, with no claims.

    Sized like the local stack's small host (4 vCPUs, 8 GiB, 80 GB) with
    today's Nova default ratios (cpu 4.0, ram 1.0, disk 1.0).
    """
    state = HostState(
        host=host,
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        hypervisor_hostname=host,
        vcpus=4,
        memory_mb=8192,
        disk_gb=80,
        capacity_reported_at=NOW,
        last_heartbeat_at=NOW,
        heartbeat_interval_s=10.0,
    )
    return replace(state, **fields)


# --- scheduler views ---


def build_sched_host(
    state: HostState | None = None,
    in_flight: Iterable[Claim] = (),
    now: datetime = NOW,
    service_down_time: float = SERVICE_DOWN_TIME,
    **state_fields: Any,
) -> SchedHost:
    """The scheduler's view of `state` (default: build_host_state(**state_fields)) through the real host_view."""
    row = state if state is not None else build_host_state(**state_fields)
    return host_view(row, {c.claim_id: c for c in in_flight}, now, service_down_time)
