"""`novalog history`: one instance's records across topics, in story order, each explained by the live folds."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from builders import (
    NOW,
    build_action_requested,
    build_build_requested,
    build_capacity_report,
    build_claim_released,
    build_delete_ordered,
    build_delete_requested,
    build_deleted,
    build_flavor,
    build_move_ordered,
    build_move_progressed,
    build_move_requested,
    build_power_state_changed,
    build_proposal,
    build_servers_requested,
    build_spawn_ordered,
    build_spawned,
    build_spec,
    build_trace,
)
from novalog.events.records import FilterCount, PlacementTrace, Resources, WeighedHost
from novalog.events.types import InstanceDeleteOrdered, InstanceMoveOrdered, InstanceSpawnOrdered
from novalog.history_cmd import step_json, table_lines
from novalog.projections.history import AmbiguousServer, Logged, ServerNotFound, Story
from novalog.projections.history_details import trace_text
from novalog.projections.host_state import decide_claim
from novalog.projections.registry import BY_TABLE

MS = timedelta(milliseconds=1)
# A flavor of 2 GB RAM: it does not fit on the 1 GB hosts, a claim check rejects it there.
FLAVOR = build_flavor(id="flavor-2", name="m1.small", vcpus=1, ram=2048, disk=1)


class Log:
    """Records appended to topics with their offsets, the log taking each one a millisecond after it was stamped."""

    def __init__(self) -> None:
        self.records: list[Logged] = []
        self._next: dict[str, int] = defaultdict(int)

    def append(self, topic: str, key: str, record: Any, headers: dict[str, str] | None = None) -> Logged:
        envelope = getattr(record, "envelope", None)
        at = (envelope.occurred_at if envelope is not None else NOW) + MS
        logged = Logged(topic, 0, self._next[topic], key, at, record, headers or {})
        self._next[topic] += 1
        self.records.append(logged)
        return logged

    def story(self, server: str, order: list[str] | None = None) -> Story:
        """Fed topic by topic (instance.events first, as the command reads them), each topic in log order."""
        story = Story(server)
        names = order or ["instance.events", "host.events", "quota.events"]
        for topic in [*names, *sorted({r.topic for r in self.records} - set(names))]:
            for logged in (r for r in self.records if r.topic == topic):
                story.feed(logged)
        return story


def propose_and_decide(log: Log, hosts: dict[str, Any], proposal: Any) -> Any:
    """The proposal on host.events, and the host-state fold's decision on instance.events (as the live worker does)."""
    log.append("host.events", proposal.host, proposal)
    decision = decide_claim(hosts[proposal.host], proposal)
    hosts[proposal.host], _ = BY_TABLE["host_state"].handle(hosts[proposal.host], proposal, 0)
    log.append("instance.events", proposal.instance_id, decision)
    return decision


def retried_build() -> tuple[Log, str]:
    """A create of "web" whose claim is rejected on two 1 GB hosts (scheduler's view stale), then accepted on the 8 GB one."""
    log, hosts = Log(), {}
    for index, (host, ram) in enumerate([("small-a", 1024), ("small-b", 1024), ("big", 8192)]):
        report = build_capacity_report(host, memory_mb=ram, reported_at=NOW - timedelta(minutes=5 - index))
        log.append("host.events", host, report)
        hosts[host], _ = BY_TABLE["host_state"].handle(None, report, 0)
    build = build_build_requested("i-web", at=NOW, name="web", flavor=FLAVOR, reservation_id="r-1")
    log.append("quota.events", "project-1", build_servers_requested(1, builds=[build], reservation_id="r-1"))
    log.append("instance.events", "i-web", build)
    tried: list[str] = []
    for attempt, host in enumerate(["small-a", "small-b", "big"], 1):
        trace = PlacementTrace(3, [FilterCount("ComputeFilter", 3), FilterCount("RetryFilter", 3 - len(tried))],
                               [WeighedHost(host, 1.0, {"RAMWeigher": 1.0})])
        proposal = build_proposal(f"claim-{attempt}", host=host, instance_id="i-web", at=NOW + attempt * 10 * MS, trace=trace,
                                  resources=Resources.of(FLAVOR),
                                  spec=build_spec(FLAVOR, instance_id="i-web", num_attempts=attempt, retry_hosts=list(tried)))
        propose_and_decide(log, hosts, proposal)
        tried.append(host)
    return log, "i-web"


def brief(steps: list) -> list[tuple[str, str]]:
    return [(s.event, s.position) for s in steps]


