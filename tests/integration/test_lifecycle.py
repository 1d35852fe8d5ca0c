"""Power actions end to end: API -> event -> the host's agent -> libvirt -> lifecycle events -> Nova's status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stack_harness import SMALL_FLAVOR, RunningStack, act, assert_log_holds, assert_replay_identical, stack_settings, wait_until

HOSTS = [("cn1", 4, 8192, 80), ("cn2", 4, 8192, 80)]


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # Down within two heartbeat intervals, as Nova's report_interval / service_down_time.
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("lifecycle"), HOSTS, heartbeat_interval=1.0, service_down_time=2.0)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()




def test_stop_start_reboot_pause_suspend_and_their_conflicts(stack: RunningStack) -> None:
    server_id = stack.client.boot("life", SMALL_FLAVOR["id"])
    assert stack.client.wait_settled([server_id], 30)[server_id]["status"] == "ACTIVE"
    http = stack.client.http

    stopped = act(stack, server_id, {"os-stop": None}, "SHUTOFF", 4)
    assert stopped["OS-EXT-STS:vm_state"] == "stopped"
    again = http.post(f"/servers/{server_id}/action", json={"os-stop": None})
    assert again.status_code == 409
    assert again.json() == {"conflictingRequest": {"code": 409, "message": f"Cannot 'os-stop' instance {server_id} while it is in vm_state stopped"}}

    act(stack, server_id, {"os-start": None}, "ACTIVE", 1)
    act(stack, server_id, {"reboot": {"type": "HARD"}}, "ACTIVE", 1)
    act(stack, server_id, {"reboot": {"type": "SOFT"}}, "ACTIVE", 1)
    act(stack, server_id, {"pause": None}, "PAUSED", 3)
    act(stack, server_id, {"unpause": None}, "ACTIVE", 1)
    act(stack, server_id, {"suspend": None}, "SUSPENDED", 7)
    act(stack, server_id, {"resume": None}, "ACTIVE", 1)

    # The table's history: every action went straight from its task to its end, never through a
    # state it does not lead to (a hard reboot's STOPPED must not show as SHUTOFF on the way).
    from novalog.events import topics

    rows = [r for _, r in stack.records(topics.STATE_INSTANCES) if r is not None and r.instance_id == server_id]
    assert {"rebooting", "rebooting_hard"} <= {r.task_state for r in rows}
    for before, after in zip(rows, rows[1:]):
        if before.task_state in ("rebooting", "rebooting_hard") and after.task_state is None:
            assert after.vm_state == "active", [(r.vm_state, r.task_state, r.power_state) for r in rows]

    bad = http.post(f"/servers/{server_id}/action", json={"fly": None})
    assert bad.status_code == 400 and "badRequest" in bad.json()
    missing = http.post("/servers/00000000-0000-0000-0000-000000000000/action", json={"os-stop": None})
    assert missing.status_code == 404
    stack.client.delete(server_id)
    wait_until(lambda: stack.client.show(server_id) is None, 20, "the server to be gone")


def test_an_update_renames_and_sets_access_ips_and_the_log_replays_to_it(stack: RunningStack) -> None:
    """PUT /servers/{id} is one InstanceUpdated the instance table folds: the answer, the next read and a replay agree."""
    from novalog.events import topics
    from novalog.events.types import InstanceUpdated

    http = stack.client.http
    made = http.post("/servers", json={"server": {"name": "before", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros", "accessIPv4": "192.0.2.1"}})
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    assert stack.client.wait_settled([server_id], 30)[server_id]["status"] == "ACTIVE"
    resp = http.put(f"/servers/{server_id}", json={"server": {"name": "after", "accessIPv6": "2001:DB8::5"}})
    assert resp.status_code == 200, resp.text
    answered = resp.json()["server"]
    assert (answered["name"], answered["accessIPv4"], answered["accessIPv6"], answered["status"]) == ("after", "192.0.2.1", "2001:db8::5", "ACTIVE")
    shown = stack.client.show(server_id)
    assert (shown["name"], shown["accessIPv4"], shown["accessIPv6"]) == ("after", "192.0.2.1", "2001:db8::5")
    updates = [r for _, r in stack.records(topics.INSTANCE_EVENTS) if isinstance(r, InstanceUpdated) and r.instance_id == server_id]
    assert [(u.name, u.access_ip_v4, u.access_ip_v6) for u in updates] == [("after", None, "2001:db8::5")]
    bad = http.put(f"/servers/{server_id}", json={"server": {"accessIPv4": "1.2.3"}})
    assert bad.status_code == 400 and bad.json()["badRequest"]["message"].endswith("'1.2.3' is not a 'ipv4'")
    assert_replay_identical(stack)
    stack.client.delete(server_id)
    wait_until(lambda: stack.client.show(server_id) is None, 20, "the server to be gone")
    assert_log_holds(stack)


def test_instance_names_are_novas_template_over_the_builds_log_position(stack: RunningStack) -> None:
    """instance-%08x of (offset * 256 + partition) of the build request: the partition the broker really gave it, unique, replayed alike."""
    from novalog.events import topics
    from novalog.events.instance_names import PARTITION_SPACE, partition_of
    from novalog.events.types import InstanceBuildRequested, InstanceSpawned

    ids = [stack.client.boot(f"named-{i}", SMALL_FLAVOR["id"]) for i in range(4)]
    settled = stack.client.wait_settled(ids, 30)
    names = {i: settled[i]["OS-EXT-SRV-ATTR:instance_name"] for i in ids}
    builds, guests = {}, {}
    for msg, record in stack.records(topics.INSTANCE_EVENTS):
        if isinstance(record, InstanceBuildRequested) and record.instance_id in names:
            builds.setdefault(record.instance_id, (msg.partition(), msg.offset()))
        if isinstance(record, InstanceSpawned) and record.instance_id in names:
            guests[record.instance_id] = record.domain_name
    assert {i: partition_of(i, stack.settings.partitions) for i in ids} == {i: builds[i][0] for i in ids}
    assert names == {i: f"instance-{builds[i][1] * PARTITION_SPACE + builds[i][0]:08x}" for i in ids}
    assert len(set(names.values())) == len(ids)
    # The agents named each guest so on the hypervisor (reported with its start).
    assert guests == names
    assert_replay_identical(stack)
    for server_id in ids:
        stack.client.delete(server_id)


def states(stack: RunningStack) -> dict[str, str]:
    return {h["hypervisor_hostname"]: h["state"] for h in stack.client.hypervisors()}


def test_a_killed_agent_is_seen_down_skipped_then_reconciled_when_it_returns(stack: RunningStack) -> None:
    client = stack.client
    server_id = client.boot("on-cn1", SMALL_FLAVOR["id"])
    server = client.wait_settled([server_id], 30)[server_id]
    host = server["OS-EXT-SRV-ATTR:host"]
    other = "cn2" if host == "cn1" else "cn1"
    stack.stack.kill(f"agent-{host}")  # SIGKILL: the test driver's guests die with it
    # Down within two heartbeat intervals (2 s) plus the table's own lag.
    wait_until(lambda: states(stack)[host] == "down", 2 * stack.settings.heartbeat_interval + 3, f"{host} to be down")
    # ComputeFilter skips the down host: a new server lands on the other one.
    elsewhere = client.boot("while-down", SMALL_FLAVOR["id"])
    assert client.wait_settled([elsewhere], 30)[elsewhere]["OS-EXT-SRV-ATTR:host"] == other

    stack.stack.start(f"agent-{host}", "agent", host)
    wait_until(lambda: states(stack)[host] == "up", 20, f"{host} to be up again")
    # The restarted agent read its own command log: the guest it ran is gone, so the
    # instance is shown SHUTOFF (never booted again behind the user's back) ...
    lost = wait_until(lambda: (s := client.show(server_id)) and s["status"] == "SHUTOFF" and s, 20, "the lost guest to show SHUTOFF")
    assert lost["OS-EXT-STS:power_state"] == 0
    # ... and a start boots it again, once.
    act(stack, server_id, {"os-start": None}, "ACTIVE", 1)
    for sid in (server_id, elsewhere):
        client.delete(sid)
    wait_until(lambda: all(client.show(sid) is None for sid in (server_id, elsewhere)), 20, "the servers to be gone")
    wait_until(lambda: sum(h["running_vms"] for h in client.hypervisors()) == 0, 20, "every claim to be released")
    assert_replay_identical(stack)
    assert_log_holds(stack)


def test_os_services_disable_keeps_new_servers_off_the_host(stack: RunningStack) -> None:
    http = stack.client.http
    services = {s["host"]: s for s in http.get("/os-services").json()["services"]}
    assert set(services) == {"cn1", "cn2"} and {s["state"] for s in services.values()} == {"up"}
    resp = http.put("/os-services/disable-log-reason", json={"host": "cn1", "binary": "nova-compute", "disabled_reason": "maintenance"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"service": {"host": "cn1", "binary": "nova-compute", "status": "disabled", "disabled_reason": "maintenance"}}
    shown = {s["host"]: s for s in http.get("/os-services").json()["services"]}["cn1"]
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "maintenance")
    ids = [stack.client.boot(f"not-on-cn1-{i}", SMALL_FLAVOR["id"]) for i in range(3)]
    settled = stack.client.wait_settled(ids, 30)
    assert {s["OS-EXT-SRV-ATTR:host"] for s in settled.values()} == {"cn2"}
    assert http.put("/os-services/enable", json={"host": "cn1", "binary": "nova-compute"}).json()["service"]["status"] == "enabled"
    assert http.put("/os-services/enable", json={"host": "nowhere", "binary": "nova-compute"}).status_code == 404
    member = stack.client.http.get("/os-services", headers={"X-Auth-Token": "alice:demo"})
    assert member.status_code == 403 and "forbidden" in member.json()
    for sid in ids:
        stack.client.delete(sid)


def test_flavor_extra_specs_reach_the_scheduler_and_flavors_delete(stack: RunningStack) -> None:
    from novalog.events import topics
    from novalog.events.types import PlacementProposed

    http = stack.client.http
    flavor = {"name": "chancy", "id": "chancy", "vcpus": 1, "ram": 256, "disk": 1}
    stack.client.ensure_flavor(flavor)
    resp = http.post("/flavors/chancy/os-extra_specs", json={"extra_specs": {"scheduler:driver": "chance_scheduler", "hw:x": 1}})
    assert resp.status_code == 200 and resp.json() == {"extra_specs": {"scheduler:driver": "chance_scheduler", "hw:x": "1"}}
    assert http.put("/flavors/chancy/os-extra_specs/hw:x", json={"hw:x": "2"}).json() == {"hw:x": "2"}
    assert http.get("/flavors/chancy/os-extra_specs/hw:x").json() == {"hw:x": "2"}
    assert http.delete("/flavors/chancy/os-extra_specs/hw:x").status_code == 200
    assert http.get("/flavors/chancy/os-extra_specs/hw:x").status_code == 404
    assert http.put("/flavors/chancy/os-extra_specs/a", json={"b": "1"}).status_code == 400

    server_id = stack.client.boot("by-chance", "chancy")
    assert stack.client.wait_settled([server_id], 30)[server_id]["status"] == "ACTIVE"
    proposals = [r for _, r in stack.records(topics.HOST_EVENTS) if isinstance(r, PlacementProposed) and r.instance_id == server_id]
    assert proposals and proposals[0].spec.flavor.extra_specs == {"scheduler:driver": "chance_scheduler"}
    assert proposals[0].trace.filters[0].name.startswith("ChanceScheduler")
    stack.client.delete(server_id)

    assert http.delete("/flavors/chancy").status_code == 202
    assert http.get("/flavors/chancy").status_code == 404


@pytest.fixture(scope="module")
def failing_host(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One host on the fake hypervisor, whose spawns of the image "broken" fail."""
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("failing"), [("fk1", 4, 8192, 80)])
    settings.hosts_file.write_text(
        '[[hosts]]\nname = "fk1"\nvcpus = 4\nmemory_mb = 8192\ndisk_gb = 80\ndriver = "fake"\nfail_spawn_images = ["broken"]\n'
    )
    running = RunningStack(settings, ["fk1"])
    try:
        yield running.start()
    finally:
        running.stop()


