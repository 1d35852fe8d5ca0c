"""Bad records and crashes: dead letters without stopping, and a projection worker killed mid-run."""

from __future__ import annotations

import concurrent.futures
import shutil
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from builders import build_claim_accepted, build_resources
from novalog.events import topics
from novalog.events.codec import encode
from novalog.events.types import InstanceSpawned
from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, assert_replay_identical, stack_settings, wait_until

# Roomy hosts: nothing here is meant to run out of capacity.
HOSTS = [("cn1", 8, 16384, 200), ("cn2", 8, 16384, 200), ("cn3", 8, 16384, 200)]
GARBAGE = b"\x00\x00\x00\x00\x07not avro at all"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = RunningStack(stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("stack"), HOSTS), [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def dead_letters(stack: RunningStack, topic: str) -> list:
    return [msg for msg, _ in stack.records(topics.dead_letter(topic))]


@pytest.mark.parametrize(
    "topic",
    [topics.INSTANCE_EVENTS, topics.HOST_EVENTS, topics.HOST_HEARTBEATS, topics.CATALOG_EVENTS, f"{topics.AGENT_COMMANDS}.cn1"],
)
def test_garbage_goes_to_the_dead_letter_topic_and_processing_goes_on(stack: RunningStack, topic: str) -> None:
    key = f"garbage-{topic}".encode()
    stack.produce_raw(stack.topic(topic), key, GARBAGE)

    def landed() -> list:
        return [m for m in dead_letters(stack, topic) if m.key() == key]

    letters = wait_until(landed, 20, f"the garbage on {topic} in its dead-letter topic")
    letter = letters[0]
    headers = {k: v.decode() for k, v in letter.headers()}
    assert letter.value() == GARBAGE
    assert headers["dlq.original.topic"] == stack.topic(topic)
    assert headers["dlq.error.class"] == "DecodeError"
    assert "schema id 7" in headers["dlq.error.message"]
    assert int(headers["dlq.original.offset"]) >= 0
    # The next good events on the same topics are still processed: a flavor
    # (catalog), a boot (instance, host and agent topics), heartbeats (hosts stay up).
    flavor = {"name": f"after-{topic}", "id": f"f-{topic}", "vcpus": 1, "ram": 512, "disk": 1}
    assert stack.client.ensure_flavor(flavor)["name"] == flavor["name"]
    server_id = stack.client.boot(f"after-{topic}", SMALL_FLAVOR["id"])
    assert stack.client.wait_settled([server_id], 30)[server_id]["status"] == "ACTIVE"
    time.sleep(2 * stack.settings.heartbeat_interval)
    assert {h["state"] for h in stack.client.hypervisors()} == {"up"}
    stack.client.delete(server_id)


def test_instance_events_garbage_is_dead_lettered_by_each_processor(stack: RunningStack) -> None:
    key = b"garbage-both"
    stack.produce_raw(stack.topic(topics.INSTANCE_EVENTS), key, GARBAGE)

    def processors() -> set[str]:
        letters = [m for m in dead_letters(stack, topics.INSTANCE_EVENTS) if m.key() == key]
        return {dict(m.headers())["dlq.processor"].decode() for m in letters}

    found = wait_until(lambda: len(processors()) == 2 and processors(), 20, "dead letters from the decision loop and the scheduler")
    assert any(p.endswith("-decisions") for p in found), found  # the instance table is folded by the decision loop
    assert any(p.startswith("novalog-scheduler") for p in found), found


def test_a_record_of_another_topics_type_is_dead_lettered_and_holds_no_claim(stack: RunningStack) -> None:
    # A claim decision written to host.events (a misrouted producer): it decodes, but the host table's fold
    # takes no ClaimAccepted. Were it counted, cn1 would hold 64 vCPUs for an instance nobody built.
    planted = build_claim_accepted("misplaced-claim", host="cn1", instance_id="instance-of-misplaced-claim",
                                   resources=build_resources(vcpus=64, memory_mb=1024, disk_gb=1))
    stack.produce_raw(stack.topic(topics.HOST_EVENTS), b"cn1", encode(planted))

    def landed() -> list:
        return [m for m in dead_letters(stack, topics.HOST_EVENTS) if m.key() == b"cn1"]

    headers = {k: v.decode() for k, v in wait_until(landed, 20, "the misplaced record in its dead-letter topic")[0].headers()}
    assert headers["dlq.error.class"] == "NotOnThisTopic" and "ClaimAccepted does not belong on" in headers["dlq.error.message"]
    assert {h["hypervisor_hostname"]: h["vcpus_used"] for h in stack.client.hypervisors()}["cn1"] < 64
    assert_log_holds(stack)


def test_projection_worker_killed_mid_run_recovers(stack: RunningStack) -> None:
    client = stack.client
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: client.boot(f"crash-{i}", SMALL_FLAVOR["id"]), range(8)))
    stack.stack.kill("projections")  # SIGKILL while the burst is in flight
    # While the worker is down no quota decision comes: the API answers 503 after a while, but the
    # requests are in the log, and the restarted worker carries them out.
    more = [client.http.post("/servers", json={"server": {"name": f"during-{i}", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "x"}}) for i in range(2)]
    assert {r.status_code for r in more} <= {202, 503}, [r.text for r in more]
    stack.stack.start("projections", "projections")
    during = wait_until(
        lambda: len(d := [s["id"] for s in client.http.get("/servers?name=^during-").json()["servers"]]) == 2 and d,
        90, "the creates made during the outage",
    )
    ids += [sid for sid in during if sid not in ids]
    settled = client.wait_settled(ids, 90)
    faults = {sid: s.get("fault") for sid, s in settled.items() if s["status"] != "ACTIVE"}
    assert {sid: s["status"] for sid, s in settled.items()} == {sid: "ACTIVE" for sid in ids}, (faults, stack.logs())

    # Nothing lost, nothing duplicated: each instance started exactly once,
    # and the hosts' claims are exactly the running servers.
    spawned = Counter(r.instance_id for _, r in stack.records(topics.INSTANCE_EVENTS) if isinstance(r, InstanceSpawned))
    assert {sid: spawned[sid] for sid in ids} == {sid: 1 for sid in ids}
    active = [s for s in client.http.get("/servers/detail").json()["servers"] if s["status"] == "ACTIVE"]
    wait_until(lambda: sum(h["running_vms"] for h in client.hypervisors()) == len(active), 20, "claims to match running servers")

    # Every table rebuilt by replaying the log equals, row for row, what the recovered worker serves.
    assert_replay_identical(stack)

    # Deleting after the restart gives every claim back (the host table recovered its claims).
    for sid in ids:
        client.delete(sid)
    wait_until(lambda: sum(h["running_vms"] for h in client.hypervisors()) == len(active) - len(ids), 30, "claims released")
    assert_replay_identical(stack)
    assert_log_holds(stack)


