"""The API's read model: the projections' rows as the state topics publish them, keyed lookups over them, and a way to wait for a write.

Pure: whatever reads the state topics hands each row change to `apply` (the
Kafka shell, api/cache.py ReadCache; the in-memory log, novalog/memory.py).
A write waits until its own row shows up with an offset at or past the
write's position (read-your-writes), so the same client's next GET sees it.

```
state row change ─▶ apply(RowChange) ─▶ tables (instances, catalog, identity, tenant, aggregates: decoded;
                                                 hosts, quotas: bytes, decoded when read)
                                     └▶ server index (server_index.py)
publish(changes) = apply each under the lock, then wake the waiters of their keys
flavor(id), keypair(user, name), instance(id), host(name), quota_row(project) ... ─▶ the typed row, or None
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from novalog.api.compute.server_index import ServerIndex
from novalog.events import topics
from novalog.events.codec import decode
from novalog.events.identity import project_key, user_key
from novalog.events.records import HostAggregate
from novalog.events.row_headers import DECIDED_HEADER, SOURCE_HEADER, parse_decided_header, parse_source_position
from novalog.events.state import (
    AggregatesState,
    FlavorState,
    HostState,
    ImageState,
    InstanceState,
    KeypairState,
    ProjectState,
    QuotaState,
    ServerGroupState,
    UserState,
)
from novalog.events.tenant import keypair_key, server_group_key
from novalog.events.waiters import Waiters

# The state topics the API reads (logical names), and those of them whose rows arrive as bytes.
TABLES = (topics.STATE_INSTANCES, topics.STATE_CATALOG, topics.STATE_HOSTS, topics.STATE_IDENTITY, topics.STATE_QUOTAS,
          topics.STATE_AGGREGATES, topics.STATE_TENANT)
LAZY_TABLES = (topics.STATE_HOSTS, topics.STATE_QUOTAS)
# The one key of the aggregates table: every aggregate is in one row (one writer numbers them).
AGGREGATES_KEY = "aggregates"

Source = tuple[str, int, int]
T = TypeVar("T")
Decided = Mapping[str, tuple[str, list[str]]]


@dataclass(frozen=True, slots=True)
class RowChange:
    """One record of a state topic: its table (the logical state topic), its key, and the row.

    `row` is the decoded row, or its bytes for the LAZY_TABLES; None: the key
    is gone (a tombstone). `source` is the log position of the record that
    made it, `decided` the decisions it newly holds (the row's headers).
    """

    table: str
    key: str
    row: Any
    source: Source | None = None
    decided: Decided | None = None


def row_change(table: str, key: str, row: Any, headers: Iterable[tuple[str, bytes]] | None = None) -> RowChange:
    """A state-topic record as the read model takes it: its source position and decisions read from its headers."""
    found = dict(headers or ())
    source, decided = found.get(SOURCE_HEADER), found.get(DECIDED_HEADER)
    return RowChange(table, key, row, parse_source_position(source) if source else None, parse_decided_header(decided) if decided else None)


class LazyRows(Mapping[str, Any]):
    """A table of rows with, per row, the position of the record that made it and the decisions it announced.

    `reached` tells from that position alone whether a row has folded a
    given record, and `decision` answers a create from the decisions the
    row's versions announced in their header (events/row_headers.py
    DECIDED_HEADER). A create thus never decodes its project's row: when
    that row still listed every counted instance, decoding each version as
    it arrived (184 KB at 3,000 servers, 4.6 ms) was over a third of the
    API's CPU under a steady boot load; it now keeps running totals and the
    recent decisions (about 27 KB at 3,000 servers). A row is decoded when
    something reads it (limits, quota sets), once per version.
    """

    def __init__(self, decisions_kept: int = 1024) -> None:
        self._raw: dict[str, tuple[bytes, Source | None]] = {}
        self._decoded: dict[str, tuple[bytes, Any]] = {}
        self._decided: dict[str, dict[str, tuple[str, list[str]]]] = {}
        self._decisions_kept = decisions_kept

    def put(self, key: str, raw: bytes, source: Source | None, decided: Decided | None = None) -> None:
        self._raw[key] = (raw, source)
        if decided:
            recent = self._decided.setdefault(key, {})
            recent.update(decided)
            while len(recent) > self._decisions_kept:  # far more than creates ever wait at once
                del recent[next(iter(recent))]

    def drop(self, key: str) -> None:
        self._raw.pop(key, None)
        self._decoded.pop(key, None)
        self._decided.pop(key, None)

    def reached(self, key: str, topic: str, partition: int, offset: int) -> bool:
        """True once the row has folded the record at topic[partition]@offset (or one after it)."""
        held = self._raw.get(key)
        source = held[1] if held is not None else None
        return source is not None and source[0] == topic and source[1] == partition and source[2] >= offset

    def decision(self, key: str, decision_id: str) -> tuple[str, list[str]] | None:
        """The (message, accepted ids) a version of the row announced for the decision, if one did."""
        return self._decided.get(key, {}).get(decision_id)

    def __getitem__(self, key: str) -> Any:
        raw = self._raw[key][0]
        memo = self._decoded.get(key)
        if memo is not None and memo[0] is raw:
            return memo[1]
        row = decode(raw)
        self._decoded[key] = (raw, row)  # tied to these bytes: a newer version put meanwhile is decoded afresh
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class ReadModel:
    """Current rows of the instance, catalog, host, identity, quota, aggregate and tenant tables, and their waiters."""

    def __init__(self) -> None:
        self.instances: dict[str, Any] = {}
        # The instance rows in Nova's list order, per project, kept as they arrive (server_index.py).
        self.servers = ServerIndex()
        # Flavors (`flavor:<id>`) and images (`image:<id>`).
        self.catalog: dict[str, Any] = {}
        # Rows that change with every create and are tens of KB each (a host's claims, a project's
        # recent quota decisions): kept as bytes, decoded when a request reads them (LazyRows).
        self.hosts = LazyRows()
        # Projects (`project:<domain>:<name>`) and users (`user:<domain>:<name>`).
        self.identity: dict[str, Any] = {}
        self.quotas = LazyRows()
        self.aggregates: dict[str, Any] = {}
        # Key pairs (`keypair:<user>:<name>`) and server groups (`server_group:<id>`).
        self.tenant: dict[str, Any] = {}
        self._plain: dict[str, dict[str, Any]] = {
            topics.STATE_INSTANCES: self.instances, topics.STATE_CATALOG: self.catalog, topics.STATE_IDENTITY: self.identity,
            topics.STATE_AGGREGATES: self.aggregates, topics.STATE_TENANT: self.tenant,
        }
        self._lazy = {topics.STATE_HOSTS: self.hosts, topics.STATE_QUOTAS: self.quotas}
        # A re-entrant condition: a feed may hold it around a batch of `apply` calls.
        self.waiters = Waiters(threading.Condition())

    @property
    def lock(self) -> Any:
        """Held while rows are applied: hold it to walk the indexes consistently."""
        return self.waiters.lock

    def apply(self, change: RowChange) -> None:
        """Take one state-row change into its table (and the server index); the waiters are not woken (see publish)."""
        with self.lock:
            if (lazy := self._lazy.get(change.table)) is not None:
                if change.row is None:
                    lazy.drop(change.key)
                else:
                    lazy.put(change.key, change.row, change.source, change.decided)
                return
            table = self._plain[change.table]
            instances = change.table == topics.STATE_INSTANCES
            if change.row is None:
                old = table.pop(change.key, None)
                if old is not None and instances:
                    self.servers.drop(old)
                return
            if instances:
                self.servers.put(table.get(change.key), change.row)
            table[change.key] = change.row

    def publish(self, changes: Iterable[RowChange]) -> None:
        """Apply the changes as one batch, then wake whoever waits for one of their keys."""
        with self.lock:
            touched: set[bytes | None] = set()
            for change in changes:
                self.apply(change)
                touched.add(change.key.encode())
            self.waiters.wake(touched)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, key: str | None = None) -> bool:
        """Wait for the predicate; with `key`, it reads only that row, and is checked when that row arrives."""
        return self.waiters.wait(predicate, timeout, key)

    # --- typed lookups: the row a key names, or None ---------------------------------------

    def instance(self, instance_id: str) -> InstanceState | None:
        """The instance's row, deleted ones too (their vm_state says so)."""
        return self.instances.get(instance_id)

    def instance_rows(self) -> list[InstanceState]:
        return list(self.instances.values())

    def flavor(self, flavor_id: str) -> FlavorState | None:
        """The flavor's row, a deleted one too (`deleted` says so)."""
        return _typed(self.catalog.get(f"flavor:{flavor_id}"), FlavorState)

    def flavors(self) -> list[FlavorState]:
        """The flavors not deleted, by id."""
        return sorted((r for r in list(self.catalog.values()) if isinstance(r, FlavorState) and not r.deleted), key=lambda r: r.flavor.id)

    def image(self, image_id: str) -> ImageState | None:
        """The image's row, a deleted one too (its status says so)."""
        return _typed(self.catalog.get(f"image:{image_id}"), ImageState)

    def images(self) -> list[ImageState]:
        """Every image row, deleted ones too."""
        return [r for r in list(self.catalog.values()) if isinstance(r, ImageState)]

    def keypair(self, user_id: str, name: str) -> KeypairState | None:
        """The user's key pair of that name, a deleted one too (`deleted` says so)."""
        return _typed(self.tenant.get(keypair_key(user_id, name)), KeypairState)

    def keypairs(self, user_id: str) -> list[KeypairState]:
        """The user's key pairs not deleted."""
        prefix = keypair_key(user_id, "")
        return [r for k, r in list(self.tenant.items()) if k.startswith(prefix) and isinstance(r, KeypairState) and not r.deleted]

    def server_group(self, group_id: str) -> ServerGroupState | None:
        """The server group's row, a deleted one too (`deleted` says so)."""
        return _typed(self.tenant.get(server_group_key(group_id)), ServerGroupState)

    def server_groups(self) -> list[ServerGroupState]:
        """Every server group not deleted."""
        return [r for r in list(self.tenant.values()) if isinstance(r, ServerGroupState) and not r.deleted]

    def aggregates_row(self) -> AggregatesState | None:
        """The one row that holds every aggregate (None before the first was made)."""
        return _typed(self.aggregates.get(AGGREGATES_KEY), AggregatesState)

    def aggregate_list(self) -> list[HostAggregate]:
        row = self.aggregates_row()
        return list(row.aggregates) if row is not None else []

    def host(self, name: str) -> HostState | None:
        return self.hosts.get(name)

    def host_names(self) -> list[str]:
        """The hosts that have reported, without decoding their rows."""
        return list(self.hosts)

    def has_host(self, name: str) -> bool:
        """Whether the host has reported, without decoding its row."""
        return name in self.hosts

    def host_rows(self) -> list[HostState]:
        """Every host's row, by name."""
        return [self.hosts[name] for name in sorted(self.hosts)]

    def quota_row(self, project_id: str) -> QuotaState | None:
        return self.quotas.get(project_id)

    def project(self, project_id: str) -> ProjectState | None:
        """The project of that id (projects are keyed by name: this walks them)."""
        return next((r for r in self.projects() if r.project_id == project_id), None)

    def project_named(self, domain_id: str, name: str) -> ProjectState | None:
        return _typed(self.identity.get(project_key(domain_id, name)), ProjectState)

    def projects(self) -> list[ProjectState]:
        return [r for r in list(self.identity.values()) if isinstance(r, ProjectState)]

    def user(self, user_id: str) -> UserState | None:
        """The user of that id (users are keyed by name: this walks them)."""
        return next((r for r in self.users() if r.user_id == user_id), None)

    def user_named(self, domain_id: str, name: str) -> UserState | None:
        return _typed(self.identity.get(user_key(domain_id, name)), UserState)

    def users(self) -> list[UserState]:
        return [r for r in list(self.identity.values()) if isinstance(r, UserState)]

    def roles(self, user_id: str, project_id: str) -> list[str]:
        """The roles given to the user on the project (not those they imply); [] for an unknown user."""
        user = self.user(user_id)
        return list(user.roles.get(project_id, [])) if user is not None else []


def _typed(row: Any, kind: type[T]) -> T | None:
    return row if isinstance(row, kind) else None
