"""The Faust shell around the pure folds: decode (or dead-letter), fold, store, publish, emit.

One worker process holds every table declared in projections/registry.py
that no create waits on (catalog, identity, aggregates, tenant, networks; one topic
each), each in RocksDB and recovered from its changelog. The deciding tables
(quotas, host state, instances) run in the plain loop of
projections/decisions.py, in the same process (`novalog serve projections`). Each record goes through the declaration's `step`, as it does in
`novalog replay`. Every new row is published on its compacted state topic,
Avro encoded with the manifest's ids, for readers outside Faust.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import faust

from novalog.events import topics
from novalog.events.codec import decode, encode
from novalog.events.dead_letters import dead_letter_facts
from novalog.events.kafka.log import ensure_topics
from novalog.events.outbound import Outbound
from novalog.events.row_headers import SOURCE_HEADER, source_position
from novalog.projections.decisions import deciding
from novalog.projections.registry import PROJECTIONS, Projection

log = logging.getLogger(__name__)

FAUST_PROJECTIONS = tuple(p for p in PROJECTIONS if not deciding(p))
TABLES = tuple(p.table for p in FAUST_PROJECTIONS)


def changelog_specs(prefix: str, partitions: int) -> dict[str, tuple[int, dict[str, str]]]:
    """The tables' changelog topics, made before the worker starts.

    Faust would create them itself, but a worker that asks for a changelog
    before its metadata has spread crashes its agent with PartitionsMismatch;
    made beforehand, compacted and co-partitioned, the race is gone.
    """
    return {f"{prefix}-projections-{table}-changelog": (partitions, topics.LATEST_ONLY) for table in TABLES}


def build_app(bootstrap: str, prefix: str, partitions: int, datadir: Path) -> faust.App:
    """The projection worker's Faust app, on the given cluster and topic prefix."""
    app = faust.App(
        f"{prefix}-projections",
        broker=f"kafka://{bootstrap}",
        store="rocksdb://",
        datadir=str(datadir),
        topic_partitions=partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        broker_session_timeout=6.0,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        producer_linger_ms=0,
        consumer_auto_offset_reset="earliest",
    )

    def topic(name: str, parts: int = partitions) -> faust.TopicT:
        return app.topic(f"{prefix}.{name}", key_type=bytes, value_type=bytes, partitions=parts, internal=False)

    def table(name: str) -> faust.Table:
        return app.Table(name, key_type=bytes, value_type=bytes, partitions=partitions, options={"block_cache_size": 64 << 20})

    out_topics: dict[str, faust.TopicT] = {}
    known_agent_hosts: set[str] = set()

    async def emit(out: Outbound) -> None:
        if out.topic.startswith(f"{topics.AGENT_COMMANDS}."):
            host = out.topic.split(".", 1)[1]
            if host not in known_agent_hosts:
                specs = topics.agent_topic_specs(prefix, host)
                await asyncio.get_running_loop().run_in_executor(None, ensure_topics, bootstrap, specs)
                known_agent_hosts.add(host)
        if out.topic not in out_topics:
            out_topics[out.topic] = topic(out.topic, 1 if out.topic.startswith("agent.") else partitions)
        await out_topics[out.topic].send(key=out.key.encode(), value=encode(out.record))

    def make_agent(source: str, tbl: faust.Table, projection: Projection) -> None:
        dlq = app.topic(topics.dead_letter(f"{prefix}.{source}"), key_type=bytes, value_type=bytes, partitions=1)
        published = topic(projection.state_topic)

        async def consume(stream: faust.StreamT) -> None:
            async for event in stream.events():
                msg = event.message
                key = event.key
                try:
                    current = tbl.get(key)
                    new, outs = projection.step(None if current is None else decode(current), decode(event.value), msg.offset)
                except Exception as exc:  # undecodable, or a fold that cannot apply it: dead-letter, go on
                    log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                    await dlq.send(key=key, value=event.value, headers=_dlq_headers(exc, msg, app.conf.id))
                    continue
                if new is not None:
                    row = encode(new)
                    tbl[key] = row
                    await published.send(key=key, value=row, headers={SOURCE_HEADER: source_position(source, msg.partition, msg.offset)})
                for out in outs:
                    await emit(out)

        consume.__name__ = f"fold_{source.replace('.', '_')}"
        app.agent(topic(source), name=consume.__name__)(consume)

    for projection in FAUST_PROJECTIONS:
        tbl = table(projection.table)
        for source in projection.sources:
            make_agent(source, tbl, projection)
    return app


def _dlq_headers(exc: Exception, msg: Any, processor: str) -> dict[str, bytes]:
    facts = dead_letter_facts(exc, msg.topic, msg.partition, msg.offset, int(msg.timestamp * 1000), processor)
    return {k: v.encode() for k, v in facts.items()}


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the worker in this process until it is told to stop (SIGTERM/SIGINT)."""
    worker = faust.Worker(app, loglevel=loglevel, redirect_stdouts=False)
    worker.execute_from_commandline()
