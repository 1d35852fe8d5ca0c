"""Runs a whole novalog stack against the session's broker, for the integration tests.

Each stack gets its own topic prefix, state folder, API port and hosts file,
so stacks of different test modules never see each other's events. Services
are real processes (`python -m novalog serve ...`); they are stopped when the
fixture ends, also when a test fails.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer

from novalog.demo import ComputeClient
from novalog.events.codec import decode
from novalog.events.kafka.log import consumer_config, producer_config, read_all
from novalog.services import ensure_all_topics
from novalog.settings import Settings
from novalog.stack import LocalStack

SMALL_FLAVOR = {"name": "m1.small", "id": "2", "vcpus": 1, "ram": 2048, "disk": 20}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hosts_toml(hosts: Iterable[tuple[str, int, int, int]]) -> str:
    """A hosts file: (name, vcpus, memory_mb, disk_gb) per host, cluster-default ratios."""
    return "".join(f'[[hosts]]\nname = "{n}"\nvcpus = {c}\nmemory_mb = {m}\ndisk_gb = {d}\n\n' for n, c, m, d in hosts)


def stack_settings(bootstrap: str, tmp: Path, hosts: Iterable[tuple[str, int, int, int]], **overrides: object) -> Settings:
    hosts_file = tmp / "hosts.toml"
    hosts_file.write_text(hosts_toml(hosts))
    return Settings(
        kafka_bootstrap=bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        partitions=4,
        state_dir=tmp / "state",
        hosts_file=hosts_file,
        api_port=free_port(),
        schema_registry_port=free_port(),
        heartbeat_interval=1.0,
        service_down_time=5.0,
        capacity_report_interval=5.0,
        # Nova's development tokens ('admin:admin'); the identity tests pass auth_strategy="keystone".
        auth_strategy="noauth2",
        # Tests boot many servers in one project; the quota's own tests set quota_defaults={} to get Nova's.
        quota_defaults={"instances": -1, "cores": -1, "ram": -1},
    ).model_copy(update=overrides)


class RunningStack:
    """A started stack with a client, and ways to look at its log."""

    def __init__(self, settings: Settings, hosts: list[str], schedulers: int = 1, schema_registry: bool = False) -> None:
        self.settings = settings
        self.hosts = hosts
        self.schedulers = schedulers
        self.schema_registry = schema_registry
        self.stack = LocalStack(settings)
        self.client: ComputeClient | None = None

    def start(self) -> RunningStack:
        ensure_all_topics(self.settings)
        self.stack.start_all(self.hosts, schedulers=self.schedulers)
        self.stack.wait_api(60)
        if self.schema_registry:
            self.stack.start_schema_registry()
        self.client = ComputeClient(self.stack.api_url)
        self.stack.wait_hosts_up(len(self.hosts))
        self.client.ensure_flavor(SMALL_FLAVOR)
        return self

    def stop(self) -> None:
        self.stack.stop_all()

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def records(self, *names: str) -> list[tuple[Any, Any]]:
        """Every (message, decoded record or None) now on the topics, read back from the log."""
        consumer = Consumer(consumer_config(self.settings.kafka_bootstrap, f"audit-{uuid.uuid4()}"))
        try:
            out = []
            for msg in read_all(consumer, [self.topic(n) for n in names]):
                try:
                    out.append((msg, decode(msg.value())))
                except Exception:
                    out.append((msg, None))
            return out
        finally:
            consumer.close()

    def produce_raw(self, topic: str, key: bytes, value: bytes) -> None:
        producer = Producer(producer_config(self.settings.kafka_bootstrap))
        producer.produce(topic, key=key, value=value)
        assert producer.flush(10) == 0

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.stack.tail(name, 15)}" for name in sorted(self.stack.procs))


def as_project(stack: RunningStack, project: str) -> httpx.Client:
    """A compute API client with the development token of a user of `project`."""
    return httpx.Client(base_url=str(stack.client.http.base_url), headers={"X-Auth-Token": f"user:{project}"}, timeout=60)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, check: Callable[[], None] | None = None) -> Any:
    """Poll until the predicate is truthy; fail with `what` when the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check is not None:
            check()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def act(stack: RunningStack, server_id: str, body: dict, status: str, power: int, timeout: float = 20) -> dict:
    """POST a server action (202) and wait until the server settles in `status` with `power`; return it."""
    resp = stack.client.http.post(f"/servers/{server_id}/action", json=body)
    assert resp.status_code == 202, resp.text

    def reached() -> dict | None:
        server = stack.client.show(server_id)
        done = server["status"] == status and server["OS-EXT-STS:task_state"] is None
        return server if done and server["OS-EXT-STS:power_state"] == power else None

    return wait_until(reached, timeout, f"{body} to end in {status}")


def assert_log_holds(stack: RunningStack, grace: float = 60.0) -> None:
    """The log is the judge: `novalog audit --check` finds no violation in the stack's log."""
    from datetime import UTC, datetime, timedelta

    from novalog.audit_cmd import read_log
    from novalog.projections.audit import check

    entries = read_log(stack.settings, quiet=True)
    violations = check(entries, prefix=stack.settings.topic_prefix, quota_defaults=stack.settings.quota_defaults,
                       grace=timedelta(seconds=grace), end=datetime.now(UTC))
    assert violations == [], "\n".join(f"{v.invariant}: {v.message} {v.evidence}" for v in violations)


def assert_replay_identical(stack: RunningStack) -> None:
    """Every table rebuilt from the log equals the live one, row for row."""
    from novalog.replay import replay_and_compare

    _, verdicts = replay_and_compare(stack.settings.kafka_bootstrap, stack.settings.topic_prefix)
    found = {c.table: {d.key: d.fields for d in c.differences} for c in verdicts}
    assert found == {c.table: {} for c in verdicts}
    assert all(c.identical for c in verdicts), verdicts
