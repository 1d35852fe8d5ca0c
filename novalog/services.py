"""The composition root: builds each service from settings and runs it in this process."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novalog.events import topics
from novalog.events.instance_names import InstanceNaming
from novalog.events.kafka.log import ConsumeLoop, EventLog, consumer_config, ensure_topics
from novalog.settings import Settings

if TYPE_CHECKING:
    from novalog.api.deps import ApiBackend
    from novalog.api.identity.token_keys import KeyRing

log = logging.getLogger("novalog")


def ensure_all_topics(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, topics.topic_specs(settings.topic_prefix, settings.partitions))


def _on_signals(stop: Callable[[], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


def serve_projections(settings: Settings) -> None:
    """The projection worker: the deciding tables' plain loop in a thread, and Faust with the other tables."""
    import threading

    from novalog.projections.decisions import DecisionLoop
    from novalog.projections.worker import build_app, changelog_specs, run_worker

    ensure_all_topics(settings)
    ensure_topics(settings.kafka_bootstrap, changelog_specs(settings.topic_prefix, settings.partitions))
    datadir = Path(settings.state_dir) / "faust" / settings.topic_prefix
    datadir.mkdir(parents=True, exist_ok=True)
    decisions = DecisionLoop(settings.kafka_bootstrap, settings.topic_prefix, Path(settings.state_dir) / "decisions" / settings.topic_prefix)
    failed: list[BaseException] = []

    def run_decisions() -> None:
        try:
            decisions.run()
        except BaseException as exc:  # a dead loop must not leave a worker that looks alive
            failed.append(exc)
            log.exception("the decision loop failed; stopping the worker")
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=run_decisions, name="decisions", daemon=True)
    thread.start()
    app = build_app(settings.kafka_bootstrap, settings.topic_prefix, settings.partitions, datadir)
    try:
        run_worker(app)
    finally:
        decisions.stop()
        thread.join(10)


# The scheduler's proposals linger in the producer until its consume loop flushes them, once per
# polled batch (ConsumeLoop.run_once): a burst's proposals go out in a few produce requests instead
# of one each, and a lone request's proposal still leaves as soon as it is handled. The loop is the
# log's only user and flushes before it reads a future, so the log needs no poller thread (polled=False).
SCHEDULER_LINGER_MS = 50


def serve_scheduler(settings: Settings) -> None:
    from confluent_kafka import Consumer

    from novalog.scheduler.live import ColumnViews
    from novalog.scheduler.options import SchedulerOptions
    from novalog.scheduler.options_file import OptionsFile
    from novalog.scheduler.service import Scheduler
    from novalog.scheduler.table import HostTable

    ensure_all_topics(settings)
    event_log = EventLog(settings.kafka_bootstrap, settings.topic_prefix, linger_ms=SCHEDULER_LINGER_MS, polled=False)
    table = HostTable(
        settings.kafka_bootstrap, settings.topic(topics.STATE_HOSTS), settings.topic(topics.HOST_HEARTBEATS),
        settings.topic(topics.STATE_AGGREGATES),
    ).start()
    name = f"novalog-scheduler-{socket.gethostname()}-{os.getpid()}"
    options = OptionsFile(settings.scheduler_options_file, SchedulerOptions(max_attempts=settings.max_attempts))
    scheduler = Scheduler(name, ColumnViews(table, settings.service_down_time), options.current, settings.service_down_time)
    consumer = Consumer(consumer_config(settings.kafka_bootstrap, f"{settings.topic_prefix}-scheduler"))
    loop = ConsumeLoop(event_log, consumer, name, lambda msg, record: scheduler.handle(record), dead_letter_failures=True)
    loop.subscribe([settings.topic(topics.INSTANCE_EVENTS)])
    _on_signals(loop.stop)
    log.info("scheduler %s serving", name)
    try:
        loop.run()
    finally:
        loop.close()
        table.stop()
        event_log.close()


