"""The identity store's administration for the `novalog` command: append identity events, wait until the table shows them.

Each write waits until the identity table's row for its key has folded it
(row offset at or past the write's position), so the command can tell the
caller what happened: a create that met an existing name left the other
creator's row, and is reported as already existing.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Message

from novalog.api.identity import commands
from novalog.api.identity.passwords import hash_password, verify_password
from novalog.events import topics
from novalog.events.identity import DEFAULT_DOMAIN_ID, effective_roles, project_key, user_key
from novalog.events.kafka.feed import TopicFeed
from novalog.events.kafka.log import EventLog
from novalog.events.outbound import Outbound
from novalog.events.state import ProjectState, UserState
from novalog.settings import Settings


class IdentityAdminError(RuntimeError):
    """The request was refused (a name taken, a user or project unknown) or never folded."""


class IdentityAdmin:
    """Projects, users and role assignments, written through the event log."""

    def __init__(self, settings: Settings, wait: float = 30.0) -> None:
        self.wait = wait
        self.rows: dict[str, Any] = {}
        self._log = EventLog(settings.kafka_bootstrap, settings.topic_prefix)
        self._feed = TopicFeed(settings.kafka_bootstrap, [settings.topic(topics.STATE_IDENTITY)], self._apply, "identity-admin")
        self._feed.start(wait)

    def _apply(self, msg: Message, row: Any) -> None:
        key = msg.key().decode()
        if row is None:
            self.rows.pop(key, None)
        else:
            self.rows[key] = row

    def close(self) -> None:
        self._feed.stop()
        self._log.close()

    def __enter__(self) -> IdentityAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, out: Outbound) -> Any:
        (pos,) = self._log.append([out])
        if not self._feed.wait_until(lambda: getattr(self.rows.get(out.key), "offset", -1) >= pos.offset, self.wait):
            raise IdentityAdminError(f"the identity table did not show {out.key} within {self.wait:g} s: is the projection worker running?")
        return self.rows[out.key]

    def project(self, name: str) -> ProjectState:
        row = self.rows.get(project_key(DEFAULT_DOMAIN_ID, name))
        if not isinstance(row, ProjectState):
            raise IdentityAdminError(f"no project {name!r}")
        return row

    def user(self, name: str) -> UserState:
        row = self.rows.get(user_key(DEFAULT_DOMAIN_ID, name))
        if not isinstance(row, UserState):
            raise IdentityAdminError(f"no user {name!r}")
        return row

    def create_project(self, name: str, description: str | None = None) -> ProjectState:
        out = commands.create_project(name, description)
        row = self._write(out)
        if row.project_id != out.record.project_id:
            raise IdentityAdminError(f"project {name!r} already exists (id {row.project_id})")
        return row

    def create_user(self, name: str, password: str, default_project: str | None = None) -> UserState:
        project_id = self.project(default_project).project_id if default_project else None
        out = commands.create_user(name, hash_password(password), project_id)
        row = self._write(out)
        if row.user_id != out.record.user_id:
            raise IdentityAdminError(f"user {name!r} already exists (id {row.user_id})")
        return row

    def set_password(self, name: str, password: str) -> UserState:
        return self._write(commands.change_password(self.user(name), hash_password(password)))

    def assign(self, user: str, project: str, role: str) -> UserState:
        return self._write(commands.assign_role(self.user(user), self.project(project), role))

    def unassign(self, user: str, project: str, role: str) -> UserState:
        row, target = self.user(user), self.project(project)
        if role not in row.roles.get(target.project_id, []):
            raise IdentityAdminError(f"user {user!r} has no role {role!r} on project {project!r}")
        return self._write(commands.unassign_role(row, target, role))

    def bootstrap(self, password: str, user: str = "admin", project: str = "admin") -> list[str]:
        """The admin project, the admin user with that password, and its admin role there; what had to be done."""
        done = []
        if project_key(DEFAULT_DOMAIN_ID, project) not in self.rows:
            self.create_project(project, "Bootstrap project for initializing the cloud.")
            done.append(f"created project {project}")
        if user_key(DEFAULT_DOMAIN_ID, user) not in self.rows:
            self.create_user(user, password, project)
            done.append(f"created user {user}")
        elif not verify_password(self.user(user).password_hash, password):
            self.set_password(user, password)
            done.append(f"changed the password of {user}")
        if "admin" not in self.user(user).roles.get(self.project(project).project_id, []):
            self.assign(user, project, "admin")
            done.append(f"gave {user} the admin role on {project}")
        return done

    def describe_user(self, row: UserState) -> str:
        names = {p.project_id: p.name for p in self.rows.values() if isinstance(p, ProjectState)}
        grants = ", ".join(f"{names.get(p, p)}: {'+'.join(effective_roles(r))}" for p, r in sorted(row.roles.items())) or "no roles"
        return f"{row.name:<16} {row.user_id}  {grants}"
