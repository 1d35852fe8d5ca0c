"""The scheduling conversation: propose, retry on rejection, give up after max_attempts; multi-create all or nothing."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

from builders import NOW, build_flavor, build_host_state, build_move_requested
from novalog.events.records import Envelope
from novalog.events.types import ClaimRejected, InstanceBuildRequested, InstanceDeleteRequested, InstanceSchedulingFailed, PlacementProposed
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.service import Scheduler, spec_of


def scheduler(*hosts, **options) -> Scheduler:
    rows = list(hosts)
    return Scheduler("s1", lambda: rows, SchedulerOptions(**options), 60.0, random.Random(0), clock=lambda: NOW)


def build(instance_id: str = "i1", ram: int = 1024, instance_ids: list[str] | None = None, min_count: int = 1) -> InstanceBuildRequested:
    return InstanceBuildRequested(
        envelope=Envelope.new(InstanceBuildRequested, "api", event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, instance_id)), occurred_at=NOW),
        instance_id=instance_id, name=instance_id, project_id="p", user_id="u", flavor=build_flavor(ram=ram), image_ref="img",
        instance_ids=instance_ids or [], min_count=min_count,
    )


def reject(proposal: PlacementProposed, reason: str = "memory_mb: no room") -> ClaimRejected:
    return ClaimRejected(
        envelope=proposal.envelope.caused(ClaimRejected, "host-state"), claim_id=proposal.claim_id,
        instance_id=proposal.instance_id, host=proposal.host, reason=reason, spec=proposal.spec,
    )


def test_a_build_request_becomes_one_proposal_on_a_host_with_room() -> None:
    # h1 has 8192 MB, h2 only 512: RamFilter leaves h1.
    s = scheduler(build_host_state("h1"), build_host_state("h2", memory_mb=512))
    (out,) = s.handle(build())
    assert isinstance(out.record, PlacementProposed) and (out.topic, out.key, out.record.host) == ("host.events", "h1", "h1")
    assert out.record.trace.funnel() == (
        "ComputeFilter: 2 -> 2, RetryFilter: 2 -> 2, RamFilter: 2 -> 1, CoreFilter: 1 -> 1, DiskFilter: 1 -> 1, "
        "ComputeCapabilitiesFilter: 1 -> 1, ImagePropertiesFilter: 1 -> 1, ServerGroupAntiAffinityFilter: 1 -> 1, "
        "ServerGroupAffinityFilter: 1 -> 1"
    )


def test_a_rejected_claim_is_retried_elsewhere_then_given_up_after_max_attempts() -> None:
    s = scheduler(build_host_state("h1"), build_host_state("h2"), max_attempts=2)
    (first,) = s.handle(build())
    (second,) = s.handle(reject(first.record))
    assert second.record.host != first.record.host
    assert second.record.spec.retry_hosts == [first.record.host] and second.record.spec.num_attempts == 2
    (failed,) = s.handle(reject(second.record, "vcpus: no room"))
    assert isinstance(failed.record, InstanceSchedulingFailed) and failed.key == "i1"
    assert failed.record.fault.message.startswith("No valid host was found. Exceeded max scheduling attempts 2")
    assert "vcpus: no room" in failed.record.fault.message


def test_a_deleted_instance_is_not_retried() -> None:
    s = scheduler(build_host_state("h1"), build_host_state("h2"))
    (first,) = s.handle(build())
    s.handle(InstanceDeleteRequested(envelope=Envelope.new(InstanceDeleteRequested, "api"), instance_id="i1", project_id="p", user_id="u"))
    assert s.handle(reject(first.record)) == []


def test_in_flight_claims_count_until_the_table_shows_them() -> None:
    # One host with 2048 MB: two 1024 MB requests fit, the third finds no room,
    # though the table has not yet heard of the first two.
    s = scheduler(build_host_state("h1", memory_mb=2048))
    assert [type(o.record) for r in ("a", "b", "c") for o in s.handle(build(r))] == [PlacementProposed, PlacementProposed, InstanceSchedulingFailed]


def test_a_multi_create_places_every_instance_counting_the_previous_ones() -> None:
    # h1 and h2 have 2048 MB each: four 1024 MB instances fill both exactly.
    s = scheduler(build_host_state("h1", memory_mb=2048), build_host_state("h2", memory_mb=2048))
    ids = ["m1", "m2", "m3", "m4"]
    assert s.handle(build("m2", instance_ids=ids)) == []  # placed with the first one
    outs = s.handle(build("m1", instance_ids=ids, min_count=4))
    assert [o.record.instance_id for o in outs] == ids
    assert sorted(o.record.host for o in outs) == ["h1", "h1", "h2", "h2"]
    assert all(o.record.spec.num_instances == 4 for o in outs)


def test_a_multi_create_that_does_not_fit_fails_every_instance() -> None:
    s = scheduler(build_host_state("h1", memory_mb=2048))
    ids = ["m1", "m2", "m3"]
    outs = s.handle(build("m1", instance_ids=ids, min_count=3))
    assert [(o.key, type(o.record)) for o in outs] == [(i, InstanceSchedulingFailed) for i in ids]
    assert "Only 2 of the 3 instances" in outs[0].record.fault.message
    assert s.in_flight == {}  # nothing was proposed, so nothing is held


def test_spec_of_carries_the_request() -> None:
    event = replace(build(), availability_zone="az1", scheduler_hints={"group": ["g"]})
    spec = spec_of(event)
    assert (spec.instance_id, spec.availability_zone, spec.scheduler_hints, spec.num_attempts) == ("i1", "az1", {"group": ["g"]}, 1)


def test_a_request_the_filters_cannot_read_fails_instead_of_crashing_the_scheduler() -> None:
    # `>= many` is a numeric operator on a non-number: Nova fails the request.
    s = scheduler(build_host_state("h1"), enabled_filters=("ComputeFilter", "ComputeCapabilitiesFilter"))
    event = replace(build(), flavor=build_flavor(extra_specs={"capabilities:vcpus_total": ">= many"}))
    (out,) = s.handle(event)
    assert isinstance(out.record, InstanceSchedulingFailed)
    assert out.record.fault.message.startswith("No valid host was found. The request is invalid:")


def test_a_move_is_placed_away_from_its_source_and_its_retries_keep_the_migration() -> None:
    s = scheduler(build_host_state("host-1"), build_host_state("host-2"), build_host_state("host-3"), max_attempts=2)
    move = build_move_requested()  # from host-1, which its spec leaves out
    (out,) = s.handle(move)
    first = out.record
    assert isinstance(first, PlacementProposed) and first.host != "host-1"
    assert (first.spec.migration_id, first.resources.memory_mb) == ("migration-1", move.spec.flavor.ram)
    (retry,) = s.handle(reject(first))
    assert retry.record.host not in ("host-1", first.host) and retry.record.spec.migration_id == "migration-1"
    (failed,) = s.handle(reject(retry.record))
    assert isinstance(failed.record, InstanceSchedulingFailed)
