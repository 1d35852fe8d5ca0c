"""A stack in keystone mode for the tests: token keys, the `novalog` identity commands, tokens on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from image_harness import image_client, register_image
from novalog.demo import ComputeClient
from novalog.services import ensure_all_topics
from novalog.settings import Settings
from novalog.stack import settings_env
from stack_harness import SMALL_FLAVOR, RunningStack, stack_settings

ADMIN_PASSWORD = "admin-secret-1"
ALICE_PASSWORD = "alice-secret-1"


def novalog(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "novalog", *args], env=settings_env(settings), capture_output=True, text=True, timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def password_auth(user: str, password: str, project: str | None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return {"auth": auth}


class Identity:
    """The stack under test, its settings, and ways to ask it for tokens."""

    def __init__(self, running: RunningStack, tmp: Path) -> None:
        self.running = running
        self.tmp = tmp
        self.url = running.stack.api_url
        # A public image "cirros" (keystone mode boots only images of the catalog).
        self.image_id = ""

    @property
    def settings(self) -> Settings:
        return self.running.stack.settings

    def post_token(self, user: str, password: str, project: str | None = "demo") -> httpx.Response:
        return httpx.post(f"{self.url}/identity/v3/auth/tokens", json=password_auth(user, password, project), timeout=30)

    def token(self, user: str = "alice", password: str = ALICE_PASSWORD, project: str = "demo") -> str:
        resp = self.post_token(user, password, project)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def compute(self, token: str, path: str = "/servers") -> httpx.Response:
        return httpx.get(f"{self.url}/v2.1{path}", headers={"X-Auth-Token": token}, timeout=30)

    def restart_api(self, **changes: Any) -> None:
        stack = self.running.stack
        stack.stop("api")
        stack.settings = stack.settings.model_copy(update=changes)
        stack.start("api", "api")
        stack.wait_api(60)

    def clouds_yaml(self) -> Path:
        path = self.tmp / "clouds.yaml"
        clouds = {
            name: {
                "auth": {
                    "auth_url": f"{self.url}/identity/v3", "username": user, "password": password, "project_name": project,
                    "user_domain_name": "Default", "project_domain_name": "Default",
                },
                "region_name": "RegionOne",
                "identity_api_version": 3,
            }
            for name, user, password, project in (("novalog", "alice", ALICE_PASSWORD, "demo"), ("novalog-admin", "admin", ADMIN_PASSWORD, "admin"))
        }
        path.write_text(json.dumps({"clouds": clouds}))  # JSON is YAML
        return path


@contextmanager
def keystone_stack(kafka_bootstrap: str, tmp: Path, hosts: list[tuple[str, int, int, int]]) -> Iterator[Identity]:
    """A started stack in keystone mode with the admin bootstrapped and alice a member of project demo."""
    settings = stack_settings(kafka_bootstrap, tmp, hosts, auth_strategy="keystone", token_key_dir=tmp / "token-keys")
    ok(novalog(settings, "token-keys", "setup"))
    running = RunningStack(settings, [h[0] for h in hosts])
    ensure_all_topics(settings)
    running.stack.start_all(running.hosts)
    try:
        running.stack.wait_api(60)
        ok(novalog(settings, "identity", "bootstrap", "--admin-password", ADMIN_PASSWORD))
        ok(novalog(settings, "project", "create", "demo"))
        ok(novalog(settings, "user", "create", "alice", "--password", ALICE_PASSWORD, "--project", "demo", "--role", "member"))
        env = Identity(running, tmp)
        admin = env.token("admin", ADMIN_PASSWORD, "admin")
        running.stack.wait_hosts_up(len(hosts), token=admin)
        running.client = ComputeClient(env.url, admin)
        running.client.ensure_flavor(SMALL_FLAVOR)
        with image_client(env.url, admin) as images:
            env.image_id = register_image(images, "cirros", visibility="public")["id"]
        yield env
    finally:
        running.stop()
