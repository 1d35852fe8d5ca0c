"""The walking skeleton end to end: real broker, Faust projections, scheduler, API, libvirt test-driver hosts."""

from __future__ import annotations

import concurrent.futures
from collections import defaultdict
from collections.abc import Iterator

import pytest

from novalog.events import topics
from novalog.events.types import ClaimAccepted, ClaimReleased, HostCapacityReported
from novalog.projections import host_state
from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, stack_settings, wait_until

# Three small hosts: 2 vCPUs x 4.0, 4096 MB x 1.0, 40 GB x 1.0 each, so RAM
# binds first: two 2048 MB servers per host, six in all.
HOSTS = [("cn1", 2, 4096, 40), ("cn2", 2, 4096, 40), ("cn3", 2, 4096, 40)]


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = RunningStack(stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("stack"), HOSTS), [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def settle(stack: RunningStack, ids: list[str], timeout: float = 60) -> dict[str, dict]:
    settled = stack.client.wait_settled(ids, timeout)
    assert len(settled) == len(ids), f"not settled: {set(ids) - set(settled)}\n{stack.logs()}"
    return settled


def test_versions_and_faults(stack: RunningStack) -> None:
    http = stack.client.http
    assert http.get("/").json()["version"]["id"] == "v2.1"
    missing = http.get("/servers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == {"itemNotFound": {"code": 404, "message": "Instance 00000000-0000-0000-0000-000000000000 could not be found."}}
    bad = http.post("/servers", json={"server": {"name": "x"}})
    assert bad.status_code == 400 and set(bad.json()) == {"badRequest"}
    garbage = http.post("/servers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and "badRequest" in garbage.json()
    assert missing.headers["x-openstack-request-id"].startswith("req-")


def test_boot_reaches_active_with_a_host(stack: RunningStack) -> None:
    server_id = stack.client.boot("one", SMALL_FLAVOR["id"])
    # Read-your-writes: the very next GET finds the server.
    first = stack.client.show(server_id)
    assert first is not None and first["status"] in ("BUILD", "ACTIVE")
    server = settle(stack, [server_id], timeout=30)[server_id]
    assert server["status"] == "ACTIVE", server
    assert server["OS-EXT-SRV-ATTR:host"] in {h[0] for h in HOSTS}
    assert server["OS-EXT-STS:power_state"] == 1
    stack.client.delete(server_id)
    # As Nova: 204 at once, task_state deleting on the next read (unless the
    # agent was already done by then), then 404.
    after = stack.client.show(server_id)
    assert after is None or after["OS-EXT-STS:task_state"] == "deleting", after
    wait_until(lambda: stack.client.show(server_id) is None, 15, "the deleted server to be gone")


def test_delete_releases_capacity(stack: RunningStack) -> None:
    def used() -> int:
        return sum(h["memory_mb_used"] for h in stack.client.hypervisors())

    # The previous test's server may still be giving its claim back: start from empty hosts.
    wait_until(lambda: used() == 0, 15, "the hosts to be empty")
    before = used()
    server_id = stack.client.boot("short-lived", SMALL_FLAVOR["id"])
    assert settle(stack, [server_id])[server_id]["status"] == "ACTIVE"
    wait_until(lambda: used() == before + SMALL_FLAVOR["ram"], 15, "the claim to show in the hypervisor list")
    stack.client.delete(server_id)
    wait_until(lambda: used() == before, 15, "the claim to be released in the hypervisor list")


def test_twenty_at_once_never_overcommit(stack: RunningStack) -> None:
    wait_until(lambda: sum(h["running_vms"] for h in stack.client.hypervisors()) == 0, 15, "the hosts to be empty")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(lambda i: stack.client.boot(f"burst-{i}", SMALL_FLAVOR["id"]), range(20)))
    settled = settle(stack, ids, timeout=90)
    statuses = defaultdict(list)
    for sid, server in settled.items():
        statuses[server["status"]].append(server)
    assert set(statuses) <= {"ACTIVE", "ERROR"}
    # 3 hosts x floor(4096 / 2048) = 6 fit.
    assert len(statuses["ACTIVE"]) == 6, {k: len(v) for k, v in statuses.items()}
    for server in statuses["ERROR"]:
        assert server["fault"]["message"].startswith("No valid host was found."), server["fault"]
        assert server["OS-EXT-SRV-ATTR:host"] is None
    audit_claims(stack)
    for sid in ids:
        stack.client.delete(sid)
    # The twenty deletes are a burst too: judged once every claim is back.
    wait_until(lambda: sum(h["running_vms"] for h in stack.client.hypervisors()) == 0, 30, "the hosts to be empty")
    wait_until(lambda: all(stack.client.show(sid) is None for sid in ids), 30, "the servers to be gone")
    assert_log_holds(stack)


def audit_claims(stack: RunningStack) -> None:
    """Read the log back: accepted claims on each host never exceed its capacity x ratio."""
    capacity: dict[str, HostCapacityReported] = {}
    released: set[str] = set()
    for _, record in stack.records(topics.HOST_EVENTS):
        if isinstance(record, HostCapacityReported):
            capacity[record.host] = record
        elif isinstance(record, ClaimReleased):
            released.add(record.claim_id)
    # Claim ids are unique, so what is held now is what was accepted and not released.
    accepted: dict[str, dict[str, ClaimAccepted]] = defaultdict(dict)
    for _, record in stack.records(topics.INSTANCE_EVENTS):
        if isinstance(record, ClaimAccepted) and record.claim_id not in released:
            accepted[record.host][record.claim_id] = record
    assert accepted, "no claim was accepted at all"
    for host, claims in accepted.items():
        cap = capacity[host]
        ram = sum(c.resources.memory_mb for c in claims.values())
        cpus = sum(c.resources.vcpus for c in claims.values())
        assert ram <= cap.memory_mb * cap.ram_allocation_ratio - cap.reserved_memory_mb, (host, ram)
        assert cpus <= cap.vcpus * cap.cpu_allocation_ratio, (host, cpus)
    # And the single writer's own fold, replayed from host.events, never goes over either.
    states: dict[str, object] = {}
    for _, record in stack.records(topics.HOST_EVENTS):
        if record is None:
            continue
        state = host_state.apply(states.get(record.host), record)
        used = sum(c.memory_mb for c in state.claims)
        assert used <= state.memory_mb * state.ram_allocation_ratio - state.reserved_memory_mb, (record.host, used)
        states[record.host] = state


def test_multi_create_is_all_or_nothing(stack: RunningStack) -> None:
    http = stack.client.http

    def created(resp) -> list[str]:
        assert resp.status_code == 202, resp.text
        rid = resp.json()["server"]["id"]
        name = stack.client.show(rid)["name"].rsplit("-", 1)[0]
        return [s["id"] for s in http.get("/servers/detail").json()["servers"] if s["name"].startswith(f"{name}-")]

    wait_until(lambda: sum(h["running_vms"] for h in stack.client.hypervisors()) == 0, 30, "the hosts to be empty")
    # Two fit (6 places in all): both ACTIVE, named pair-1 and pair-2.
    pair = created(http.post("/servers", json={"server": {"name": "pair", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "x", "min_count": 2, "max_count": 2}}))
    settled = settle(stack, pair)
    assert sorted(s["name"] for s in settled.values()) == ["pair-1", "pair-2"]
    assert {s["status"] for s in settled.values()} == {"ACTIVE"}
    # Five more do not fit in the four places left: every one of them ends ERROR, none is placed.
    many = created(http.post("/servers", json={"server": {"name": "many", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "x", "min_count": 5, "max_count": 5}}))
    settled = settle(stack, many)
    assert len(settled) == 5 and {s["status"] for s in settled.values()} == {"ERROR"}
    assert all("Only 4 of the 5 instances" in s["fault"]["message"] for s in settled.values())
    bad = http.post("/servers", json={"server": {"name": "x", "flavorRef": SMALL_FLAVOR["id"], "min_count": 3, "max_count": 2}})
    assert bad.status_code == 400 and "badRequest" in bad.json()
    for sid in pair + many:
        stack.client.delete(sid)


def test_schedule_explain_on_the_live_host_table(stack: RunningStack, tmp_path) -> None:
    import json
    import subprocess
    import sys

    from novalog.stack import settings_env

    request = tmp_path / "request.json"
    wait_until(lambda: sum(h["running_vms"] for h in stack.client.hypervisors()) == 0, 30, "the hosts to be empty")
    request.write_text(json.dumps({"project_id": "p", "flavor": {"name": "big", "vcpus": 1, "memory_mb": 3072, "root_gb": 1}}))
    run = subprocess.run(
        [sys.executable, "-m", "novalog", "--log-level", "warning", "schedule", "--explain", "--request", str(request), "--json"],
        env=settings_env(stack.settings), capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert {h["host"] for h in result["hosts"]} == {"cn1", "cn2", "cn3"}
    # Each host has 4096 MB; whatever runs there now, the verdicts are RamFilter's arithmetic on the live table.
    from novalog.scheduler.options import SchedulerOptions

    assert all(set(h["filters"]) == set(SchedulerOptions().enabled_filters) for h in result["hosts"])
    assert result["selected"] in {"cn1", "cn2", "cn3"}, result
