"""The `novalog` command: run each service, the whole local stack, and the local broker."""

from __future__ import annotations

import importlib
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from novalog.settings import Settings


def get_settings() -> Settings:
    """The settings, imported when a command reads them: pydantic-settings alone costs ~100 ms to import."""
    from novalog.settings import get_settings as load

    return load()


class LazyGroup(click.Group):
    """A command group whose subcommands (`name -> "module:attribute"`) are imported when one is run or listed.

    `novalog schedule --explain --hosts FILE` must start fast; importing every
    command's module (Kafka clients, FastAPI, Faust, rich...) to run one of
    them cost most of its 0.4 s start (BENCHMARKS.md, CLI start).
    """

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # click's own keywords, passed through
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, _, attribute = target.partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group(cls=LazyGroup, lazy={
    "schedule": "novalog.schedule_cmd:schedule",
    "schemas": "novalog.schemas_cmd:schemas",
    "export": "novalog.export_cmd:export",
    "replay": "novalog.replay_cmd:replay",
    "state": "novalog.replay_cmd:state",
    "audit": "novalog.audit_cmd:audit",
    "status": "novalog.status_cmd:status",
    "history": "novalog.history_cmd:history",
})
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def main(log_level: str) -> None:
    """novalog: an event-sourced compute control plane on Apache Kafka."""
    _logging(log_level)


@main.group(cls=LazyGroup, lazy={"schema-registry": "novalog.schemas_cmd:serve_schema_registry"})
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


@main.group(cls=LazyGroup, lazy={
    "boot": "novalog.bench_boot:bench_boot",
    "replay": "novalog.bench_replay:bench_replay",
    "reads": "novalog.bench_reads:bench_reads",
    "scheduler": "novalog.bench_scheduler:bench_scheduler",
    "placements": "novalog.bench_scheduler:bench_placements",
    "nova-compare": "novalog.bench_scheduler:bench_nova_compare",
    "startup": "novalog.bench_startup:bench_startup",
})
def bench() -> None:
    """Benchmarks that print their figures."""


def _ensure_local_broker(settings: Settings):
    """Start the embedded broker when the settings point at it; None when another cluster is configured."""
    from novalog.settings import Settings

    if settings.kafka_bootstrap != Settings.model_fields["kafka_bootstrap"].default:
        return None
    broker = _broker(settings)
    broker.fetch()
    if broker.is_running():
        broker.wait_ready(90)
        return None  # someone else's broker: leave it running
    broker.start()
    broker.wait_ready(90)
    return broker


@main.command()
@click.option("--demo", "demo_count", default=4, show_default=True, help="servers to boot once the stack is up (0: none)")
@click.option("--exit/--stay", "exit_after", default=False, help="stop everything after the demo instead of serving")
@click.option("--schedulers", default=1, show_default=True)
@click.option("--reset", is_flag=True, help="start from an empty log: wipe the local broker's data and the tables first")
def up(demo_count: int, exit_after: bool, schedulers: int, reset: bool) -> None:
    """Start the whole local stack: broker (unless NOVALOG_KAFKA_BOOTSTRAP names another), services, hosts."""
    from novalog.agent.config import load_hosts
    from novalog.api.identity.token_keys import KeyRepository
    from novalog.demo import run_demo
    from novalog.services import ensure_all_topics
    from novalog.settings import Settings
    from novalog.stack import LocalStack

    # The local demo trusts Nova's development tokens ('admin:admin'); Keystone tokens work too once
    # `novalog identity bootstrap` has made an admin (the keys are set up here).
    settings = get_settings().model_copy(update={"auth_strategy": "noauth2"})
    if reset:
        import shutil

        if settings.kafka_bootstrap != Settings.model_fields["kafka_bootstrap"].default:
            raise click.ClickException("--reset only wipes the embedded local broker, not a configured cluster")
        _broker(settings).reset()
        shutil.rmtree(Path(settings.state_dir) / "faust", ignore_errors=True)
    click.echo(f"Kafka at {settings.kafka_bootstrap} (fetching and starting the local broker if that is the default) ...")
    broker = _ensure_local_broker(settings)
    ensure_all_topics(settings)
    KeyRepository(settings.token_keys()).setup()
    hosts = [h.name for h in load_hosts(Path(settings.hosts_file))]
    stack = LocalStack(settings)
    try:
        stack.start_all(hosts, schedulers=schedulers)
        registry_url = stack.start_schema_registry()
        stack.wait_api(90)
        try:
            stack.wait_hosts_up(len(hosts))
        except TimeoutError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"API at {stack.api_url}/v2.1 (token 'admin:admin'; Keystone at {stack.api_url}/identity/v3); hosts: {', '.join(hosts)}; logs in {stack.log_dir}")
        click.echo(f"Schema Registry (read-only) at {registry_url}\n")
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


# --- identity: users, projects, role assignments, token keys ---


def _identity_admin():
    from novalog.identity_admin import IdentityAdmin

    try:
        return IdentityAdmin(get_settings())
    except TimeoutError as exc:
        raise click.ClickException(f"cannot read the identity table: {exc}") from exc


