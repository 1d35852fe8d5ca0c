"""The log read back: a replay of what the running stack wrote gives the live tables, row for row."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from builders import build_capacity_report, build_claim_accepted, build_flavor, build_proposal, build_resources, build_spec
from novalog.events import topics
from novalog.events.codec import encode
from novalog.events.kafka.log import producer_config
from novalog.projections.registry import PROJECTIONS
from novalog.replay import Cut, compare, live_snapshot, rebuild, worker_committed
from novalog.services import ensure_all_topics
from novalog.stack import settings_env
from stack_harness import SMALL_FLAVOR, RunningStack, act, assert_log_holds, assert_replay_identical, stack_settings, wait_until

# Small hosts, so a big flavor finds no room anywhere and a planted proposal is rejected.
HOSTS = [("rp1", 4, 8192, 80), ("rp2", 4, 8192, 80)]
BIG_FLAVOR = {"name": "m1.medium", "id": "3", "vcpus": 2, "ram": 4096, "disk": 40}
HUGE_FLAVOR = {"name": "m1.huge", "id": "9", "vcpus": 64, "ram": 65536, "disk": 40}
GARBAGE = b"\x00\x00\x00\x00\x07not avro at all"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("replay"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def settle(stack: RunningStack, server_id: str, status: str, timeout: float = 30) -> dict:
    def reached() -> dict | None:
        server = stack.client.show(server_id)
        return server if server and server["status"] == status and server["OS-EXT-STS:task_state"] is None else None

    return wait_until(reached, timeout, f"{server_id} to settle in {status}")


@pytest.fixture(scope="module")
def history(stack: RunningStack) -> dict:
    """A log with boots, actions, a resize, deletes, a scheduling failure, a rejected claim and dead letters."""
    client = stack.client
    client.ensure_flavor(BIG_FLAVOR)
    client.ensure_flavor(HUGE_FLAVOR)
    ids = [client.boot(f"rp-{i}", SMALL_FLAVOR["id"]) for i in range(4)]
    assert {s["status"] for s in client.wait_settled(ids, 60).values()} == {"ACTIVE"}
    after_boots = datetime.now(UTC)
    act(stack, ids[0], {"os-stop": None}, "SHUTOFF", 4)
    act(stack, ids[0], {"os-start": None}, "ACTIVE", 1)
    assert client.http.post(f"/servers/{ids[1]}/action", json={"resize": {"flavorRef": BIG_FLAVOR["id"]}}).status_code == 202
    settle(stack, ids[1], "VERIFY_RESIZE")
    assert client.http.post(f"/servers/{ids[1]}/action", json={"confirmResize": None}).status_code == 204
    settle(stack, ids[1], "ACTIVE")
    before_deletes = datetime.now(UTC)
    time.sleep(0.05)
    for sid in ids[2:]:
        client.delete(sid)
    wait_until(lambda: all(client.show(s) is None for s in ids[2:]), 30, "the deletes")
    failed = client.boot("rp-too-big", HUGE_FLAVOR["id"])
    assert client.wait_settled([failed], 30)[failed]["status"] == "ERROR"
    # A proposal no host has room for (as a scheduler with a stale view would make): the host table rejects
    # it, and the scheduler, at its last attempt, gives up.
    spec = build_spec(instance_id="instance-of-planted-claim", flavor=build_flavor(vcpus=64), num_attempts=3)
    planted = build_proposal("planted-claim", host="rp1", resources=build_resources(vcpus=64, memory_mb=1024, disk_gb=1), spec=spec)
    stack.produce_raw(stack.topic(topics.HOST_EVENTS), b"rp1", encode(planted))
    for topic in (topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.CATALOG_EVENTS):
        stack.produce_raw(stack.topic(topic), b"garbage", GARBAGE)
    wait_until(
        lambda: any(getattr(r, "claim_id", None) == "planted-claim" for _, r in stack.records(topics.INSTANCE_EVENTS)),
        20, "the planted proposal's rejection",
    )
    # Until the worker commits past the garbage, a replay stops where the live tables stand: before it.
    ends = {(msg.topic().removeprefix(f"{stack.settings.topic_prefix}."), msg.partition()): msg.offset() + 1
            for msg, _ in stack.records(topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.CATALOG_EVENTS)}
    wait_until(lambda: all(worker_committed(stack.settings.kafka_bootstrap, stack.settings.topic_prefix, PROJECTIONS).get(where, 0) >= end
                           for where, end in ends.items()), 30, "the worker to commit past the garbage")
    return {"kept": ids[:2], "deleted": ids[2:], "failed": failed, "before_deletes": before_deletes, "after_boots": after_boots}


def test_a_replay_of_the_running_stacks_log_gives_the_live_tables(stack: RunningStack, history: dict) -> None:
    assert_replay_identical(stack)
    assert_log_holds(stack)


def test_replay_command_prints_identical_for_every_table(stack: RunningStack, history: dict) -> None:
    run = subprocess.run([sys.executable, "-m", "novalog", "replay"], env=settings_env(stack.settings),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if "rows" in line}
    assert set(lines) == {"host_state", "instances", "catalog", "identity", "quotas", "aggregates", "tenant", "networks"}, run.stdout
    assert all("identical" in line for line in lines.values()), run.stdout
    assert "events/s" in run.stdout and "3 dead letters" in run.stdout, run.stdout


def test_a_changed_row_is_reported_with_both_values(stack: RunningStack, history: dict) -> None:
    settings = stack.settings
    live, cut = live_snapshot(settings.kafka_bootstrap, settings.topic_prefix, PROJECTIONS)
    result = rebuild(settings.kafka_bootstrap, settings.topic_prefix, cut=cut)
    instances = result.tables["instances"]
    key = history["kept"][0].encode()
    instances.rows[key] = replace(instances.rows[key], name="tampered")
    (verdict,) = [c for c in compare(result, live) if c.table == "instances"]
    assert not verdict.identical
    assert [(d.key, d.rebuilt.name, d.live.name) for d in verdict.differences] == [(key, "tampered", "rp-0")]


def test_state_at_a_past_moment_shows_the_deleted_servers_alive(stack: RunningStack, history: dict) -> None:
    at = history["before_deletes"].isoformat()
    run = subprocess.run([sys.executable, "-m", "novalog", "state", "--at", at, "--json", "--table", "instances"],
                         env=settings_env(stack.settings), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = {r["row"]["instance_id"]: r["row"] for r in map(json.loads, run.stdout.splitlines())}
    assert {sid: rows[sid]["vm_state"] for sid in history["deleted"]} == {sid: "active" for sid in history["deleted"]}
    assert history["failed"] not in rows  # not yet asked for
    now = rebuild(stack.settings.kafka_bootstrap, stack.settings.topic_prefix, cut=Cut(until=datetime.now(UTC)))
    assert {now.tables["instances"].rows[s.encode()].vm_state for s in history["deleted"]} == {"deleted"}


def test_state_table_view_lists_hosts_with_their_claims(stack: RunningStack, history: dict) -> None:
    run = subprocess.run([sys.executable, "-m", "novalog", "state", "--at", datetime.now(UTC).isoformat(), "--table", "host_state"],
                         env=settings_env(stack.settings), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    hosts = {line.split()[0]: line.split() for line in run.stdout.splitlines()[1:] if line.strip()}
    assert set(hosts) == {"rp1", "rp2"}
    # Two servers are left: one small (1 vCPU) and one resized to the medium flavor (2 vCPUs).
    assert sum(int(h[2].split("/")[0]) for h in hosts.values()) == 3, run.stdout


def test_audit_check_passes_on_the_stacks_log_and_lists_who_did_what(stack: RunningStack, history: dict) -> None:
    env = settings_env(stack.settings)
    judged = subprocess.run([sys.executable, "-m", "novalog", "audit", "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "0 violations" in judged.stderr + judged.stdout
    listed = subprocess.run([sys.executable, "-m", "novalog", "audit", "--json", "--type", "InstanceDeleteRequested"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["instance"] for r in rows) == sorted(history["deleted"])
    assert {(r["project"], r["user"]) for r in rows} == {("admin", "admin")}


def test_audit_check_catches_a_planted_overcommit(kafka_bootstrap: str, tmp_path: pytest.TempPathFactory) -> None:
    """A log of its own (no services): a host of 4 vCPUs and two accepted 3-vCPU claims; exit 2, the violation printed."""
    settings = stack_settings(kafka_bootstrap, tmp_path, HOSTS)
    ensure_all_topics(settings)
    spec_a, spec_b = build_spec(instance_id="a"), build_spec(instance_id="b")
    records = [
        (topics.HOST_EVENTS, "rp1", build_capacity_report("rp1", vcpus=4, cpu_allocation_ratio=1.0)),
        (topics.INSTANCE_EVENTS, "a", build_claim_accepted("ca", host="rp1", instance_id="a", resources=build_resources(vcpus=3), spec=spec_a)),
        (topics.INSTANCE_EVENTS, "b", build_claim_accepted("cb", host="rp1", instance_id="b", resources=build_resources(vcpus=3), spec=spec_b)),
    ]
    producer = Producer(producer_config(kafka_bootstrap))
    for topic, key, record in records:
        producer.produce(settings.topic(topic), key=key.encode(), value=encode(record))
    assert producer.flush(10) == 0
    run = subprocess.run([sys.executable, "-m", "novalog", "audit", "--check"], env=settings_env(settings), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "VIOLATION capacity: rp1 over capacity when claim cb was accepted: vcpus: requested 3, room 1" in run.stdout
    assert "VIOLATION held-by-gone: claims of a, an instance the log never built" in run.stdout


def test_state_from_a_snapshot_equals_state_from_the_beginning(stack: RunningStack, history: dict) -> None:
    env = settings_env(stack.settings)

    def state(at: datetime, *flags: str) -> subprocess.CompletedProcess:
        run = subprocess.run([sys.executable, "-m", "novalog", "state", "--at", at.isoformat(), *flags],
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return run

    state(history["after_boots"], "--no-snapshot")  # leaves a snapshot at that point
    later = history["before_deletes"]
    resumed = state(later, "--json")
    assert "started from the snapshot" in state(later).stderr
    whole = state(later, "--json", "--no-snapshot")
    assert resumed.stdout == whole.stdout and len(whole.stdout.splitlines()) > 4


def test_status_shows_the_endpoints_and_each_processors_lag(stack: RunningStack, history: dict) -> None:
    run = subprocess.run([sys.executable, "-m", "novalog", "status", "--json"], env=settings_env(stack.settings),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["api"]["state"].startswith("answers") and report["schema_registry"]["url"].startswith("http://127.0.0.1:")
    groups = {p["group"].removeprefix(f"{stack.settings.topic_prefix}-"): p for p in report["processors"]}
    assert groups["projections"]["members"] == 1 and groups["scheduler"]["members"] == 1
    assert all(p["lag"] >= 0 for p in groups.values())
