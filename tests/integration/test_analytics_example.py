"""examples/analytics/utilisation.py against a running stack: its report is what the compute API says.

The example runs as its users run it, a script in its own interpreter that
reads the state topics through the stack's Schema Registry endpoint. Per
host its claims are os-hypervisors' used figures and its capacity the
inventory times the allocation ratios; per project its sums are those of the
flavors of the project's servers, as an admin lists them.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from novalog.demo import ComputeClient
from stack_harness import SMALL_FLAVOR, RunningStack, stack_settings, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "analytics" / "utilisation.py"
HOSTS = [("ua1", 4, 8192, 80), ("ua2", 4, 8192, 80)]  # no reserved resources
TINY_FLAVOR = {"name": "m1.tiny", "id": "1", "vcpus": 1, "ram": 512, "disk": 1}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("analytics"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS], schema_registry=True)
    try:
        running.start()
        running.client.ensure_flavor(TINY_FLAVOR)
        yield running
    finally:
        running.stop()


def boot(stack: RunningStack, token: str, *flavors: str) -> list[str]:
    client = ComputeClient(stack.stack.api_url, token)
    ids = [client.boot(f"u-{i}", flavor) for i, flavor in enumerate(flavors)]
    settled = client.wait_settled(ids, 60)
    assert [settled.get(i, {}).get("status") for i in ids] == ["ACTIVE"] * len(ids), stack.logs()
    return ids


@pytest.fixture(scope="module")
def servers(stack: RunningStack) -> dict[str, list[str]]:
    """Project a: two small and a tiny server, one small deleted again; project b: a tiny one."""
    ids = {"proj-a": boot(stack, "alice:proj-a", SMALL_FLAVOR["id"], SMALL_FLAVOR["id"], TINY_FLAVOR["id"]),
           "proj-b": boot(stack, "bob:proj-b", TINY_FLAVOR["id"])}
    stack.client.delete(ids["proj-a"][0])
    wait_until(lambda: stack.client.show(ids["proj-a"][0]) is None, 30, "the deleted server to be gone")
    return ids


def api_report(stack: RunningStack) -> dict[str, Any]:
    """The report as the compute API gives it: os-hypervisors, and the servers of every project with their flavors."""
    s = stack.settings
    hosts = {
        h["service"]["host"]: {
            "instances": h["running_vms"],
            "vcpus": {"claimed": h["vcpus_used"], "capacity": h["vcpus"] * s.cpu_allocation_ratio},
            "memory_mb": {"claimed": h["memory_mb_used"], "capacity": h["memory_mb"] * s.ram_allocation_ratio},
            "disk_gb": {"claimed": h["local_gb_used"], "capacity": h["local_gb"] * s.disk_allocation_ratio},
        }
        for h in stack.client.hypervisors()
    }
    flavors = {f["id"]: f for f in stack.client.http.get("/flavors/detail").json()["flavors"]}
    projects: dict[str, dict[str, int]] = {}
    for server in stack.client.http.get("/servers/detail", params={"all_tenants": "1"}).json()["servers"]:
        flavor = flavors[server["flavor"]["id"]]
        line = projects.setdefault(server["tenant_id"], {"instances": 0, "vcpus": 0, "memory_mb": 0, "disk_gb": 0})
        line["instances"] += 1
        line["vcpus"] += flavor["vcpus"]
        line["memory_mb"] += flavor["ram"]
        line["disk_gb"] += flavor["disk"]
    return {"hosts": dict(sorted(hosts.items())), "projects": dict(sorted(projects.items()))}


def example_args(stack: RunningStack) -> list[str]:
    return [sys.executable, str(EXAMPLE), "--bootstrap", stack.settings.kafka_bootstrap,
            "--registry", stack.stack.schema_registry_url, "--prefix", stack.settings.topic_prefix, "--json"]


def run_once(stack: RunningStack) -> dict[str, Any]:
    done = subprocess.run([*example_args(stack), "--once"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_report_is_what_the_api_says_per_host_and_per_project(stack: RunningStack, servers) -> None:
    deadline = time.monotonic() + 60
    ours, api = run_once(stack), api_report(stack)
    while ours != api and time.monotonic() < deadline:  # a claim release may still be on its way to both
        time.sleep(0.5)
        ours, api = run_once(stack), api_report(stack)

    assert ours == api
    # two small (one deleted) and a tiny in project a: 1 + 1 vCPU, 2048 + 512 MB, 20 + 1 GB
    assert ours["projects"] == {
        "proj-a": {"instances": 2, "vcpus": 2, "memory_mb": 2560, "disk_gb": 21},
        "proj-b": {"instances": 1, "vcpus": 1, "memory_mb": 512, "disk_gb": 1},
    }
    # three servers on two hosts of 4 vCPUs x 4.0: three claimed of 32
    assert sum(h["vcpus"]["claimed"] for h in ours["hosts"].values()) == 3
    assert {h["vcpus"]["capacity"] for h in ours["hosts"].values()} == {16.0}


def test_following_the_topics_the_report_changes_with_the_cloud(stack: RunningStack, servers) -> None:
    proc = subprocess.Popen([*example_args(stack), "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = json.loads(lines.get(timeout=60))
        before = first["projects"]["proj-b"]["instances"]

        boot(stack, "bob:proj-b", SMALL_FLAVOR["id"])
        wanted = api_report(stack)["projects"]["proj-b"]
        assert wanted["instances"] == before + 1

        def reported() -> bool:
            try:
                return json.loads(lines.get(timeout=1))["projects"]["proj-b"] == wanted
            except queue.Empty:
                return False

        def running() -> None:
            assert proc.poll() is None, proc.stderr.read()

        wait_until(reported, 60, f"a report with project b at {wanted}", check=running)
    finally:
        proc.terminate()
        proc.wait(10)
