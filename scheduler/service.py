"""The scheduling conversation of each instance: propose, hear the claim decision, retry or give up.

`Scheduler.handle` is the decision logic, fed decoded instance events; it
keeps its own in-flight claims (proposed, not yet in the host table) so two
requests in one burst do not both count on the same room. The host-state
processor still decides every claim, so several schedulers may run at once.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from novalog.events.outbound import Outbound
from novalog.events.records import Claim, Envelope, Fault, PlacementTrace, RequestSpec, Resources, derived_id, utcnow
from novalog.events.state import HostState
from novalog.events.types.instance import (
    InstanceBuildRequested,
    InstanceDeleteRequested,
    InstanceMoveRequested,
    InstanceSchedulingFailed,
)
from novalog.events.types.placement import ClaimAccepted, ClaimRejected, PlacementProposed
from novalog.scheduler import groups
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.live import HostViews, ListViews
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.pipeline import Selection, no_valid_host_message
from novalog.scheduler.policies import select

IN_FLIGHT_TTL_S = 120.0
SWEEP_EVERY_S = 1.0
FORGET_DELETED = 10_000


def spec_of(event: InstanceBuildRequested) -> RequestSpec:
    return RequestSpec(
        instance_id=event.instance_id,
        project_id=event.project_id,
        user_id=event.user_id,
        flavor=event.flavor,
        image_ref=event.image_ref,
        availability_zone=event.availability_zone,
        scheduler_hints=event.scheduler_hints,
        instance_group=event.instance_group,
        image_properties=event.image_properties,
        force_hosts=list(event.force_hosts),
    )


class Scheduler:
    """Turns build requests and claim rejections into proposals or "No valid host" faults."""

    def __init__(
        self,
        name: str,
        hosts: HostViews | Callable[[], Sequence[HostState]],
        options: SchedulerOptions | Callable[[], SchedulerOptions],
        service_down_time: float,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = name
        # A plain row source gets the simple view that rebuilds every host per pass.
        self.views: HostViews = cast(HostViews, hosts) if hasattr(hosts, "current") else ListViews(hosts, service_down_time)
        # A callable gives the options in force now (a hot-reloaded file).
        self._options = options if callable(options) else (lambda: options)
        self.service_down_time = service_down_time
        self.rng = rng or random.Random()
        self.clock = clock
        # Proposed claims the host table does not show yet, per host; and when each was proposed.
        self.in_flight: dict[str, dict[str, Claim]] = {}
        self._proposed_at: dict[str, datetime] = {}
        self._swept_at: datetime | None = None
        self.deleted: OrderedDict[str, None] = OrderedDict()

    @property
    def options(self) -> SchedulerOptions:
        return self._options()

    def handle(self, record: Any) -> list[Outbound]:
        match record:
            case InstanceBuildRequested() if len(record.instance_ids) > 1:
                if record.instance_id != record.instance_ids[0]:
                    return []  # placed with the first instance of its request
                return self.place_many(spec_of(record), record.instance_ids, record.min_count, record.envelope)
            case InstanceBuildRequested():
                return self.place(spec_of(record), record.envelope)
            case InstanceMoveRequested():
                # A move's new claim: its spec leaves the source out, or names the one host asked for.
                return self.place(record.spec, record.envelope)
            case ClaimRejected():
                self._settle(record.host, record.claim_id)
                if record.instance_id in self.deleted:
                    return []
                spec = self._retried(record.spec, record.host)
                if spec.num_attempts > self.options.max_attempts:
                    message = (
                        f"No valid host was found. Exceeded max scheduling attempts {self.options.max_attempts} "
                        f"for instance {spec.instance_id}. Last claim on {record.host} was rejected: {record.reason}"
                    )
                    return [self._failed(spec, record.envelope, message, None)]
                return self.place(spec, record.envelope)
            case ClaimAccepted():
                return []  # the in-flight claim stays counted until the host table shows it
            case InstanceDeleteRequested():
                self.deleted[record.instance_id] = None
                while len(self.deleted) > FORGET_DELETED:
                    self.deleted.popitem(last=False)
                return []
            case _:
                return []

    def _hosts(self, now: datetime) -> HostColumns | list[SchedHost]:
        self._expire(now)
        return self.views.current(self.in_flight, now)

    def place(self, spec: RequestSpec, cause: Envelope) -> list[Outbound]:
        """Propose a host for one instance, or record "No valid host"."""
        now = self.clock()
        try:
            selection = self._select(self._hosts(now), spec)
        except ValueError as exc:  # a request the filters cannot read (bad extra spec, query, image property)
            return [self._failed(spec, cause, f"No valid host was found. The request is invalid: {exc}", None)]
        if selection.host is None:
            return [self._failed(spec, cause, no_valid_host_message(selection.trace), selection.trace)]
        return [self._propose(spec, selection, cause, now)[0]]

    def place_many(self, spec: RequestSpec, instance_ids: Sequence[str], min_count: int, cause: Envelope) -> list[Outbound]:
        """Place the instances of one request one after another, each counting what the previous ones took.

        As Nova: if any instance finds no host, none is placed and every one
        of them records the fault (the request is all or nothing).
        """
        now = self.clock()
        proposals: list[tuple[Outbound, Claim]] = []
        # The request's instances join its group together: each counts the ones placed before it.
        spec = replace(spec, instance_group=groups.joined(spec.instance_group, instance_ids))
        for index, instance_id in enumerate(instance_ids):
            one = replace(spec, instance_id=instance_id, num_instances=len(instance_ids))
            failure: tuple[str, PlacementTrace | None] | None = None
            try:
                selection = self._select(self._hosts(now), one)
                if selection.host is None:
                    failure = (
                        f"{no_valid_host_message(selection.trace)} Only {index} of the {len(instance_ids)} instances "
                        f"of the request could be placed (at least {min_count} needed, all placed together)."
                    ), selection.trace
            except ValueError as exc:
                failure = f"No valid host was found. The request is invalid: {exc}", None
            if failure is not None:
                self._withdraw([claim for _, claim in proposals], now)
                return [self._failed(replace(spec, instance_id=iid), cause, *failure) for iid in instance_ids]
            # Proposed now, so the next instance's pass counts this one's claim.
            proposals.append(self._propose(one, selection, cause, now))
        return [out for out, _ in proposals]

    def _select(self, hosts: HostColumns | list[SchedHost], spec: RequestSpec) -> Selection:
        """The driver's pick, the group filters seeing only the members that hold a host now."""
        return select(hosts, groups.placed_only(spec, hosts), self.options, self.rng)

    def _retried(self, spec: RequestSpec, host: str) -> RequestSpec:
        """The spec of the next attempt: one more attempt, and the refused (host, node) pair tried."""
        row = self.views.row(host)
        node = (row.hypervisor_hostname if row is not None else "") or host  # the node SchedHost shows for the row
        # Older specs may hold fewer nodes than hosts: pad with "" (node unknown) to keep the pairs aligned.
        nodes = [*spec.retry_nodes, *[""] * (len(spec.retry_hosts) - len(spec.retry_nodes))]
        return replace(spec, num_attempts=spec.num_attempts + 1, retry_hosts=[*spec.retry_hosts, host], retry_nodes=[*nodes, node])

    def _withdraw(self, claims: Sequence[Claim], now: datetime) -> None:
        """Forget claims proposed for a request that is given up before anything was sent."""
        for claim in claims:
            host = next(h for h, pending in self.in_flight.items() if claim.claim_id in pending)
            self._settle(host, claim.claim_id)
            self.views.forget(host, claim)

    def _claim(self, spec: RequestSpec, host: str, cause: Envelope) -> Claim:
        resources = Resources.of(spec.flavor)
        # Derived from the cause: a redelivered request proposes the same claim again.
        claim_id = derived_id(f"{cause.event_id}/claim/{spec.instance_id}/{host}")
        return Claim(claim_id, spec.instance_id, resources.vcpus, resources.memory_mb, resources.disk_gb, spec.flavor.id, spec.project_id)

    def _propose(self, spec: RequestSpec, selection: Selection, cause: Envelope, now: datetime) -> tuple[Outbound, Claim]:
        host = selection.host
        assert host is not None  # a selection without a host is a failure, handled before proposing
        claim = self._claim(spec, host, cause)
        self.in_flight.setdefault(host, {})[claim.claim_id] = claim
        self._proposed_at[claim.claim_id] = now
        self.views.claimed(host, claim)
        proposal = PlacementProposed(
            envelope=cause.caused(PlacementProposed, self.name, salt=f"{spec.instance_id}/{host}", occurred_at=now),
            claim_id=claim.claim_id,
            instance_id=spec.instance_id,
            host=host,
            scheduler=self.name,
            resources=Resources.of(spec.flavor),
            spec=spec,
            trace=selection.trace,
        )
        return Outbound.event(host, proposal), claim

    def _failed(self, spec: RequestSpec, cause: Envelope, message: str, trace: Any) -> Outbound:
        failed = InstanceSchedulingFailed(
            envelope=cause.caused(InstanceSchedulingFailed, self.name, occurred_at=self.clock()),
            instance_id=spec.instance_id,
            fault=Fault(code=500, message=message, created=self.clock()),
            attempts=spec.num_attempts,
            trace=trace,
        )
        return Outbound.event(spec.instance_id, failed)

    def _settle(self, host: str, claim_id: str) -> None:
        pending = self.in_flight.get(host)
        if pending is not None:
            pending.pop(claim_id, None)
            if not pending:
                del self.in_flight[host]
        self._proposed_at.pop(claim_id, None)

    def _expire(self, now: datetime) -> None:
        """Forget in-flight claims the table now shows, and ones whose answer never came.

        A sweep over every pending claim, at most once a second: between
        sweeps a claim the table already shows is counted once anyway (views
        unite claims by id), so sweeping more often would only cost time.
        """
        if self._swept_at is not None and (now - self._swept_at).total_seconds() < SWEEP_EVERY_S:
            return
        self._swept_at = now
        for host in list(self.in_flight):
            row = self.views.row(host)
            known = set() if row is None else {c.claim_id for c in row.claims} | set(row.released) | row.rejected.keys()
            for claim_id in list(self.in_flight.get(host, {})):
                if claim_id in known or (now - self._proposed_at[claim_id]).total_seconds() > IN_FLIGHT_TTL_S:
                    self._settle(host, claim_id)
