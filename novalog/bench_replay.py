"""`novalog bench replay`: how fast a replay folds a realistic log of N events.

A fresh topic prefix on the configured broker (the local one, started if it
is the default and not running, as the other benchmarks do) gets the
synthetic cloud's log (projections/synthetic_log.py), produced in large
batches; then the replay's own rebuild (novalog.replay.rebuild, the code
path `novalog replay` and `novalog state` run) folds every table from it.
The command prints the rate, the rows of each table and the dead letters,
and the generation time apart. The bench topics are deleted afterwards
unless --keep.
"""

from __future__ import annotations

import os
import platform
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click

from novalog.progress import log_progress

PRODUCE_BATCH = {"linger.ms": 50, "batch.num.messages": 10_000, "batch.size": 1_000_000,
                 "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 1_048_576}


@dataclass(frozen=True, slots=True)
class Written:
    """What the generator put on the log: records per logical topic, the undecodable ones among them, and how long it took."""

    per_topic: dict[str, int]
    dead_letters: int
    seconds: float

    @property
    def events(self) -> int:
        return sum(self.per_topic.values())


def write_log(bootstrap: str, prefix: str, events: int, seed: int, advance: Callable[[int], None]) -> Written:
    """Generate the synthetic cloud's first `events` records and append them, encoded, to the prefix's topics."""
    from confluent_kafka import KafkaException, Producer

    from novalog.events.codec import encode
    from novalog.events.kafka.log import producer_config
    from novalog.projections.synthetic_log import Cloud, CloudShape

    producer = Producer({**producer_config(bootstrap), **PRODUCE_BATCH})
    failures: list[str] = []

    def delivered(err, msg) -> None:  # noqa: ANN001 - confluent-kafka's callback
        if err is not None:
            failures.append(str(err))

    started, per_topic = time.perf_counter(), Counter()
    cloud = Cloud(CloudShape(), seed)
    for n, record in enumerate(cloud.log(events), 1):
        value = record.value if isinstance(record.value, bytes) else encode(record.value)
        _produce(producer, f"{prefix}.{record.topic}", record.key.encode(), value, delivered)
        per_topic[record.topic] += 1
        if n % 5000 == 0:
            producer.poll(0)
            advance(5000)
    advance(events % 5000)
    if producer.flush(120) or failures:
        raise KafkaException(f"the bench log was not all written: {failures[:3] or 'flush timed out'}")
    return Written(dict(per_topic), cloud.dead_letters, time.perf_counter() - started)


def _produce(producer, topic: str, key: bytes, value: bytes, delivered: Callable) -> None:  # noqa: ANN001
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=delivered)
            return
        except BufferError:
            producer.poll(0.05)


def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until every deletion is answered
    for future in admin.delete_topics(list(names), operation_timeout=30).values():
        future.result(60)


def delete_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """Every topic of a benchmark's prefix: its own (`<prefix>.`) and its Faust changelogs (`<prefix>-`)."""
    from confluent_kafka.admin import AdminClient

    names = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    delete_topics(bootstrap, [name for name in names if name.startswith((f"{prefix}.", f"{prefix}-"))])


@click.command("replay")
@click.option("--events", default=1_000_000, show_default=True, help="records in the generated log")
@click.option("--seed", default=0, show_default=True, help="the generator's seed (the same seed, the same log)")
@click.option("--keep", is_flag=True, help="keep the bench topics (their prefix is printed) instead of deleting them")
def bench_replay(events: int, seed: int, keep: bool) -> None:
    """Replay a generated log of EVENTS records (boots, actions, moves, deletes, rejections, dead letters); print events/s."""
    from novalog.cli import _ensure_local_broker
    from novalog.events import topics
    from novalog.events.kafka.log import ensure_topics
    from novalog.replay import rebuild
    from novalog.settings import get_settings

    settings = get_settings()
    broker = _ensure_local_broker(settings)
    prefix = f"benchreplay{uuid.uuid4().hex[:8]}"
    specs = topics.topic_specs(prefix, settings.partitions)
    try:
        ensure_topics(settings.kafka_bootstrap, specs)
        with click.progressbar(length=events, label="writing", file=click.get_text_stream("stderr")) as bar:
            written = write_log(settings.kafka_bootstrap, prefix, events, seed, bar.update)
        with log_progress(quiet=False) as (advance, on_plan):
            began = time.perf_counter()
            result = rebuild(settings.kafka_bootstrap, prefix, progress=advance, on_plan=on_plan)
            wall = time.perf_counter() - began
    finally:
        if not keep:
            delete_topics(settings.kafka_bootstrap, specs)
        if broker is not None:
            broker.stop()
    _report(written, result, wall, prefix, keep)


def _report(written: Written, result, wall: float, prefix: str, keep: bool) -> None:  # noqa: ANN001
    click.echo(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    click.echo(f"generated {written.events} events ({written.dead_letters} undecodable or misplaced) in {written.seconds:.1f} s: "
               + ", ".join(f"{topic} {n}" for topic, n in sorted(written.per_topic.items())))
    rate = result.events / result.seconds if result.seconds > 0 else 0.0
    dead = sum(t.dead_letters for t in result.tables.values())
    click.echo(f"replay: {result.events} events in {result.seconds:.2f} s = {rate:,.0f} events/s "
               f"({wall:.2f} s with planning; {dead} dead letters)")
    click.echo("rows: " + ", ".join(f"{name} {len(t.rows)}" for name, t in result.tables.items()))
    click.echo(f"kept the bench topics: prefix {prefix}" if keep else f"deleted the bench topics ({prefix}.*)")