def test_decision_store_lost_is_rebuilt_from_the_state_topics(stack: RunningStack) -> None:
    """The deciding tables' store is a copy of their state topics: wiped, the worker reads them back and claims still count.

    A host row folded without the rows from before the wipe would hold only
    the new claims: the hypervisors would show fewer running servers than
    there are, and replay would differ from the live tables.
    """
    client = stack.client
    first = [client.boot(f"before-wipe-{i}", SMALL_FLAVOR["id"]) for i in range(3)]
    assert {s["status"] for s in client.wait_settled(first, 60).values()} == {"ACTIVE"}
    stack.stack.stop("projections")
    store = stack.settings.state_dir / "decisions" / stack.settings.topic_prefix
    assert store.is_dir(), f"no decision store at {store}"
    shutil.rmtree(store)
    stack.stack.start("projections", "projections")

    later = [client.boot(f"after-wipe-{i}", SMALL_FLAVOR["id"]) for i in range(3)]
    settled = client.wait_settled(later, 90)
    assert {s["status"] for s in settled.values()} == {"ACTIVE"}, stack.logs()
    wait_until(lambda: sum(h["running_vms"] for h in client.hypervisors()) == len(first) + len(later), 20,
               "every claim, from before the wipe and after, on the hosts")
    for sid in first + later:
        client.delete(sid)
    assert_replay_identical(stack)
    assert_log_holds(stack)