def make_driver(settings: Settings, host_name: str):
    from novalog.agent.config import load_hosts
    from novalog.agent.node import node_xml, test_uri

    hosts = {h.name: h for h in load_hosts(Path(settings.hosts_file))}
    if host_name not in hosts:
        raise SystemExit(f"host {host_name!r} is not in {settings.hosts_file} (known: {', '.join(sorted(hosts))})")
    config = hosts[host_name]
    if config.driver == "fake":
        from novalog.agent.driver import NodeInfo
        from novalog.agent.fake import FakeDriver

        node = NodeInfo("fake", 1000, config.name, "fake", config.vcpus, config.memory_mb)
        return config, FakeDriver(node, fail_spawn_images=set(config.fail_spawn_images))
    from novalog.agent.libvirt_driver import LibvirtDriver

    uri = config.uri
    if not uri:
        path = Path(settings.state_dir) / "hosts" / f"{config.name}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(node_xml(config.vcpus, config.memory_mb))
        uri = test_uri(path)
    # The configured inventory, not libvirt's view of the machine, is what the host offers.
    driver = LibvirtDriver(uri, config.name, vcpus=config.vcpus, memory_mb=config.memory_mb, image=config.guest_image())
    return config, driver


def serve_agent(settings: Settings, host_name: str) -> None:
    from novalog.agent.service import NodeAgent

    ensure_all_topics(settings)
    config, driver = make_driver(settings, host_name)
    event_log = EventLog(settings.kafka_bootstrap, settings.topic_prefix)
    agent = NodeAgent(
        config,
        driver,
        event_log,
        settings.kafka_bootstrap,
        default_ratios=(settings.cpu_allocation_ratio, settings.ram_allocation_ratio, settings.disk_allocation_ratio),
        heartbeat_interval=settings.heartbeat_interval,
        capacity_interval=settings.capacity_report_interval,
        naming=InstanceNaming(settings.instance_name_template, settings.partitions),
    )
    _on_signals(agent.stop)
    try:
        agent.run(settings.topic_prefix)
    finally:
        driver.close()
        event_log.close()


def token_ring(settings: Settings) -> KeyRing:
    """The token keys the API signs and checks with; none is an error under keystone, a warning under noauth2."""
    from novalog.api.identity.token_keys import KeyRepository, KeyRing

    keys = KeyRepository(settings.token_keys())
    if not keys.numbers():
        if settings.auth_strategy == "keystone":
            raise SystemExit(f"no token keys in {keys.path}: run `novalog token-keys setup` (or set NOVALOG_TOKEN_KEY_DIR)")
        log.warning("no token keys in %s: only noauth2 tokens work until `novalog token-keys setup`", keys.path)
    return KeyRing(keys)


def api_backend(settings: Settings, event_log: Any, cache: Any, keys: KeyRing) -> ApiBackend:
    """The API's backend over an event log and a read model: the settings' waits, policy, quotas, tokens and image store."""
    from novalog.api.app import ApiBackend
    from novalog.api.identity.auth import IdentityService
    from novalog.api.image.store import ImageStore

    identity = IdentityService(keys, cache.identity, settings.token_expiration, settings.auth_strategy)
    return ApiBackend(
        event_log, cache, settings.api_write_wait, settings.service_down_time, settings.allow_resize_to_same_host, settings.policy_file,
        quota_defaults=settings.quota_defaults, identity=identity,
        instance_naming=InstanceNaming(settings.instance_name_template, settings.partitions),
        image_store=ImageStore(settings.image_store(), settings.image_size_cap),
    )


def serve_api(settings: Settings) -> None:
    import uvicorn

    from novalog.api.app import create_app
    from novalog.api.cache import ReadCache

    ensure_all_topics(settings)
    keys = token_ring(settings)
    event_log = EventLog(settings.kafka_bootstrap, settings.topic_prefix)
    cache = ReadCache(settings.kafka_bootstrap, settings.topic_prefix).start()
    app = create_app(api_backend(settings, event_log, cache, keys))
    try:
        uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning", access_log=False)
    finally:
        cache.stop()
        event_log.close()


def serve_schema_registry(settings: Settings) -> None:
    """The read-only Schema Registry subset; it reads only schemas/, never Kafka."""
    import uvicorn

    from novalog.api.schema_registry import create_registry_app
    from novalog.events.registry import RegistryIndex

    app = create_registry_app(RegistryIndex.from_manifest())
    log.info("schema registry at http://%s:%d", settings.schema_registry_host, settings.schema_registry_port)
    uvicorn.run(app, host=settings.schema_registry_host, port=settings.schema_registry_port, log_level="warning", access_log=False)
