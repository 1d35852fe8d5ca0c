"""Reads Kafka topics to their end and decodes every record with Confluent's stock client alone, through a Schema Registry.

    python stock_reader.py BOOTSTRAP REGISTRY_URL [--latest] TOPIC...

Run in an interpreter of its own, it proves what a consumer outside the
project can do: it imports confluent_kafka and the standard library, never
novalog (it checks so before it exits). Keys go through a StringDeserializer,
values through an AvroDeserializer that asks the registry for the writer's
schema by the id in the frame; with --latest, values come in the subject's
latest version (the subject being the record name). One JSON line per
record: topic, partition, offset, key, schema_id, record (name), value (or error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer


def assign_from_start(consumer: Consumer, topics: list[str]) -> dict[tuple[str, int], int]:
    """Assign every partition of the topics from the beginning; the end offset of each that has records."""
    ends: dict[tuple[str, int], int] = {}
    parts = []
    for topic in topics:
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
            if high > low:
                ends[(topic, p)] = high
    consumer.assign(parts)
    return ends


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("registry")
    parser.add_argument("topics", nargs="+")
    parser.add_argument("--latest", action="store_true", help="values in their subject's latest version")
    args = parser.parse_args()

    registry = SchemaRegistryClient({"url": args.registry})
    conf = {"use.latest.version": True, "subject.name.strategy.type": "RECORD"} if args.latest else None
    values = AvroDeserializer(registry, conf=conf)
    keys = StringDeserializer("utf_8")
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": f"stock-reader-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        ends = assign_from_start(consumer, args.topics)
        deadline = time.monotonic() + 60
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            # the position, not the last offset seen, says a partition is read (a control record may end it)
            for tp in consumer.position([TopicPartition(t, p) for t, p in ends]):
                if tp.offset >= ends[(tp.topic, tp.partition)]:
                    ends.pop((tp.topic, tp.partition))
            if msg is None or msg.error():
                continue
            line = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                    "key": keys(msg.key(), SerializationContext(msg.topic(), MessageField.KEY))}
            raw = msg.value()
            if raw is None:
                print(json.dumps({**line, "tombstone": True}))
                continue
            line["schema_id"] = int.from_bytes(raw[1:5], "big")
            try:
                line["value"] = values(raw, SerializationContext(msg.topic(), MessageField.VALUE))
                line["record"] = json.loads(registry.get_schema(line["schema_id"]).schema_str)["name"]
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the reading goes on
                line["error"] = f"{type(exc).__name__}: {exc}"
            print(json.dumps(line, default=str))
        if ends:
            print(json.dumps({"error": f"did not reach the end of {sorted(ends)}"}))
    finally:
        consumer.close()
    leaked = sorted(m for m in sys.modules if m == "novalog" or m.startswith("novalog."))
    if leaked:
        print(json.dumps({"error": f"novalog was imported: {leaked}"}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
