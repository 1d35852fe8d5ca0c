"""Server metadata, lock/unlock and the console through the `openstack` CLI, on a keystone stack of libvirt test-driver hosts.

The CLI finds the compute API through the token's catalog (clouds.yaml, as
tests/integration/test_identity.py); its commands go through the real API,
Kafka, the instance table and the host's agent, whose test-driver guest
answers the console ask with the fixed FAKE_CONSOLE (events/console.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from identity_harness import ADMIN_PASSWORD, Identity, keystone_stack
from novalog.demo import ComputeClient
from novalog.events.console import FAKE_CONSOLE
from stack_harness import SMALL_FLAVOR, wait_until

HOSTS = [("sfc1", 4, 8192, 80)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def identity(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    with keystone_stack(kafka_bootstrap, tmp_path_factory.mktemp("server-features"), HOSTS) as env:
        yield env


def openstack(identity: Identity, *args: str, cloud: str = "novalog") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}
    return subprocess.run([str(BIN / "openstack"), "--os-cloud", cloud, *args], env=env, capture_output=True, text=True, timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def server_view(identity: Identity, token: str, server_id: str, version: str = "2.9") -> dict[str, object]:
    resp = httpx.get(f"{identity.url}/v2.1/servers/{server_id}", headers={"X-Auth-Token": token, "OpenStack-API-Version": f"compute {version}"},
                     timeout=30)
    assert resp.status_code == 200, resp.text
    server: dict[str, object] = resp.json()["server"]
    return server


@pytest.fixture(scope="module")
def server_id(identity: Identity) -> Iterator[str]:
    client = ComputeClient(identity.url, identity.token())
    made = client.boot("feature-vm", SMALL_FLAVOR["id"], image=identity.image_id)
    wait_until(lambda: (client.show(made) or {}).get("status") == "ACTIVE", 60, "feature-vm ACTIVE")
    yield made
    ComputeClient(identity.url, identity.token("admin", ADMIN_PASSWORD, "admin")).delete(made)


def test_server_set_and_unset_property_change_the_metadata(identity: Identity, server_id: str) -> None:
    ok(openstack(identity, "server", "set", "--property", "role=web", "--property", "tier=gold", server_id))
    assert server_view(identity, identity.token(), server_id)["metadata"] == {"role": "web", "tier": "gold"}

    ok(openstack(identity, "server", "unset", "--property", "role", server_id))
    shown = json.loads(ok(openstack(identity, "server", "show", "-f", "json", server_id)))
    assert shown["properties"] in ({"tier": "gold"}, "tier='gold'")


def test_server_lock_refuses_the_owners_changes_until_unlock(identity: Identity, server_id: str) -> None:
    token = identity.token()
    ok(openstack(identity, "server", "lock", server_id))
    assert server_view(identity, token, server_id)["locked"] is True

    refused = openstack(identity, "server", "stop", server_id)
    assert refused.returncode != 0 and f"Instance {server_id} is locked" in refused.stderr, refused.stderr
    refused = openstack(identity, "server", "set", "--property", "x=1", server_id)
    assert refused.returncode != 0 and "is locked" in refused.stderr, refused.stderr

    ok(openstack(identity, "server", "unlock", server_id))
    assert server_view(identity, token, server_id)["locked"] is False
    actions = json.loads(ok(openstack(identity, "server", "event", "list", "-f", "json", server_id)))
    assert {"lock", "unlock"} <= {a["Action"] for a in actions}


def test_console_log_show_is_the_agents_answer(identity: Identity, server_id: str) -> None:
    assert ok(openstack(identity, "console", "log", "show", server_id)).rstrip("\n") == FAKE_CONSOLE
    assert ok(openstack(identity, "console", "log", "show", "--lines", "1", server_id)).rstrip("\n") == "LAST LINE"
