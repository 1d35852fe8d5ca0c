"""The local stack as processes: projections, scheduler(s), API, one agent per host, the schema registry.

Each service runs as `python -m novalog serve ...` with the same settings
passed down as NOVALOG_* variables, its output in `<state_dir>/logs/`. Used
by `novalog up` and by the integration tests, which kill and restart
services to prove recovery.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from novalog.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that hands these settings to a child process."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            env.pop(f"NOVALOG_{name.upper()}", None)
        else:
            # pydantic-settings reads complex values (dicts, lists) from the environment as JSON.
            env[f"NOVALOG_{name.upper()}"] = json.dumps(value) if isinstance(value, dict | list | tuple) else str(value)
    return env


class LocalStack:
    """Starts, stops and kills the services of one stack (one topic prefix)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log_dir = Path(settings.state_dir) / "logs" / settings.topic_prefix
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start one service; `name` is how to stop or kill it later."""
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError(f"{name} is already running")
        out = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "novalog", "serve", *args],
            env=settings_env(self.settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.procs[name] = proc
        return proc

    def start_all(self, hosts: list[str], schedulers: int = 1) -> None:
        self.start("projections", "projections")
        for i in range(schedulers):
            self.start(f"scheduler-{i}", "scheduler")
        for host in hosts:
            self.start(f"agent-{host}", "agent", host)
        self.start("api", "api")

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    @property
    def schema_registry_url(self) -> str:
        return f"http://{self.settings.schema_registry_host}:{self.settings.schema_registry_port}"

    def wait_api(self, timeout: float = 60.0) -> None:
        self._wait_answer("api", f"{self.api_url}/", timeout)

    def start_schema_registry(self, timeout: float = 30.0) -> str:
        """Serve the read-only Schema Registry subset; return its URL once it answers."""
        self.start("schema-registry", "schema-registry")
        self._wait_answer("schema-registry", f"{self.schema_registry_url}/subjects", timeout)
        return self.schema_registry_url

    def _wait_answer(self, name: str, url: str, timeout: float) -> None:
        """Wait until the service answers 200 at `url`; its exit meanwhile is an error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs.get(name) is not None and self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {self.tail(name)}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} did not answer in {timeout} s: {self.tail(name)}")

    def wait_hosts_up(self, count: int, timeout: float = 60.0, token: str = "admin:admin") -> None:
        """Wait until the API lists `count` hypervisors up (asking with an admin's token); a service that exits meanwhile is an error."""
        from novalog.demo import ComputeClient

        client = ComputeClient(self.api_url, token)
        deadline = time.monotonic() + timeout
        while True:
            try:  # an API still reading its tables back may answer 503 for a moment
                up, last = len([h for h in client.hypervisors() if h["state"] == "up"]), ""
            except RuntimeError as exc:
                up, last = 0, f" (last answer: {exc})"
            if up >= count:
                return
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the hosts did not all report in {timeout:g} s{last}; see the logs in {self.log_dir}")
            time.sleep(0.3)

    def check_alive(self) -> None:
        """Raise, with its log tail, if a service has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, name: str, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