def test_a_retried_build_shows_both_rejections_with_their_reasons_and_the_final_placement() -> None:
    log, instance_id = retried_build()
    steps = log.story(instance_id).steps()
    assert [s.event for s in steps] == [
        "ServersRequested", "InstanceBuildRequested",
        "PlacementProposed", "ClaimRejected", "PlacementProposed", "ClaimRejected", "PlacementProposed", "ClaimAccepted",
    ]
    decisions = [s for s in steps if s.event.startswith("Claim")]
    assert [(s.facts["host"], s.facts["attempt"]) for s in decisions] == [("small-a", 1), ("small-b", 2), ("big", 3)]
    # The room the host-state fold judged each claim against: 1024 MB and 8192 MB left, nothing claimed yet.
    assert [s.facts["room_before"]["memory_mb"] for s in decisions] == [1024, 1024, 8192]
    assert decisions[0].detail == (
        "on small-a: memory_mb: requested 2048 exceeds the host's total 1024 (room before 16 vCPUs, 1024 MB RAM, 80 GB disk)"
    )
    assert decisions[2].detail == "on big: claims 1 vCPU, 2048 MB RAM, 1 GB disk (room before 16 vCPUs, 8192 MB RAM, 80 GB disk)"
    assert "attempt 3, after small-a, small-b" in steps[6].detail


def test_the_room_before_a_claim_counts_the_claims_the_host_accepted_earlier() -> None:
    log, hosts = Log(), {}
    report = build_capacity_report("host-1")  # 4 vCPUs x 4.0, 8192 MB, 80 GB
    log.append("host.events", "host-1", report)
    hosts["host-1"], _ = BY_TABLE["host_state"].handle(None, report, 0)
    other = build_proposal("claim-other", host="host-1", resources=Resources(vcpus=3, memory_mb=6144, disk_gb=20), at=NOW + MS)
    propose_and_decide(log, hosts, other)
    log.append("instance.events", "i-1", build_build_requested("i-1", at=NOW + 2 * MS))
    mine = build_proposal("claim-mine", host="host-1", instance_id="i-1", resources=Resources.of(FLAVOR), at=NOW + 3 * MS)
    propose_and_decide(log, hosts, mine)
    (accepted,) = [s for s in log.story("i-1").steps() if s.event == "ClaimAccepted"]
    # 16 - 3 vCPUs, 8192 - 6144 MB, 80 - 20 GB
    assert accepted.facts["room_before"] == {"vcpus": 13, "memory_mb": 2048, "disk_gb": 60}


def test_steps_are_in_time_order_across_topics_with_the_time_since_the_previous_step() -> None:
    log = Log()
    build = build_build_requested("i-1", at=NOW)
    log.append("instance.events", "i-1", build)
    log.append("host.events", "host-1", build_proposal("claim-1", instance_id="i-1", at=NOW + 250 * MS))
    log.append("agent.host-1", "i-1", build_spawn_ordered("i-1", envelope=replace(build.envelope, event_id="o", occurred_at=NOW + 300 * MS)))
    log.append("instance.events", "i-1", build_spawned("i-1", at=NOW + 1800 * MS))
    log.append("instance.events", "i-1", build_delete_requested("i-1", at=NOW + 5 * 1000 * MS))
    steps = log.story("i-1").steps()
    assert [s.event for s in steps] == [
        "InstanceBuildRequested", "PlacementProposed", "InstanceSpawnOrdered", "InstanceSpawned", "InstanceDeleteRequested",
    ]
    assert [s.since_previous for s in steps] == [None, 250 * MS, 50 * MS, 1500 * MS, 3200 * MS]
    assert steps[2].position == "agent.host-1:0:0" and steps[2].detail == "spawn on host-1 under claim claim-1"


def test_an_effect_stamped_with_its_causes_time_comes_after_it_and_a_build_after_the_quota_request_that_let_it_through() -> None:
    log = Log()
    build = build_build_requested("i-1", at=NOW - MS)  # the API stamps the build just before the quota request
    servers = build_servers_requested(1, builds=[build])
    log.append("instance.events", "i-1", build)
    proposal = build_proposal("claim-1", instance_id="i-1", at=NOW + 5 * MS)
    accepted = decide_claim(BY_TABLE["host_state"].handle(None, build_capacity_report(), 0)[0], proposal)
    assert accepted.envelope.occurred_at == proposal.envelope.occurred_at  # a decision carries its cause's time
    log.append("instance.events", "i-1", accepted)  # read before its cause, which is on another topic
    log.append("host.events", "host-1", proposal)
    log.append("quota.events", "project-1", servers)
    steps = log.story("i-1").steps()
    assert [s.event for s in steps] == ["ServersRequested", "InstanceBuildRequested", "PlacementProposed", "ClaimAccepted"]
    assert steps[1].since_previous == -MS  # the times are the envelopes' own


