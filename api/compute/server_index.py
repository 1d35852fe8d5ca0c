"""The read cache's ordered indexes of servers: a page of a list costs its own length, not the whole table's.

Nova lists servers newest first (created_at desc, id desc). The index keeps,
for the whole table and for each project, the keys `(created_at,
instance_id)` in ascending order, once with every row and once without the
deleted ones (a list hides them unless an admin asks or `changes-since` is
given). A row's created_at and project never change, so an update moves a
key only when the row is deleted or comes back. A list walks one of these
from its marker and stops when its page is full:

```
rows arrive ─▶ put(row) ─▶ ALL / project p  ×  with deleted / live only   (sorted keys)
GET /servers?marker=m ─▶ scope(...) ─▶ walk(scope, after=key of m) ─▶ filter ─▶ limit rows
```

It also keeps every row's `(updated_at, instance_id)` in order, so that
`changes-since` (how clients poll for what changed) reads only the rows
changed since then, not the whole table.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from datetime import datetime

from novalog.events.state import InstanceState

Key = tuple[datetime, str]
ALL = None  # the scope of every project


def sort_key(row: InstanceState) -> Key:
    """Where a row sits in Nova's default order (ascending here; lists walk it backwards)."""
    return (row.created_at, row.instance_id)


class ServerIndex:
    """Sorted keys of the instance rows per scope (ALL or a project), with and without the deleted ones."""

    def __init__(self) -> None:
        # (scope, with_deleted) -> ascending keys
        self._keys: dict[tuple[str | None, bool], list[Key]] = {}
        self._updated: list[Key] = []  # (updated_at, instance_id) of every row, ascending

    def put(self, old: InstanceState | None, new: InstanceState) -> None:
        """Index a row that arrived (`old`: the row it replaces, or None)."""
        if old is None or old.updated_at != new.updated_at:
            if old is not None:
                _remove(self._updated, (old.updated_at, old.instance_id))
            insort(self._updated, (new.updated_at, new.instance_id))
        if old is not None and sort_key(old) != sort_key(new) or old is not None and old.project_id != new.project_id:
            self._drop_keys(old)
            old = None
        key = sort_key(new)
        for scope in (ALL, new.project_id):
            if old is None:
                insort(self._list(scope, True), key)
            if _live(new) and (old is None or not _live(old)):
                insort(self._list(scope, False), key)
            elif not _live(new) and old is not None and _live(old):
                _remove(self._list(scope, False), key)

    def drop(self, old: InstanceState) -> None:
        """Forget a row (a tombstone on the state topic)."""
        _remove(self._updated, (old.updated_at, old.instance_id))
        self._drop_keys(old)

    def _drop_keys(self, old: InstanceState) -> None:
        key = sort_key(old)
        for scope in (ALL, old.project_id):
            _remove(self._list(scope, True), key)
            if _live(old):
                _remove(self._list(scope, False), key)

    def walk(self, scope: str | None, with_deleted: bool, descending: bool, after: Key | None = None) -> Iterator[str]:
        """Instance ids of the scope in order, starting past `after` (a marker's key). Read under the cache's lock."""
        keys = self._keys.get((scope, with_deleted), [])
        if descending:
            start = len(keys) - 1 if after is None else bisect_left(keys, after) - 1
            return (keys[i][1] for i in range(start, -1, -1))
        start = 0 if after is None else bisect_right(keys, after)
        return (keys[i][1] for i in range(start, len(keys)))

    def changed_since(self, when: datetime) -> list[str]:
        """Ids of the rows updated at or after `when` (every scope, deleted ones too). Read under the cache's lock."""
        start = bisect_left(self._updated, (when,))
        return [key[1] for key in self._updated[start:]]

    def __len__(self) -> int:
        return len(self._keys.get((ALL, True), []))

    def _list(self, scope: str | None, with_deleted: bool) -> list[Key]:
        return self._keys.setdefault((scope, with_deleted), [])


def _live(row: InstanceState) -> bool:
    return row.vm_state != "deleted"


def _remove(keys: list[Key], key: Key) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]
