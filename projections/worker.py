"""The Faust shell around the pure folds: decode (or dead-letter), fold, store, publish, emit.

One worker process holds the host-state table (host.events + host.heartbeats,
co-partitioned by host name), the instance table (instance.events) and the
catalog table (catalog.events) and the identity table (identity.events), each in RocksDB and recovered from its
changelog. Every new row is published on its compacted state topic, Avro
encoded with the manifest's ids, for readers outside Faust.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust

from novalog.events import topics
from novalog.events.codec import DecodeError, decode, encode
from novalog.events.dead_letters import dead_letter_facts
from novalog.events.kafka import ensure_topics
from novalog.events.outbound import Outbound
from novalog.events.types import AggregateEvent, CatalogEvent, HostEvent, IdentityEvent, InstanceEvent, QuotaEvent, TenantEvent
from novalog.projections import aggregates, catalog, host_state, identity, instances, quotas, tenant

log = logging.getLogger(__name__)

Fold = Callable[[Any, Any, int], tuple[Any, list[Outbound]]]


def _fold_hosts(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    return host_state.handle(state, event)


def _fold_instances(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    new, outs = instances.handle(state, event)
    return (None if new is None else instances.touch(new, event, offset)), outs


def _fold_catalog(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    new = catalog.apply(state, event)
    return (None if new is None else replace(new, offset=offset)), []


def _fold_identity(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    # The offset moves even when the fold refuses a create, so the refused writer sees its turn came and went.
    new = identity.apply(state, event)
    return (None if new is None else replace(new, offset=offset)), []


def _fold_aggregates(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    return replace(aggregates.apply(state, event), offset=offset), []


def _fold_quotas(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    new, outs = quotas.handle(state, event)
    return replace(new, offset=offset), outs


def _fold_tenant(state: Any, event: Any, offset: int) -> tuple[Any, list[Outbound]]:
    # As identity's: the offset moves even when a create is refused, so the refused writer sees its turn came and went.
    new, outs = tenant.handle(state, event)
    return (None if new is None else replace(new, offset=offset)), outs


TABLES = ("host_state", "instances", "catalog", "identity", "quotas", "tenant", "aggregates")


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

    def make_agent(source: str, tbl: faust.Table, state_topic: str, accepts: Any, fold: Fold) -> None:
        dlq = app.topic(topics.dead_letter(f"{prefix}.{source}"), key_type=bytes, value_type=bytes, partitions=1)
        published = topic(state_topic)

        async def consume(stream: faust.StreamT) -> None:
            async for event in stream.events():
                msg = event.message
                key = event.key
                try:
                    record = decode(event.value)
                    if not isinstance(record, accepts):
                        raise DecodeError(f"{type(record).__name__} does not belong on {source}")
                    current = tbl.get(key)
                    old = None if current is None else decode(current)
                    new, outs = fold(old, record, msg.offset)
                except Exception as exc:  # undecodable, or a fold that cannot apply it: dead-letter, go on
                    log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                    await dlq.send(key=key, value=event.value, headers=_dlq_headers(exc, msg, app.conf.id))
                    continue
                if new is not None and new != old:
                    row = encode(new)
                    tbl[key] = row
                    await published.send(key=key, value=row)
                for out in outs:
                    await emit(out)

        consume.__name__ = f"fold_{source.replace('.', '_')}"
        app.agent(topic(source), name=consume.__name__)(consume)

    hosts = table(TABLES[0])
    make_agent(topics.HOST_EVENTS, hosts, topics.STATE_HOSTS, HostEvent.__args__, _fold_hosts)
    make_agent(topics.HOST_HEARTBEATS, hosts, topics.STATE_HOSTS, HostEvent.__args__, _fold_hosts)
    make_agent(topics.INSTANCE_EVENTS, table(TABLES[1]), topics.STATE_INSTANCES, InstanceEvent.__args__, _fold_instances)
    make_agent(topics.CATALOG_EVENTS, table(TABLES[2]), topics.STATE_CATALOG, CatalogEvent.__args__, _fold_catalog)
    make_agent(topics.IDENTITY_EVENTS, table(TABLES[3]), topics.STATE_IDENTITY, IdentityEvent.__args__, _fold_identity)
    make_agent(topics.QUOTA_EVENTS, table("quotas"), topics.STATE_QUOTAS, QuotaEvent.__args__, _fold_quotas)
    make_agent(topics.AGGREGATE_EVENTS, table("aggregates"), topics.STATE_AGGREGATES, AggregateEvent.__args__, _fold_aggregates)
    make_agent(topics.TENANT_EVENTS, table("tenant"), topics.STATE_TENANT, TenantEvent.__args__, _fold_tenant)
    return app


def _dlq_headers(exc: Exception, msg: Any, processor: str) -> dict[str, bytes]:
    facts = dead_letter_facts(exc, msg.topic, msg.partition, msg.offset, int(msg.timestamp * 1000), processor)
    return {k: v.encode() for k, v in facts.items()}


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the worker in this process until it is told to stop (SIGTERM/SIGINT)."""
    worker = faust.Worker(app, loglevel=loglevel, redirect_stdouts=False)
    worker.execute_from_commandline()
