"""Moves end to end: resize (confirm, revert), cold migration, a refused live migration, evacuation of a down host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from novalog.events import topics
from novalog.events.types import ClaimReleased, HostCapacityReported, InstanceDeleted, InstanceSpawned
from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, assert_replay_identical, stack_settings, wait_until

HOSTS = [("mv1", 4, 8192, 80), ("mv2", 4, 8192, 80), ("mv3", 4, 8192, 80)]
BIG_FLAVOR = {"name": "m1.medium", "id": "3", "vcpus": 2, "ram": 4096, "disk": 40}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("moves"), HOSTS, heartbeat_interval=1.0, service_down_time=2.0)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def post(stack: RunningStack, server_id: str, body: dict, token: str = "admin:admin"):
    return stack.client.http.post(f"/servers/{server_id}/action", json=body, headers={"X-Auth-Token": token})


def settle(stack: RunningStack, server_id: str, status: str, timeout: float = 30) -> dict:
    def reached() -> dict | None:
        server = stack.client.show(server_id)
        return server if server and server["status"] == status and server["OS-EXT-STS:task_state"] is None else None

    return wait_until(reached, timeout, f"{server_id} to settle in {status}")


def used(stack: RunningStack) -> dict[str, int]:
    """Claimed vCPUs per host (os-hypervisors, which counts the host table's claims)."""
    return {h["hypervisor_hostname"]: h["vcpus_used"] for h in stack.client.http.get("/os-hypervisors/detail").json()["hypervisors"]}


def boot(stack: RunningStack, name: str) -> tuple[str, str]:
    server_id = stack.client.boot(name, SMALL_FLAVOR["id"])
    server = settle(stack, server_id, "ACTIVE")
    return server_id, server["OS-EXT-SRV-ATTR:host"]


def released(stack: RunningStack, server_id: str, host: str) -> bool:
    return any(isinstance(r, ClaimReleased) and r.instance_id == server_id and r.host == host for _, r in stack.records(topics.HOST_EVENTS))


def test_resize_then_confirm_moves_to_the_new_flavor_and_frees_the_source(stack: RunningStack) -> None:
    stack.client.ensure_flavor(BIG_FLAVOR)
    server_id, source = boot(stack, "grow")
    before = used(stack)

    resp = post(stack, server_id, {"resize": {"flavorRef": BIG_FLAVOR["id"]}})
    assert resp.status_code == 202, resp.text
    resized = settle(stack, server_id, "VERIFY_RESIZE")
    dest = resized["OS-EXT-SRV-ATTR:host"]
    assert dest != source and resized["flavor"]["id"] == BIG_FLAVOR["id"] and resized["OS-EXT-STS:power_state"] == 1
    # Both claims held until the user decides.
    holding = used(stack)
    assert holding[source] == before[source] and holding[dest] == before[dest] + BIG_FLAVOR["vcpus"]
    assert post(stack, server_id, {"os-stop": None}).status_code == 409

    assert post(stack, server_id, {"confirmResize": None}).status_code == 204
    active = settle(stack, server_id, "ACTIVE")
    assert active["OS-EXT-SRV-ATTR:host"] == dest
    wait_until(lambda: used(stack)[source] == before[source] - SMALL_FLAVOR["vcpus"], 20, "the source claim to be released")
    deleted_on = [r.host for _, r in stack.records(topics.INSTANCE_EVENTS) if isinstance(r, InstanceDeleted) and r.instance_id == server_id]
    assert deleted_on == [source]  # the old guest, not the instance
    stack.client.delete(server_id)
    wait_until(lambda: stack.client.show(server_id) is None, 20, "the server to be gone")


def test_resize_then_revert_goes_back_to_the_source_and_frees_the_destination(stack: RunningStack) -> None:
    stack.client.ensure_flavor(BIG_FLAVOR)
    server_id, source = boot(stack, "undo")
    assert post(stack, server_id, {"resize": {"flavorRef": BIG_FLAVOR["id"]}}).status_code == 202
    dest = settle(stack, server_id, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"]

    assert post(stack, server_id, {"revertResize": None}).status_code == 202
    back = settle(stack, server_id, "ACTIVE")
    assert (back["OS-EXT-SRV-ATTR:host"], back["flavor"]["id"], back["OS-EXT-STS:power_state"]) == (source, SMALL_FLAVOR["id"], 1)
    wait_until(lambda: released(stack, server_id, dest), 20, "the destination claim to be released")
    # Still a working instance on its old host.
    assert post(stack, server_id, {"os-stop": None}).status_code == 202
    settle(stack, server_id, "SHUTOFF")
    stack.client.delete(server_id)


def test_cold_migration_of_a_stopped_server_keeps_it_stopped(stack: RunningStack) -> None:
    server_id, source = boot(stack, "cold")
    assert post(stack, server_id, {"os-stop": None}).status_code == 202
    settle(stack, server_id, "SHUTOFF")
    member = post(stack, server_id, {"migrate": None}, token="alice:demo")
    assert member.status_code in (403, 404)  # not even visible to another project

    assert post(stack, server_id, {"migrate": None}).status_code == 202
    moved = settle(stack, server_id, "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:host"] != source and moved["OS-EXT-STS:power_state"] == 4
    assert post(stack, server_id, {"confirmResize": None}).status_code == 204
    settle(stack, server_id, "SHUTOFF")
    # Booted once, on the source: the destination defined its guest off and never started it.
    started_on = [r.host for _, r in stack.records(topics.INSTANCE_EVENTS) if isinstance(r, InstanceSpawned) and r.instance_id == server_id]
    assert started_on == [source]
    stack.client.delete(server_id)


def test_move_requests_nova_refuses(stack: RunningStack) -> None:
    server_id, source = boot(stack, "refusals")
    same = post(stack, server_id, {"resize": {"flavorRef": SMALL_FLAVOR["id"]}})
    assert same.status_code == 400 and same.json()["badRequest"]["message"] == "When resizing, instances must change flavor!"
    assert post(stack, server_id, {"resize": {"flavorRef": "nope"}}).status_code == 400
    assert post(stack, server_id, {"resize": {}}).status_code == 400
    confirm = post(stack, server_id, {"confirmResize": None})
    assert confirm.status_code == 409
    assert confirm.json()["conflictingRequest"]["message"] == f"Cannot 'confirmResize' instance {server_id} while it is in vm_state active"
    evacuate = post(stack, server_id, {"evacuate": {}})
    assert evacuate.status_code == 400 and evacuate.json()["badRequest"]["message"] == f"Compute service of {source} is still in use."
    assert post(stack, server_id, {"os-migrateLive": {"host": "nowhere", "block_migration": False}}).status_code == 400
    assert post(stack, server_id, {"os-migrateLive": {"host": source, "block_migration": False}}).status_code == 400
    assert post(stack, server_id, {"migrate": None}, token="demo:" + "admin").status_code == 403

    # libvirt's test hypervisor cannot live-migrate: refused by the source's agent, the guest untouched.
    assert post(stack, server_id, {"os-migrateLive": {"host": None, "block_migration": "auto"}}).status_code == 202
    back = wait_until(
        lambda: (s := stack.client.show(server_id)) and s["OS-EXT-STS:task_state"] is None and s, 20, "the live migration to end"
    )
    assert (back["status"], back["OS-EXT-SRV-ATTR:host"], back["OS-EXT-STS:power_state"]) == ("ACTIVE", source, 1)
    row = stack.records(topics.STATE_INSTANCES)
    (last,) = [r for k, r in row if r is not None and r.instance_id == server_id][-1:]
    assert last.migration.status == "error" and "cannot live-migrate" in last.fault.message
    stack.client.delete(server_id)


def test_evacuate_rebuilds_a_down_hosts_server_elsewhere_and_the_host_cleans_up_when_back(stack: RunningStack) -> None:
    server_id, source = boot(stack, "rescue-me")
    stack.stack.kill(f"agent-{source}")
    wait_until(
        lambda: {h["hypervisor_hostname"]: h["state"] for h in stack.client.hypervisors()}[source] == "down",
        2 * stack.settings.heartbeat_interval + 5,
        f"{source} to be down",
    )

    resp = post(stack, server_id, {"evacuate": {"onSharedStorage": False}})
    assert resp.status_code == 200 and "adminPass" in resp.json(), resp.text
    rebuilt = settle(stack, server_id, "ACTIVE")
    assert rebuilt["OS-EXT-SRV-ATTR:host"] != source and rebuilt["OS-EXT-STS:power_state"] == 1

    # Back up: the source's agent reads the delete order from its log and releases the old claim.
    stack.stack.start(f"agent-{source}", "agent", source)
    wait_until(lambda: released(stack, server_id, source), 30, "the evacuated host to release its claim")
    assert settle(stack, server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == rebuilt["OS-EXT-SRV-ATTR:host"]
    stack.client.delete(server_id)
    wait_until(lambda: stack.client.show(server_id) is None, 20, "the server to be gone")
    # The log judges the whole module's moves, the evacuated host's late cleanup among them.
    wait_until(lambda: sum(used(stack).values()) == 0, 20, "every claim to be released")
    assert_replay_identical(stack)
    assert_log_holds(stack)


@pytest.fixture(scope="module")
def lone_host(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One host, and Nova's allow_resize_to_same_host: a resize can only stay where it is."""
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("lone"), [("solo", 8, 16384, 160)], allow_resize_to_same_host=True)
    running = RunningStack(settings, ["solo"])
    try:
        yield running.start()
    finally:
        running.stop()


def test_a_resize_on_the_same_host_holds_both_claims_then_revert_restores_the_old_sizes(lone_host: RunningStack) -> None:
    stack = lone_host
    stack.client.ensure_flavor(BIG_FLAVOR)
    server_id, host = boot(stack, "in-place")
    assert used(stack)[host] == SMALL_FLAVOR["vcpus"]

    assert post(stack, server_id, {"resize": {"flavorRef": BIG_FLAVOR["id"]}}).status_code == 202
    resized = settle(stack, server_id, "VERIFY_RESIZE")
    assert (resized["OS-EXT-SRV-ATTR:host"], resized["OS-EXT-STS:power_state"]) == (host, 1)
    assert used(stack)[host] == SMALL_FLAVOR["vcpus"] + BIG_FLAVOR["vcpus"]  # Nova counts both during a same-host resize

    assert post(stack, server_id, {"revertResize": None}).status_code == 202
    back = settle(stack, server_id, "ACTIVE")
    assert (back["flavor"]["id"], back["OS-EXT-STS:power_state"]) == (SMALL_FLAVOR["id"], 1)
    wait_until(lambda: used(stack)[host] == SMALL_FLAVOR["vcpus"], 20, "the new flavor's claim to be released")

    # And once more, confirmed this time: the old claim goes, the guest keeps running with the new sizes.
    assert post(stack, server_id, {"resize": {"flavorRef": BIG_FLAVOR["id"]}}).status_code == 202
    settle(stack, server_id, "VERIFY_RESIZE")
    assert post(stack, server_id, {"confirmResize": None}).status_code == 204
    assert settle(stack, server_id, "ACTIVE")["flavor"]["id"] == BIG_FLAVOR["id"]
    wait_until(lambda: used(stack)[host] == BIG_FLAVOR["vcpus"], 20, "the old flavor's claim to be released")
    # The hypervisor's own account (the agent's capacity report lists the guests' sizes).
    wait_until(lambda: reported_memory_in_use(stack, host) == BIG_FLAVOR["ram"], 20, "the guest to run with the new flavor's memory")
    stack.client.delete(server_id)


def reported_memory_in_use(stack: RunningStack, host: str) -> int | None:
    rows = [r for _, r in stack.records(topics.HOST_EVENTS) if isinstance(r, HostCapacityReported) and r.host == host]
    return rows[-1].memory_mb_in_use if rows else None
