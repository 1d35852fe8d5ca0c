"""`novalog history` on a running stack's log: a server's life in order, and a build retried on two full hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from novalog.events import topics
from novalog.events.types import ClaimReleased
from novalog.stack import settings_env
from stack_harness import SMALL_FLAVOR, RunningStack, act, stack_settings, wait_until

# Two hosts with 10 GB disk and one big host. The scheduler runs no DiskFilter and stacks by RAM (least free
# first, no random pick), so a 20 GB server is proposed to tiny-1, then tiny-2, whose claim checks reject it
# (the disk is larger than the host's), and placed on big at its third attempt. A 1 GB server fits tiny-1.
HOSTS = [("tiny-1", 4, 4096, 10), ("tiny-2", 4, 6144, 10), ("big", 8, 16384, 200)]
OPTIONS = {
    "enabled_filters": ["ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter"],
    "weight_classes": ["RAMWeigher"],
    "ram_weight_multiplier": -1.0,
    "host_subset_size": 1,
    "max_attempts": 3,
}
TINY_FLAVOR = {"name": "m1.tiny", "id": "1", "vcpus": 1, "ram": 512, "disk": 1}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("history")
    options = tmp / "scheduler.json"
    options.write_text(json.dumps(OPTIONS))
    running = RunningStack(stack_settings(kafka_bootstrap, tmp, HOSTS, scheduler_options_file=options), [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def novalog(stack: RunningStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "novalog", *args], env=settings_env(stack.settings), capture_output=True, text=True,
                          timeout=120)


def history(stack: RunningStack, server: str) -> list[dict[str, Any]]:
    run = novalog(stack, "history", server, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def in_order(events: list[str], expected: list[str]) -> bool:
    """`expected` is a subsequence of `events`."""
    rest = iter(events)
    return all(any(e == wanted for e in rest) for wanted in expected)


def story(steps: list[dict[str, Any]]) -> str:
    """The steps as a failure message: one line each."""
    return "\n".join(f"{s['at']} {s['event']:<26} {s['position']:<24} {s['detail']}" for s in steps)


def instance_actions(stack: RunningStack, server_id: str) -> list[tuple[str, str, str, str]]:
    resp = stack.client.http.get(f"/servers/{server_id}/os-instance-actions")
    assert resp.status_code == 200, resp.text
    return [(a["action"], a["request_id"], a["user_id"], a["project_id"]) for a in reversed(resp.json()["instanceActions"])]


def opened_actions(steps: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(n["opened"], n["request_id"], s["user_id"], s["project_id"]) for s in steps for n in s.get("actions", []) if "opened" in n]


@pytest.fixture(scope="module")
def life(stack: RunningStack) -> dict[str, Any]:
    """A server booted, stopped, started and deleted; its actions as the API showed them before the delete."""
    client = stack.client
    client.ensure_flavor(TINY_FLAVOR)
    server_id = client.boot("hist-life", TINY_FLAVOR["id"])
    assert client.wait_settled([server_id], 60)[server_id]["status"] == "ACTIVE"
    act(stack, server_id, {"os-stop": None}, "SHUTOFF", 4)
    act(stack, server_id, {"os-start": None}, "ACTIVE", 1)
    actions = instance_actions(stack, server_id)
    deleted = client.http.delete(f"/servers/{server_id}")
    assert deleted.status_code == 204, deleted.text
    wait_until(lambda: client.show(server_id) is None, 30, "the delete")
    wait_until(lambda: any(isinstance(r, ClaimReleased) and r.instance_id == server_id for _, r in stack.records(topics.HOST_EVENTS)),
               30, "the claim's release")
    return {"id": server_id, "actions": actions, "delete_request": deleted.headers["x-openstack-request-id"]}


def test_a_servers_life_is_told_in_order_with_times_and_who_asked(stack: RunningStack, life: dict[str, Any]) -> None:
    steps = history(stack, life["id"])
    events = [s["event"] for s in steps]
    assert in_order(events, [
        "ServersRequested", "InstanceBuildRequested", "PlacementProposed", "ClaimAccepted", "InstanceSpawnOrdered", "InstanceSpawned",
        "InstanceActionRequested", "InstanceActionOrdered", "InstanceActionRequested", "InstanceActionOrdered",
        "InstanceDeleteRequested", "InstanceDeleteOrdered",
    ]), story(steps)
    # The agent's two answers to the delete order carry the same millisecond: either may come first.
    after_order = events[events.index("InstanceDeleteOrdered"):]
    assert {"InstanceDeleted", "ClaimReleased", "QuotaUsageReleased"} <= set(after_order), story(steps)
    assert "ClaimRejected" not in events and "DeadLetter" not in events, story(steps)
    by_event = {s["event"]: s for s in steps}
    assert by_event["ServersRequested"]["quota"] == {"accepted": [life["id"]], "message": None, "let_through": True}
    proposal = by_event["PlacementProposed"]
    assert proposal["funnel"] == [{"filter": f, "before": 3, "after": 3} for f in OPTIONS["enabled_filters"]], proposal
    assert proposal["top"][0]["host"] == "tiny-1" and set(proposal["top"][0]["parts"]) == {"RAMWeigher"}, proposal
    assert proposal["detail"].startswith("tiny-1 by novalog-scheduler-"), proposal["detail"]
    assert by_event["ClaimAccepted"]["room_before"] == {"vcpus": 16, "memory_mb": 4096, "disk_gb": 10}
    # Times: each step's delta is the time since the one before, and only the build (stamped by the API just
    # before the quota request that let it through) may come a moment before the step it follows.
    times = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in steps]
    assert [s["since_previous_s"] for s in steps[1:]] == [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert all(s["since_previous_s"] >= 0 for s in steps[1:] if s["event"] != "InstanceBuildRequested"), steps
    assert all(s["position"] == f"{s['topic']}:{s['partition']}:{s['offset']}" for s in steps)
    # Who asked: every step of a request names it and the admin who made it.
    requests = {s["request_id"] for s in steps if s["event"].endswith("Requested")}
    assert len(requests) == 4 and life["delete_request"] in requests
    assert {(s["user_id"], s["project_id"]) for s in steps if s["request_id"]} == {(life["actions"][0][2], life["actions"][0][3])}


def test_the_action_steps_are_what_os_instance_actions_answered(stack: RunningStack, life: dict[str, Any]) -> None:
    opened = opened_actions(history(stack, life["id"]))
    assert [a[0] for a in opened] == ["create", "stop", "start", "delete"]
    assert opened[:3] == life["actions"]
    assert opened[3][1] == life["delete_request"]


def test_a_position_it_prints_is_one_state_at_offset_takes(stack: RunningStack, life: dict[str, Any]) -> None:
    steps = history(stack, life["id"])
    accepted = next(s for s in steps if s["event"] == "ClaimAccepted")
    run = novalog(stack, "state", "--at-offset", accepted["position"], "--json", "--table", "host_state")
    assert run.returncode == 0, run.stderr
    rows = {r["row"]["host"]: r["row"] for r in map(json.loads, run.stdout.splitlines())}
    claims = {c["instance_id"]: c for c in rows["tiny-1"]["claims"]}
    assert claims[life["id"]]["claim_id"] == accepted["claim_id"]


def test_a_retried_build_shows_both_rejections_and_the_final_placement(stack: RunningStack, life: dict[str, Any]) -> None:
    client = stack.client
    server_id = client.boot("hist-retried", SMALL_FLAVOR["id"])
    server = client.wait_settled([server_id], 60)[server_id]
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "big", server
    steps = history(stack, "hist-retried")  # by its name
    placing = [s for s in steps if s["event"] in ("PlacementProposed", "ClaimRejected", "ClaimAccepted")]
    assert [(s["event"], s["host"], s["attempt"]) for s in placing] == [
        ("PlacementProposed", "tiny-1", 1), ("ClaimRejected", "tiny-1", 1),
        ("PlacementProposed", "tiny-2", 2), ("ClaimRejected", "tiny-2", 2),
        ("PlacementProposed", "big", 3), ("ClaimAccepted", "big", 3),
    ]
    assert [s["reason"] for s in placing if s["event"] == "ClaimRejected"] == ["disk_gb: requested 20 exceeds the host's total 10"] * 2
    # The retries leave the hosts tried out: RetryFilter 3 -> 2, then 3 -> 1.
    assert [[f["after"] for f in s["funnel"] if f["filter"] == "RetryFilter"] for s in placing[::2]] == [[3], [2], [1]]
    assert opened_actions(steps) == instance_actions(stack, server_id)
    table = novalog(stack, "history", server_id)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["TIME", "+DELTA", "EVENT", "POSITION"]
    assert sum(line.split()[2] == "ClaimRejected" for line in lines[1::2]) == 2, table.stdout


def test_an_unknown_server_is_an_error(stack: RunningStack, life: dict[str, Any]) -> None:
    run = novalog(stack, "history", "no-such-server")
    assert run.returncode == 1 and "no instance 'no-such-server' in the log" in run.stderr, run.stdout + run.stderr
