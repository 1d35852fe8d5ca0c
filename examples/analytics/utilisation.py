"""A running utilisation report of a novalog cloud, per host and per project, from its Kafka topics alone.

    python examples/analytics/utilisation.py --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081 --prefix novalog

It reads two of the compacted state topics that novalog publishes for any
reader: `<prefix>.state.hosts` (one HostState row per host: its inventory,
allocation ratios and accepted claims) and `<prefix>.state.instances` (one
InstanceState row per instance: project, flavor, vm_state). Keys are plain
UTF-8 strings; values are Avro in the Schema Registry framing, decoded with
confluent-kafka's stock AvroDeserializer through a Schema Registry (novalog's
own endpoint, `novalog serve schema-registry`). Nothing here imports novalog.

Per host: what the accepted claims take of vCPUs, RAM and disk, against the
capacity the scheduler sees (total x allocation ratio - reserved). Per
project: its instances that are not deleted, with their flavors' vCPUs, RAM
and disk. It prints the report when it changes (at most every --interval
seconds); --once reads both topics to their end, prints and exits; --json
prints JSON instead of tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer

HOSTS_TOPIC = "state.hosts"
INSTANCES_TOPIC = "state.instances"
RESOURCES = (("vcpus", "vcpus", "cpu_allocation_ratio", "reserved_vcpus"),
             ("memory_mb", "memory_mb", "ram_allocation_ratio", "reserved_memory_mb"),
             ("disk_gb", "disk_gb", "disk_allocation_ratio", "reserved_disk_gb"))
FLAVOR_SIZES = (("vcpus", "vcpus"), ("memory_mb", "ram"), ("disk_gb", "disk"))


@dataclass
class UtilisationReport:
    """The latest row of every host and instance, and the report they make. Rows come in as decoded dicts."""

    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, table: str, key: str, row: dict[str, Any] | None) -> None:
        """Take the row now on `table` (HOSTS_TOPIC or INSTANCES_TOPIC) for `key`; None (a tombstone) removes it."""
        rows = self.hosts if table == HOSTS_TOPIC else self.instances
        if row is None:
            rows.pop(key, None)
        else:
            rows[key] = row

    def by_host(self) -> dict[str, dict[str, Any]]:
        """Per host: claimed and capacity of each resource, and the instances claiming it."""
        report = {}
        for name, row in sorted(self.hosts.items()):
            line: dict[str, Any] = {"instances": len(row["claims"])}
            for resource, total, ratio, reserved in RESOURCES:
                claimed = sum(claim[resource] for claim in row["claims"])
                line[resource] = {"claimed": claimed, "capacity": row[total] * row[ratio] - row[reserved]}
            report[name] = line
        return report

    def by_project(self) -> dict[str, dict[str, int]]:
        """Per project: instances not deleted, and the sum of their flavors."""
        report: dict[str, dict[str, int]] = {}
        for row in self.instances.values():
            if row["vm_state"] == "deleted":
                continue
            line = report.setdefault(row["project_id"], {"instances": 0, "vcpus": 0, "memory_mb": 0, "disk_gb": 0})
            line["instances"] += 1
            for resource, size in FLAVOR_SIZES:
                line[resource] += row["flavor"][size]
        return dict(sorted(report.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"hosts": self.by_host(), "projects": self.by_project()}


def _share(part: dict[str, float]) -> str:
    pct = f" ({100 * part['claimed'] / part['capacity']:.0f}%)" if part["capacity"] else ""
    return f"{part['claimed']:g}/{part['capacity']:g}{pct}"


def as_text(report: dict[str, Any]) -> str:
    lines = [f"{'HOST':<12} {'INSTANCES':>9}  {'VCPUS':<14} {'RAM_MB':<18} {'DISK_GB':<14}"]
    for name, h in report["hosts"].items():
        lines.append(f"{name:<12} {h['instances']:>9}  {_share(h['vcpus']):<14} {_share(h['memory_mb']):<18} {_share(h['disk_gb']):<14}")
    lines += ["", f"{'PROJECT':<34} {'INSTANCES':>9} {'VCPUS':>6} {'RAM_MB':>8} {'DISK_GB':>8}"]
    for name, p in report["projects"].items():
        lines.append(f"{name:<34} {p['instances']:>9} {p['vcpus']:>6} {p['memory_mb']:>8} {p['disk_gb']:>8}")
    return "\n".join(line.rstrip() for line in lines)


class StateReader:
    """Both state topics from their beginning, decoded with the stock deserializers; knows when it has caught up."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str) -> None:
        self.topics = {f"{prefix}.{HOSTS_TOPIC}": HOSTS_TOPIC, f"{prefix}.{INSTANCES_TOPIC}": INSTANCES_TOPIC}
        self.values = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
        self.keys = StringDeserializer("utf_8")
        # No consumer group commits: a report starts from the beginning of the compacted topics every time.
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"utilisation-{uuid.uuid4()}",
                                  "enable.auto.commit": False})
        self.ends: dict[tuple[str, int], int] = {}
        parts = []
        for topic in self.topics:
            metadata = self.consumer.list_topics(topic, timeout=10).topics[topic]
            if metadata.error is not None:
                raise SystemExit(f"cannot read {topic}: {metadata.error}")
            for p in metadata.partitions:
                low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                if high > low:
                    self.ends[(topic, p)] = high
        self.consumer.assign(parts)

    def caught_up(self) -> bool:
        """Whether every record that was there at the start has been read."""
        if self.ends:
            for tp in self.consumer.position([TopicPartition(t, p) for t, p in self.ends]):
                if tp.offset >= self.ends[(tp.topic, tp.partition)]:
                    del self.ends[(tp.topic, tp.partition)]
        return not self.ends

    def poll(self, report: UtilisationReport, timeout: float) -> bool:
        """Fold the next record, if one comes within `timeout`, into the report; whether one did."""
        msg = self.consumer.poll(timeout)
        if msg is None:
            return False
        if msg.error():
            print(f"kafka: {msg.error()}", file=sys.stderr)
            return False
        key = self.keys(msg.key(), SerializationContext(msg.topic(), MessageField.KEY))
        row = self.values(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
        report.apply(self.topics[msg.topic()], key, row)
        return True

    def close(self) -> None:
        self.consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--registry", default="http://127.0.0.1:8081", help="the Schema Registry (novalog's endpoint)")
    parser.add_argument("--prefix", default="novalog", help="novalog's topic prefix")
    parser.add_argument("--once", action="store_true", help="read to the end, print the report and exit")
    parser.add_argument("--json", action="store_true", help="print each report as one line of JSON")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between reports at most (following)")
    args = parser.parse_args(argv)

    def show(report: dict[str, Any]) -> None:
        print(json.dumps(report) if args.json else as_text(report) + "\n", flush=True)

    reader = StateReader(args.bootstrap, args.registry, args.prefix)
    report = UtilisationReport()
    try:
        while not reader.caught_up():
            reader.poll(report, 0.5)
        shown = report.as_dict()
        show(shown)
        last, changed = time.monotonic(), False
        while not args.once:
            changed |= reader.poll(report, 0.5)
            if changed and time.monotonic() - last >= args.interval:
                current = report.as_dict()
                if current != shown:
                    show(current)
                    shown = current
                last, changed = time.monotonic(), False
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