def _identity_call(action):
    """Run one administration step; a refusal or a write nobody folded is the command's error."""
    from novalog.api.identity.commands import InvalidIdentityRequest
    from novalog.identity_admin import IdentityAdminError

    with _identity_admin() as admin:
        try:
            return action(admin)
        except (IdentityAdminError, InvalidIdentityRequest, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc


@main.group()
def identity() -> None:
    """The identity store (Keystone v3 tokens at /identity/v3)."""


@identity.command("bootstrap")
@click.option("--admin-password", prompt=True, hide_input=True, confirmation_prompt=True, help="the admin user's password")
@click.option("--admin-user", default="admin", show_default=True)
@click.option("--admin-project", default="admin", show_default=True)
def identity_bootstrap(admin_password: str, admin_user: str, admin_project: str) -> None:
    """The admin project, the admin user and its admin role there (idempotent; resets a changed password)."""
    done = _identity_call(lambda admin: admin.bootstrap(admin_password, admin_user, admin_project))
    click.echo("\n".join(done) if done else "identity already bootstrapped")


@main.group()
def project() -> None:
    """Projects of the identity store."""


@project.command("create")
@click.argument("name")
@click.option("--description", default=None)
def project_create(name: str, description: str | None) -> None:
    row = _identity_call(lambda admin: admin.create_project(name, description))
    click.echo(f"created project {row.name} {row.project_id}")


@project.command("list")
def project_list() -> None:
    from novalog.events.state import ProjectState

    def listing(admin):
        return sorted((r for r in admin.rows.values() if isinstance(r, ProjectState)), key=lambda r: r.name)

    for row in _identity_call(listing):
        click.echo(f"{row.name:<16} {row.project_id}")


@main.group()
def user() -> None:
    """Users of the identity store (passwords are kept as Argon2id hashes only)."""


@user.command("create")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--project", "project_name", default=None, help="default project (and where --role is given)")
@click.option("--role", default=None, type=click.Choice(["admin", "member", "reader"]))
def user_create(name: str, password: str, project_name: str | None, role: str | None) -> None:
    if role and not project_name:
        raise click.UsageError("--role needs --project")

    def create(admin):
        row = admin.create_user(name, password, project_name)
        return admin.assign(name, project_name, role) if role else row

    row = _identity_call(create)
    click.echo(f"created user {row.name} {row.user_id}")


@user.command("set-password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_set_password(name: str, password: str) -> None:
    _identity_call(lambda admin: admin.set_password(name, password))
    click.echo(f"changed the password of {name}")


@user.command("list")
def user_list() -> None:
    from novalog.events.state import UserState

    def listing(admin):
        rows = sorted((r for r in admin.rows.values() if isinstance(r, UserState)), key=lambda r: r.name)
        return [admin.describe_user(r) for r in rows]

    for line in _identity_call(listing):
        click.echo(line)


@main.group()
def role() -> None:
    """Role assignments: admin implies member, member implies reader."""


@role.command("add")
@click.option("--user", "user_name", required=True)
@click.option("--project", "project_name", required=True)
@click.argument("role_name", type=click.Choice(["admin", "member", "reader"]))
def role_add(user_name: str, project_name: str, role_name: str) -> None:
    _identity_call(lambda admin: admin.assign(user_name, project_name, role_name))
    click.echo(f"gave {user_name} the {role_name} role on {project_name}")


@role.command("remove")
@click.option("--user", "user_name", required=True)
@click.option("--project", "project_name", required=True)
@click.argument("role_name", type=click.Choice(["admin", "member", "reader"]))
def role_remove(user_name: str, project_name: str, role_name: str) -> None:
    _identity_call(lambda admin: admin.unassign(user_name, project_name, role_name))
    click.echo(f"took the {role_name} role on {project_name} from {user_name}")


@main.group("token-keys")
def token_keys() -> None:
    """The Fernet keys that seal tokens (NOVALOG_TOKEN_KEY_DIR, by default .state/token-keys)."""


@token_keys.command("setup")
def token_keys_setup() -> None:
    """Make the key directory and its first key (idempotent)."""
    from novalog.api.identity.token_keys import KeyRepository

    repo = KeyRepository(get_settings().token_keys())
    made = repo.setup()
    click.echo(f"{'created' if made else 'kept'} token keys in {repo.path}: {', '.join(map(str, repo.numbers()))}")


@token_keys.command("rotate")
def token_keys_rotate() -> None:
    """A new primary key; the newest NOVALOG_TOKEN_MAX_ACTIVE_KEYS are kept, so tokens sealed before stay valid."""
    from novalog.api.identity.token_keys import KeyRepository, NoTokenKeys

    settings = get_settings()
    repo = KeyRepository(settings.token_keys())
    try:
        new = repo.rotate(settings.token_max_active_keys)
    except NoTokenKeys as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"primary token key is now {new}; keys kept: {', '.join(map(str, repo.numbers()))}")
