"""The hosts as columns: one numpy array per numeric SchedHost field, for filters and weighers that work on all hosts at once.

    SchedHost, SchedHost, ...  ──from_hosts──▶  HostColumns
                                                  free_ram_mb   [ 2048,  8192, ...]   one array per field
                                                  ram_room_mb   [ 2048., 8192., ...]  room, via capacity.room
                                                  agg_key       [ 0,     1,    ...]   index into agg_sets
                                                  agg_sets      [(az1,), (az1, ssd)]  distinct aggregate tuples
                                                  hosts         [SchedHost, ...]      for plug-ins without a columnar form

Row i of every array is `hosts[i]`. The scheduler builds this once per host
table and patches a row when one host changes (`update`) or when it counts one
more instance on it within a multi-instance request (`consume`), so a pass
never pays for rebuilding it. A HostColumns is a working copy owned by one
scheduling loop; the SchedHost values in it stay frozen, a patch swaps one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from novalog.events.capacity import room
from novalog.events.records import Claim, Resources
from novalog.scheduler.host_state import Aggregate, SchedHost, consume

# The numeric and flag fields of SchedHost that become columns, with Nova's names.
INT_FIELDS = (
    "total_usable_ram_mb", "free_ram_mb", "vcpus_total", "vcpus_used", "total_usable_disk_gb", "free_disk_mb",
    "num_instances", "num_io_ops", "hypervisor_version", "reserved_vcpus", "reserved_memory_mb", "reserved_disk_gb",
    "failed_builds",
)  # fmt: skip
FLOAT_FIELDS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")
BOOL_FIELDS = ("service_up", "disabled", "forced_down")
# Derived once per build (and per patched row) rather than in every pass: what
# the resource filters and the CPU weigher would otherwise recompute each time.
DERIVED_FIELDS = ("ram_claimed_mb", "disk_claimed_gb", "ram_room_mb", "vcpu_room", "disk_room_gb")

AggregateSetKey = tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]


class HostColumns:
    """Every host of a pass, field by field; see the module docstring for the layout.

    `cols.<field>` reads a column: the SchedHost names in INT_FIELDS,
    FLOAT_FIELDS and BOOL_FIELDS, and the DERIVED_FIELDS (claimed and room
    per resource, room being capacity.room's total x ratio - reserved - claimed).
    """

    hosts: list[SchedHost]
    names: list[str]
    agg_sets: list[tuple[Aggregate, ...]]
    agg_key: np.ndarray  # intp, one per row: agg_sets[agg_key[row]] == hosts[row].aggregates
    agg_rep: list[int]  # per set, a row holding it (while any does): the host to ask per-set questions
    columns: dict[str, np.ndarray]

    def __init__(self, hosts: Sequence[SchedHost]) -> None:
        self.hosts, n = list(hosts), len(hosts)
        self.names = [h.host for h in self.hosts]
        self.columns = {}
        for names, dtype in ((INT_FIELDS, np.int64), (FLOAT_FIELDS, np.float64), (BOOL_FIELDS, np.bool_)):
            for name in names:
                self.columns[name] = np.fromiter(map(attrgetter(name), self.hosts), dtype=dtype, count=n)
        self.columns.update(_derived(self.columns))
        # A name's row, or its rows (ascending) when several share it: a list per host would cost
        # ~120 bytes a host (12 MB at 100,000) for the rare repeated name.
        self._rows_by_name: dict[str, int | list[int]] = {}
        for row, name in enumerate(self.names):
            self._add_name(name, row)
        self.agg_sets, self.agg_rep = [], []
        self._agg_index: dict[AggregateSetKey, int] = {}
        # Hosts built from one aggregates tuple share it: key each object once.
        # The ids stay valid because self.hosts keeps every tuple alive meanwhile.
        by_identity: dict[int, int] = {}
        keys = []
        for row, host in enumerate(self.hosts):
            index = by_identity.get(id(host.aggregates))
            if index is None:
                index = by_identity[id(host.aggregates)] = self._agg_set_index(host.aggregates, row)
            keys.append(index)
        self.agg_key = np.array(keys, dtype=np.intp)

    @classmethod
    def from_hosts(cls, hosts: Sequence[SchedHost]) -> HostColumns:
        """The columns of `hosts`, row i being hosts[i]; aggregate sets deduplicated by value."""
        return cls(hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def __getattr__(self, name: str) -> np.ndarray:
        # cols.free_ram_mb reads the column; only reached for names that are not attributes.
        try:
            return self.__dict__["columns"][name]
        except KeyError:  # also while unpickling, before __dict__ is filled
            raise AttributeError(name) from None

    def rows_named(self, names: Iterable[str]) -> np.ndarray:
        """The rows (ascending) of the hosts with any of these names; unknown names are skipped."""
        rows = sorted(row for name in set(names) for row in self._rows_of(name))
        return np.array(rows, dtype=np.intp)

    def row_of(self, name: str) -> int | None:
        """The (first) row of the host with this name, or None."""
        rows = self._rows_by_name.get(name)
        return rows[0] if isinstance(rows, list) else rows

    def _rows_of(self, name: str) -> list[int]:
        rows = self._rows_by_name.get(name)
        return [] if rows is None else rows if isinstance(rows, list) else [rows]

    def _add_name(self, name: str, row: int) -> None:
        rows = self._rows_by_name.get(name)
        if rows is None:
            self._rows_by_name[name] = row
        else:
            self._rows_by_name[name] = sorted([*(rows if isinstance(rows, list) else [rows]), row])

    def _drop_name(self, name: str, row: int) -> None:
        rest = [r for r in self._rows_of(name) if r != row]
        if not rest:
            del self._rows_by_name[name]
        else:
            self._rows_by_name[name] = rest if len(rest) > 1 else rest[0]

    def update(self, row: int, host: SchedHost) -> None:
        """Put a newer view of one host in `row` (its table row changed); every column follows."""
        old = self.hosts[row]
        if old.host != host.host:
            self._drop_name(old.host, row)
            self._add_name(host.host, row)
        self.hosts[row], self.names[row] = host, host.host
        for name in (*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS):
            self.columns[name][row] = getattr(host, name)
        # The same formula as from_hosts, on the row's numpy scalars (same dtypes, same arithmetic):
        # the row cannot drift from a rebuild.
        for name, value in _derived({name: self.columns[name][row] for name in (*INT_FIELDS, *FLOAT_FIELDS)}).items():
            self.columns[name][row] = value
        old_key, new_key = int(self.agg_key[row]), self._agg_set_index(host.aggregates, row)
        self.agg_key[row] = new_key
        if new_key != old_key and self.agg_rep[old_key] == row:
            # The old set needs another representative; a set nobody holds keeps a stale one, never read.
            holders = np.flatnonzero(self.agg_key == old_key)
            if len(holders):
                self.agg_rep[old_key] = int(holders[0])

    def consume(self, row: int, request: Resources, claim_id: str, instance: Claim | None = None) -> SchedHost:
        """Count one more instance on the host in `row` (host_state.consume) and return its new view."""
        host = consume(self.hosts[row], request, claim_id, instance)
        if host is not self.hosts[row]:
            self.update(row, host)
        return host

    def per_aggregate_set(self, decide: Callable[[tuple[Aggregate, ...]], Any], dtype: Any = np.float64) -> np.ndarray:
        """decide(aggregates) for every row, computed once per distinct aggregate set and broadcast."""
        per_set = np.array([decide(aggregates) for aggregates in self.agg_sets], dtype=dtype)
        return per_set[self.agg_key] if len(per_set) else np.zeros(len(self), dtype=dtype)

    def _agg_set_index(self, aggregates: Sequence[Aggregate], row: int) -> int:
        """The index of this aggregate set, made (with `row` as its representative) if it is new."""
        key = _agg_set_key(aggregates)
        index = self._agg_index.get(key)
        if index is None:
            index = self._agg_index[key] = len(self.agg_sets)
            self.agg_sets.append(tuple(aggregates))
            self.agg_rep.append(row)
        return index


def _agg_set_key(aggregates: Sequence[Aggregate]) -> AggregateSetKey:
    """Equal keys for equal aggregate tuples: same aggregates, same order, same metadata in the same order.

    Order is kept, not normalized away, so that every host sharing a key would
    give any plug-in, even one that reads the first match, the same answer.
    """
    return tuple((a.id, a.name, tuple(a.metadata.items())) for a in aggregates)


def _derived(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Claimed and room per resource, exactly as SchedHost's properties and the resource filters compute them."""
    ram_claimed = columns["total_usable_ram_mb"] - columns["reserved_memory_mb"] - columns["free_ram_mb"]
    # free_disk_mb only moves by whole GB; floor division as SchedHost.disk_claimed_gb (numpy floors like Python).
    disk_claimed = columns["total_usable_disk_gb"] - columns["reserved_disk_gb"] - columns["free_disk_mb"] // 1024
    return {
        "ram_claimed_mb": ram_claimed,
        "disk_claimed_gb": disk_claimed,
        "ram_room_mb": np.asarray(
            room(columns["total_usable_ram_mb"], columns["ram_allocation_ratio"], columns["reserved_memory_mb"], ram_claimed),
            dtype=np.float64,
        ),
        "vcpu_room": np.asarray(
            room(columns["vcpus_total"], columns["cpu_allocation_ratio"], columns["reserved_vcpus"], columns["vcpus_used"]),
            dtype=np.float64,
        ),
        "disk_room_gb": np.asarray(
            room(columns["total_usable_disk_gb"], columns["disk_allocation_ratio"], columns["reserved_disk_gb"], disk_claimed),
            dtype=np.float64,
        ),
    }