def test_a_redelivered_effect_is_one_step_and_a_dead_letter_under_the_instance_is_one_of_its_own() -> None:
    log = Log()
    build = build_build_requested("i-1")
    log.append("instance.events", "i-1", build)
    log.append("instance.events", "i-1", build)
    log.append("instance.events", "i-2", build_build_requested("i-2"))
    log.append("instance.events.dlq", "i-1", None, {
        "dlq.original.topic": "instance.events", "dlq.original.partition": "0", "dlq.original.offset": "7",
        "dlq.error.class": "DecodeError", "dlq.error.message": "unknown schema id 7", "dlq.processor": "novalog-projections",
    })
    log.append("instance.events.dlq", "i-2", None)
    steps = log.story("i-1").steps()
    assert brief(steps) == [("InstanceBuildRequested", "instance.events:0:0"), ("DeadLetter", "instance.events.dlq:0:0")]
    assert steps[1].detail == (
        "an undecodable record from instance.events:0:7 refused by novalog-projections: DecodeError: unknown schema id 7"
    )


def test_each_step_names_who_asked_through_its_request() -> None:
    log = Log()
    build = build_build_requested("i-1", user_id="alice", project_id="p-a")
    log.append("instance.events", "i-1", build)
    order = build.envelope.caused(InstanceSpawnOrdered, "novalog-projections", occurred_at=NOW)  # stamped with its cause's time
    log.append("agent.host-1", "i-1", build_spawn_ordered("i-1", project_id="p-a", envelope=order))
    stop = build_action_requested("stop", "i-1", user_id="bob", project_id="p-a", at=NOW + MS)
    log.append("instance.events", "i-1", replace(stop, envelope=replace(stop.envelope, request_id="req-2")))
    log.append("instance.events", "i-1", build_power_state_changed("i-1", at=NOW + 2 * MS, envelope=replace(
        build.envelope, event_id="power", request_id=None, occurred_at=NOW + 2 * MS)))
    who = [(s.event, s.request_id, s.user_id, s.project_id) for s in log.story("i-1").steps()]
    assert who == [
        ("InstanceBuildRequested", "req-1", "alice", "p-a"),
        ("InstanceSpawnOrdered", "req-1", "alice", "p-a"),
        ("InstanceActionRequested", "req-2", "bob", "p-a"),
        ("InstancePowerStateChanged", None, None, None),  # the hypervisor's report answers no request
    ]


def test_the_action_steps_are_the_actions_the_instance_table_keeps() -> None:
    log, instance_id = retried_build()
    log.append("instance.events", instance_id, build_spawned(instance_id, host="big", at=NOW + 50 * MS))
    stop = build_action_requested("stop", instance_id, at=NOW + 60 * MS)
    log.append("instance.events", instance_id, replace(stop, envelope=replace(stop.envelope, request_id="req-stop")))
    log.append("instance.events", instance_id, build_power_state_changed(instance_id, host="big", at=NOW + 70 * MS))
    delete = build_delete_requested(instance_id, at=NOW + 80 * MS)
    delete = replace(delete, envelope=replace(delete.envelope, request_id="req-delete"))
    log.append("instance.events", instance_id, delete)
    order = delete.envelope.caused(InstanceDeleteOrdered, "novalog-projections", occurred_at=delete.envelope.occurred_at)
    log.append("agent.big", instance_id, build_delete_ordered(instance_id, claim_id="claim-3", envelope=order))
    log.append("instance.events", instance_id, build_deleted(instance_id, host="big", at=NOW + 90 * MS))
    log.append("host.events", "big", build_claim_released("claim-3", host="big", instance_id=instance_id, at=NOW + 95 * MS))
    story = log.story(instance_id)
    steps = story.steps()
    opened = [(n["opened"], n["request_id"]) for s in steps for n in s.facts.get("actions", []) if "opened" in n]
    assert opened == [("create", "req-1"), ("stop", "req-stop"), ("delete", "req-delete")]
    assert opened == [(a.action, a.request_id) for a in story.row().actions]
    ended = [(n["ended"], n["result"]) for s in steps for n in s.facts.get("actions", []) if "ended" in n]
    assert ended == [("create", "Success"), ("stop", "Success"), ("delete", "Success")]
    assert [s.event for s in steps][-4:] == ["InstanceDeleteRequested", "InstanceDeleteOrdered", "InstanceDeleted", "ClaimReleased"]


def test_a_placement_shows_its_filter_funnel_and_the_top_weighed_hosts_with_their_parts() -> None:
    trace = build_trace(hosts_before=3, filters=[FilterCount("RamFilter", 2), FilterCount("ComputeFilter", 2)], top=[
        WeighedHost("host-1", 1.5, {"RAMWeigher": 1.0, "CPUWeigher": 0.5}), WeighedHost("host-2", 0.25, {"RAMWeigher": 0.25, "CPUWeigher": 0.0}),
    ])
    assert trace_text(trace) == (
        "funnel RamFilter 3 -> 2, ComputeFilter 2 -> 2; top host-1 1.5 (RAMWeigher 1, CPUWeigher 0.5); host-2 0.25 (RAMWeigher 0.25, CPUWeigher 0)"
    )
    assert trace_text(build_trace(filters=[], top=[])) == "funnel no filter (2 hosts)"
    assert trace_text(build_trace(top=[WeighedHost("host-1", 0.0, {})])).endswith("; top host-1 0")  # the only host weighed


