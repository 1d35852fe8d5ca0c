"""`novalog status`: where the stack's parts answer, and how far behind the log each processor is."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def _answers(url: str) -> str:
    import httpx

    try:
        return f"answers ({httpx.get(url, timeout=2).status_code})"
    except httpx.HTTPError as exc:
        return f"does not answer ({type(exc).__name__})"


def processors(bootstrap: str, prefix: str) -> list[dict[str, Any]]:
    """Each consumer group of the prefix: its members and the records of its topics it has not committed yet."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    from novalog.events.kafka.log import consumer_config, watermarks

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    admin.list_topics(timeout=5)  # raises when the broker does not answer
    groups = sorted(g.group_id for g in admin.list_consumer_groups(request_timeout=10).result().valid if g.group_id.startswith(f"{prefix}-"))
    if not groups:
        return []
    described = {g: f.result() for g, f in admin.describe_consumer_groups(groups, request_timeout=10).items()}
    probe = Consumer(consumer_config(bootstrap, f"{prefix}-status-probe"))
    out = []
    try:
        for group in groups:
            offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
            lag = 0
            for tp in offsets.topic_partitions:
                if tp.offset >= 0:
                    lag += max(0, watermarks(probe, TopicPartition(tp.topic, tp.partition))[1] - tp.offset)
            out.append({"group": group, "members": len(described[group].members), "state": str(described[group].state.name).lower(), "lag": lag})
    finally:
        probe.close()
    return out


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """The broker, the API and the Schema Registry endpoint, and each processor's members and lag."""
    from novalog.settings import get_settings

    settings = get_settings()
    api = f"http://{settings.api_host}:{settings.api_port}"
    registry = f"http://{settings.schema_registry_host}:{settings.schema_registry_port}"
    report: dict[str, Any] = {
        "kafka": settings.kafka_bootstrap,
        "topic_prefix": settings.topic_prefix,
        "api": {"url": f"{api}/v2.1", "state": _answers(f"{api}/")},
        "schema_registry": {"url": registry, "state": _answers(f"{registry}/subjects")},
    }
    try:
        report["processors"] = processors(settings.kafka_bootstrap, settings.topic_prefix)
    except Exception as exc:  # the broker is down: say so, show the rest
        report["processors"] = []
        report["kafka_error"] = str(exc)
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(f"kafka            {report['kafka']} (topics {report['topic_prefix']}.*)" + (f": {report['kafka_error']}" if "kafka_error" in report else ""))
    click.echo(f"compute API      {report['api']['url']} {report['api']['state']}")
    click.echo(f"schema registry  {report['schema_registry']['url']} {report['schema_registry']['state']}")
    for p in report["processors"]:
        click.echo(f"  {p['group']:<40} {p['state']:<12} {p['members']} member(s), {p['lag']} records behind")
    if "kafka_error" in report:
        sys.exit(1)
