"""A stock consumer decodes novalog's topics through novalog's Schema Registry subset, knowing nothing of novalog.

The decoding runs in a subprocess (stock_reader.py) that imports only
confluent_kafka: SchemaRegistryClient, AvroDeserializer for values,
StringDeserializer for keys. This module starts the stack and the registry,
makes some traffic, and holds what the stock reader saw against what
novalog's own codec reads at the same offsets.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import Producer
from fastavro.utils import generate_one
from pydantic import TypeAdapter

from novalog.events import topics
from novalog.events.avro_shapes import full_name
from novalog.events.codec import HEADER, SCHEMAS_DIR, load_entry_schema, read_manifest
from novalog.events.kafka.log import ensure_topics, producer_config
from stack_harness import SMALL_FLAVOR, RunningStack, act, stack_settings, wait_until

READER = Path(__file__).with_name("stock_reader.py")
HOSTS = [("sr1", 2, 4096, 40), ("sr2", 2, 4096, 40)]
MANIFEST = read_manifest()


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("registry"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS], schema_registry=True)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def servers(stack: RunningStack) -> dict[str, str]:
    """Two servers booted; one stopped, one deleted: requests, claims, orders, spawns, power changes, releases."""
    ids = {name: stack.client.boot(name, SMALL_FLAVOR["id"]) for name in ("kept", "gone")}
    settled = stack.client.wait_settled(list(ids.values()), 60)
    assert {s["status"] for s in settled.values()} == {"ACTIVE"}, f"{settled}\n{stack.logs()}"
    act(stack, ids["kept"], {"os-stop": None}, "SHUTOFF", 4)
    stack.client.delete(ids["gone"])
    wait_until(lambda: stack.client.show(ids["gone"]) is None, 30, "the deleted server to be gone")
    return ids


def every_topic(stack: RunningStack) -> list[str]:
    shared = [t for t in topics.topic_specs(stack.settings.topic_prefix, stack.settings.partitions) if not t.endswith(".dlq")]
    return shared + [stack.settings.agent_topic(h[0]) for h in HOSTS]


def stock_read(stack: RunningStack, names: list[str], *flags: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(READER), stack.settings.kafka_bootstrap, stack.stack.schema_registry_url, *flags, *names],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@pytest.fixture(scope="module")
def seen(stack: RunningStack, servers: dict[str, str]) -> list[dict[str, Any]]:
    return stock_read(stack, every_topic(stack))


def test_every_record_on_every_topic_decodes_with_the_stock_client(seen) -> None:
    assert [line for line in seen if "error" in line] == []
    assert len(seen) > 50


def test_the_stock_client_reads_what_novalog_wrote_key_record_and_value(stack: RunningStack, seen) -> None:
    ours = {
        (msg.topic(), msg.partition(), msg.offset()): (msg.key().decode(), record)
        for msg, record in stack.records(*(t.removeprefix(f"{stack.settings.topic_prefix}.") for t in every_topic(stack)))
    }
    differing = []
    for line in seen:
        key, record = ours[(line["topic"], line["partition"], line["offset"])]
        if line.get("tombstone"):  # a compacted topic's deletion: no value on either side
            assert (key, record) == (line["key"], None)
            continue
        mine = {"key": key, "record": full_name(type(record)), "value": as_json(TypeAdapter(type(record)).dump_python(record))}
        theirs = {"key": line["key"], "record": line["record"], "value": line["value"]}
        if mine != theirs:
            differing.append((line["topic"], line["offset"], mine, theirs))

    assert differing == []


def test_the_records_of_the_traffic_are_there_with_plain_string_keys(stack: RunningStack, servers: dict[str, str], seen) -> None:
    prefix = stack.settings.topic_prefix
    found = {(line["topic"].removeprefix(f"{prefix}."), line["record"]) for line in seen}
    instance_keys = {line["key"] for line in seen if line["topic"] == stack.topic(topics.INSTANCE_EVENTS)}
    host_keys = {line["key"] for line in seen if line["topic"] == stack.topic(topics.HOST_EVENTS)}
    agent_records = {r for t, r in found if t.startswith("agent.")}

    assert {
        ("instance.events", "novalog.instance.InstanceBuildRequested"),
        ("instance.events", "novalog.placement.ClaimAccepted"),
        ("instance.events", "novalog.instance.InstanceSpawned"),
        ("instance.events", "novalog.instance.InstanceActionRequested"),
        ("instance.events", "novalog.instance.InstanceDeleted"),
        ("host.events", "novalog.host.HostCapacityReported"),
        ("host.events", "novalog.placement.PlacementProposed"),
        ("host.events", "novalog.placement.ClaimReleased"),
        ("host.heartbeats", "novalog.host.HostHeartbeatReported"),
        ("catalog.events", "novalog.catalog.FlavorCreated"),
        ("quota.events", "novalog.quota.ServersRequested"),
        ("state.hosts", "novalog.state.HostState"),
        ("state.instances", "novalog.state.InstanceState"),
        ("state.catalog", "novalog.state.FlavorState"),
    } <= found
    assert {"novalog.agent.InstanceSpawnOrdered", "novalog.agent.InstanceActionOrdered", "novalog.agent.InstanceDeleteOrdered"} <= agent_records
    assert set(servers.values()) <= instance_keys
    assert host_keys == {h[0] for h in HOSTS}


@pytest.fixture(scope="module")
def history_topic(stack: RunningStack) -> tuple[str, list[tuple[Any, Any, Any]]]:
    """A topic holding one record of every schema id ever published, each written with that id's own schema."""
    name = stack.topic("history")
    ensure_topics(stack.settings.kafka_bootstrap, {name: (1, topics.KEEP_FOREVER)})
    latest = {e.name: e for e in MANIFEST}  # the manifest is in id order
    written = []
    producer = Producer(producer_config(stack.settings.kafka_bootstrap))
    for entry in MANIFEST:
        writer = load_entry_schema(entry.file, SCHEMAS_DIR)
        datum = generate_one(writer)
        buf = io.BytesIO()
        buf.write(HEADER.pack(0, entry.id))
        fastavro.schemaless_writer(buf, writer, datum)
        producer.produce(name, key=entry.name.encode(), value=buf.getvalue())
        as_written = fastavro.schemaless_reader(io.BytesIO(buf.getvalue()[HEADER.size:]), writer, None)
        upgraded = fastavro.schemaless_reader(
            io.BytesIO(buf.getvalue()[HEADER.size:]), writer, load_entry_schema(latest[entry.name].file, SCHEMAS_DIR)
        )
        written.append((entry, as_written, upgraded))
    assert producer.flush(10) == 0
    return name, written


def test_every_old_version_on_the_wire_decodes_as_written(stack: RunningStack, history_topic) -> None:
    name, written = history_topic

    seen = stock_read(stack, [name])

    assert [(line["schema_id"], line["record"], line["value"]) for line in seen] == [
        (entry.id, entry.name, as_json(value)) for entry, value, _ in written
    ]


def test_with_use_latest_version_every_old_version_comes_in_the_latest_shape(stack: RunningStack, history_topic) -> None:
    """RecordNameStrategy subjects let the stock deserializer resolve old writers to the latest version (it looks them up by POST)."""
    name, written = history_topic

    seen = stock_read(stack, [name], "--latest")

    assert [(line["schema_id"], line["value"]) for line in seen] == [(entry.id, as_json(upgraded)) for entry, _, upgraded in written]
    assert any(as_written != upgraded for _, as_written, upgraded in written)
