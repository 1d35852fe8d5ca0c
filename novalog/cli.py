"""The `novalog` command: run each service, the whole local stack, and the local broker."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from novalog.settings import Settings, get_settings


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group()
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def main(log_level: str) -> None:
    """novalog: an event-sourced compute control plane on Apache Kafka."""
    _logging(log_level)


@main.group()
def serve() -> None:
    """Run one service in the foreground."""


@serve.command("projections")
def serve_projections() -> None:
    """The Faust worker that keeps the host-state, instance and catalog tables."""
    from novalog.services import serve_projections as run

    run(get_settings())


@serve.command("scheduler")
def serve_scheduler() -> None:
    """A scheduler (several may run at once)."""
    from novalog.services import serve_scheduler as run

    run(get_settings())


@serve.command("api")
def serve_api() -> None:
    """The OpenStack Compute API on NOVALOG_API_HOST:NOVALOG_API_PORT."""
    from novalog.services import serve_api as run

    run(get_settings())


@serve.command("agent")
@click.argument("host")
def serve_agent(host: str) -> None:
    """The node agent of HOST (an entry of the hosts file)."""
    from novalog.services import serve_agent as run

    run(get_settings(), host)


@main.command()
def topics() -> None:
    """Create every shared topic (idempotent)."""
    from novalog.services import ensure_all_topics

    ensure_all_topics(get_settings())
    click.echo("topics ready")


@main.group()
def kafka() -> None:
    """The local single-node Kafka broker (KRaft) under the state folder."""


def _broker(settings: Settings):
    from novalog.broker import LocalBroker

    return LocalBroker()


@kafka.command("fetch")
def kafka_fetch() -> None:
    """Fetch the Kafka broker jars from Maven Central."""
    broker = _broker(get_settings())
    broker.fetch()
    click.echo(f"Kafka {broker.kafka_version} jars in {broker.libs_dir}")


@kafka.command("start")
def kafka_start() -> None:
    broker = _broker(get_settings())
    broker.fetch()
    if not broker.is_running():
        broker.start()
    broker.wait_ready(90)
    click.echo(f"Kafka broker ready at {broker.bootstrap}")


@kafka.command("stop")
def kafka_stop() -> None:
    click.echo("stopped" if _broker(get_settings()).stop() else "not running")


@main.command()
@click.option("--demo", "demo_count", default=4, show_default=True, help="servers to boot once the stack is up (0: none)")
@click.option("--exit/--stay", "exit_after", default=False, help="stop everything after the demo instead of serving")
@click.option("--schedulers", default=1, show_default=True)
def up(demo_count: int, exit_after: bool, schedulers: int) -> None:
    """Start the whole local stack: broker (unless NOVALOG_KAFKA_BOOTSTRAP names another), services, hosts."""
    from novalog.agent.config import load_hosts
    from novalog.demo import ComputeClient, run_demo
    from novalog.services import ensure_all_topics
    from novalog.stack import LocalStack

    settings = get_settings()
    broker = None
    if settings.kafka_bootstrap == Settings.model_fields["kafka_bootstrap"].default:
        broker = _broker(settings)
        click.echo("fetching Kafka jars (first run only) ...")
        broker.fetch()
        if not broker.is_running():
            broker.start()
        broker.wait_ready(90)
        click.echo(f"Kafka broker ready at {broker.bootstrap}")
    ensure_all_topics(settings)
    hosts = [h.name for h in load_hosts(Path(settings.hosts_file))]
    stack = LocalStack(settings)
    try:
        stack.start_all(hosts, schedulers=schedulers)
        stack.wait_api(90)
        client = ComputeClient(stack.api_url)
        deadline = time.monotonic() + 60
        while len([h for h in client.hypervisors() if h["state"] == "up"]) < len(hosts):
            stack.check_alive()
            if time.monotonic() > deadline:
                raise click.ClickException("the hosts did not all report in 60 s; see the logs in " + str(stack.log_dir))
            time.sleep(0.3)
        click.echo(f"API at {stack.api_url}/v2.1 (token 'admin:admin'); hosts: {', '.join(hosts)}; logs in {stack.log_dir}\n")
        if demo_count:
            active = run_demo(stack.api_url, demo_count, sys.stdout)
            click.echo(f"\n{active}/{demo_count} servers ACTIVE")
        if not exit_after:
            click.echo("serving; Ctrl-C stops everything")
            while all(p.poll() is None for p in stack.procs.values()):
                time.sleep(1)
            click.echo("a service exited; stopping", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop_all()
        if broker is not None:
            broker.stop()