def test_a_driver_error_during_spawn_gives_error_with_a_fault_and_frees_the_claim(failing_host: RunningStack) -> None:
    client = failing_host.client
    server_id = client.boot("doomed", SMALL_FLAVOR["id"], image="broken")
    server = wait_until(lambda: (s := client.show(server_id)) and s["status"] == "ERROR" and s, 30, "the build to fail")
    assert server["fault"]["code"] == 500 and f"Build of instance {server_id} aborted" in server["fault"]["message"]
    assert "told to fail" in server["fault"]["message"]
    hypervisor = client.http.get("/os-hypervisors/detail").json()["hypervisors"][0]
    wait_until(lambda: client.http.get("/os-hypervisors/detail").json()["hypervisors"][0]["vcpus_used"] == 0, 20, "the claim to be freed")
    assert hypervisor["hypervisor_hostname"] == "fk1"
    # The agent keeps serving: the next build of a good image runs.
    fine = client.boot("fine", SMALL_FLAVOR["id"])
    assert client.wait_settled([fine], 30)[fine]["status"] == "ACTIVE"
    client.delete(server_id)
    client.delete(fine)
    wait_until(lambda: client.show(server_id) is None, 20, "the failed server to be deleted")
    wait_until(lambda: client.show(fine) is None and client.hypervisors()[0]["running_vms"] == 0, 20, "every claim to be released")
    assert_log_holds(failing_host)