def test_a_name_finds_the_one_instance_built_under_it_and_refuses_to_guess_between_two() -> None:
    log = Log()
    log.append("instance.events", "i-1", build_build_requested("i-1", name="web"))
    log.append("instance.events", "i-2", build_build_requested("i-2", name="db"))
    log.append("instance.events", "i-3", build_build_requested("i-3", name="db"))
    assert log.story("web").instance_id() == "i-1"
    assert [s.event for s in log.story("web").steps()] == ["InstanceBuildRequested"]
    assert log.story("i-2").instance_id() == "i-2"
    with pytest.raises(AmbiguousServer, match="2 instances were built as 'db': i-2, i-3"):
        log.story("db").steps()
    with pytest.raises(ServerNotFound):
        log.story("nothing").steps()


def test_a_refused_create_shows_the_quota_message() -> None:
    log = Log()
    limited = build_servers_requested(1, builds=[build_build_requested("i-1")], default_limits={"instances": 0})
    log.append("quota.events", "project-1", limited)
    (step,) = log.story("i-1").steps()
    assert step.facts["quota"] == {
        "accepted": [], "message": "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances", "let_through": False,
    }
    assert step.detail.endswith("quota refused: Quota exceeded for instances: Requested 1, but already used 0 of 0 instances")


def test_the_table_and_json_forms_carry_time_delta_position_and_who_asked() -> None:
    log, instance_id = retried_build()
    steps = log.story(instance_id).steps()
    lines = table_lines(steps)
    assert lines[0].split() == ["TIME", "+DELTA", "EVENT", "POSITION", "REQUEST", "(USER", "/", "PROJECT)"]
    assert lines[5].split()[:4] == ["2024-01-01T12:00:00.010Z", "+0.010s", "PlacementProposed", "host.events:0:3"]
    assert lines[5].endswith("req-1 (user-1 / project-1)")
    assert lines[6].startswith("    small-a by scheduler-1, attempt 1; funnel ComputeFilter 3 -> 3, RetryFilter 3 -> 3")
    row = json.loads(json.dumps(step_json(steps[3])))
    assert {k: row[k] for k in ("event", "position", "since_previous_s", "request_id", "user_id", "project_id")} == {
        "event": "ClaimRejected", "position": "instance.events:0:1", "since_previous_s": 0.0,
        "request_id": "req-1", "user_id": "user-1", "project_id": "project-1",
    }
    assert row["room_before"] == {"vcpus": 16, "memory_mb": 1024, "disk_gb": 80}


def test_a_move_names_both_hosts_so_both_agent_topics_are_read_and_its_steps_say_where() -> None:
    log = Log()
    log.append("instance.events", "i-1", build_build_requested("i-1"))
    move = build_move_requested("resize", "i-1")
    move = replace(move, envelope=replace(move.envelope, occurred_at=NOW + MS))
    order = move.envelope.caused(InstanceMoveOrdered, "novalog-projections", occurred_at=NOW + MS)
    log.append("instance.events", "i-1", move)
    log.append("agent.host-2", "i-1", build_move_ordered("prepare", host="host-2", instance_id="i-1", envelope=order))
    progressed = build_move_progressed("prepare", "host-2", instance_id="i-1")
    log.append("instance.events", "i-1", replace(progressed, envelope=replace(progressed.envelope, occurred_at=NOW + 2 * MS)))
    story = log.story("i-1")
    assert story.hosts() == ["host-1", "host-2"]
    assert [s.detail for s in story.steps()[1:]] == [
        "resize migration-1 from host-1",
        "prepare of resize on host-2 (host-1 -> host-2)",
        "prepare done on host-2, power state 1",
    ]


@pytest.mark.parametrize(("changes", "detail"), [
    ({"name": "web-2"}, "update name=web-2"),
    ({"access_ip_v4": "192.0.2.1", "access_ip_v6": "::1"}, "update accessIPv4=192.0.2.1, accessIPv6=::1"),
    ({}, "update (nothing)"),
], ids=["rename", "addresses", "nothing"])
def test_an_update_says_what_it_changed(changes: dict, detail: str) -> None:
    from builders import build_instance_updated

    log = Log()
    log.append("instance.events", "i-1", build_build_requested("i-1"))
    log.append("instance.events", "i-1", build_instance_updated("i-1", at=NOW + MS, **changes))
    (step,) = [s for s in log.story("i-1").steps() if s.event == "InstanceUpdated"]
    assert step.detail.startswith(detail), step.detail
