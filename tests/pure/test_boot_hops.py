"""bench boot's breakdown: each create's stages from its records' append times, and the hops between them."""

from __future__ import annotations

from builders import (
    build_build_requested,
    build_claim_accepted,
    build_instance_state,
    build_proposal,
    build_servers_requested,
    build_spawn_ordered,
    build_spawned,
)
from novalog.bench_boot import BootRun, client_hops
from novalog.boot_hops import STAGES, StageTimes, hops, percentile
from novalog.events.state import QuotaState


def one_create(stages: StageTimes, instance_id: str, start: float, step: float = 10.0) -> None:
    """The records of one create, in log order, `step` ms apart."""
    records = [
        build_servers_requested(1, reservation_id=f"r-{instance_id}", builds=[build_build_requested(instance_id)]),
        QuotaState(project_id="project-1", decisions={f"r-{instance_id}": ""}),
        build_build_requested(instance_id),
        build_proposal(f"claim-{instance_id}", instance_id=instance_id),
        build_claim_accepted(f"claim-{instance_id}", instance_id=instance_id),
        build_spawn_ordered(instance_id),
        build_spawned(instance_id),
        build_instance_state(instance_id, vm_state="active", task_state=None),
    ]
    for at, record in enumerate(records):
        stages.add(start + at * step, record)


def test_every_stage_of_a_create_is_found_and_each_hop_timed() -> None:
    stages = StageTimes()
    one_create(stages, "vm-a", 1000.0)

    assert list(stages.at["vm-a"]) == list(STAGES)
    found = {h.name: (h.count, h.p50_ms) for h in hops(stages.at)}
    assert found["request accepted → quota decided"] == (1, 10.0)
    assert found["spawn ordered → hypervisor started"] == (1, 10.0)
    assert found["whole path"] == (1, 70.0)
    assert len(found) == len(STAGES)  # seven hops and the whole path


def test_a_stage_keeps_its_first_time_and_rows_before_active_do_not_count() -> None:
    stages = StageTimes()
    one_create(stages, "vm-a", 1000.0)
    stages.add(5000.0, build_proposal("claim-again", instance_id="vm-a"))  # a retry's second proposal
    stages.add(200.0, build_instance_state("vm-b", vm_state="building"))

    assert stages.at["vm-a"]["placement proposed"] == 1030.0
    assert "vm-b" not in stages.at


def test_a_quota_row_marks_only_the_creates_it_decides() -> None:
    stages = StageTimes()
    stages.add(0.0, build_servers_requested(1, reservation_id="r-1", builds=[build_build_requested("vm-1")]))
    stages.add(1.0, build_servers_requested(1, reservation_id="r-2", builds=[build_build_requested("vm-2")]))
    stages.add(5.0, QuotaState(project_id="project-1", decisions={"r-1": ""}))

    assert stages.at["vm-1"]["quota decided"] == 5.0
    assert "quota decided" not in stages.at["vm-2"]


def test_hops_cover_only_the_chosen_creates_and_skip_missing_stages() -> None:
    stages = StageTimes()
    one_create(stages, "vm-a", 0.0, step=10.0)
    one_create(stages, "vm-b", 0.0, step=30.0)
    del stages.at["vm-b"]["spawn ordered"]

    only_a = {h.name: h.p50_ms for h in hops(stages.at, ["vm-a"])}
    both = {h.name: h.count for h in hops(stages.at)}

    assert only_a["whole path"] == 70.0
    assert both["claim decided → spawn ordered"] == 1 and both["whole path"] == 2


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0 and percentile([1.0, 2.0], 50) == 1.0 and percentile([1.0, 2.0], 51) == 2.0


def test_boot_run_latency_runs_from_the_scheduled_time_and_counts_what_did_not_settle() -> None:
    run = BootRun(began=100.0)
    run.due = {"a": 100.0, "b": 100.5, "c": 101.0}
    run.settled = {"a": (100.04, "ACTIVE"), "b": (100.6, "ERROR"), "elsewhere": (100.1, "ACTIVE")}
    run.refused = ["POST /servers answered 403"]

    summary = run.summary()

    assert [round(ms, 6) for ms in run.latencies_ms()] == [40.0]
    assert (summary["servers"], summary["active"], summary["error"], summary["refused"], summary["unsettled"]) == (4, 1, 1, 1, 1)
    assert round(summary["throughput_per_s"], 6) == round(2 / 0.6, 6)  # a and b settled within 0.6 s of the start


def test_the_watcher_looks_back_to_the_oldest_create_that_has_not_settled() -> None:
    run = BootRun(began=100.0)
    assert run.oldest_unsettled() is None

    run.due = {"a": 100.0, "b": 100.5}
    run.settled = {"a": (100.04, "ACTIVE")}
    run.sending = {"bench-7": 101.0}
    assert run.oldest_unsettled() == 100.5  # a settled; b answered but not settled; bench-7 still in flight

    run.settled["b"] = (102.0, "ACTIVE")
    assert run.oldest_unsettled() == 101.0
    run.sending.clear()
    assert run.oldest_unsettled() is None


def test_the_clients_ends_run_from_the_due_time_to_the_append_and_from_the_active_row_to_the_look() -> None:
    # Monotonic 100.0 is epoch 1,000,000.0 s here; the log's times are epoch ms.
    run = BootRun(began=100.0, offset_s=999_900.0)
    run.due = {"a": 100.0, "b": 100.5, "gone": 101.0}
    run.settled = {"a": (100.040, "ACTIVE"), "b": (100.6, "ERROR")}
    at = {
        "a": {"request accepted": 1_000_000_004.0, "instance ACTIVE": 1_000_000_031.0},
        "b": {"request accepted": 1_000_000_507.0},
    }

    sent, seen = client_hops(at, run)

    assert (sent.name, sent.count, sent.p50_ms, sent.p99_ms) == ("create due → request accepted", 2, 5.5, 7.0)
    assert (seen.name, seen.count) == ("instance ACTIVE → seen by the client", 1)  # an ERROR is not an ACTIVE seen
    assert round(seen.p50_ms, 6) == 9.0
