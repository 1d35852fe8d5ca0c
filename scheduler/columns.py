"""The hosts as columns: one numpy array per numeric SchedHost field, for filters and weighers that work on all hosts at once.

    SchedHost, SchedHost, ...  ──from_hosts──▶  HostColumns
                                                  free_ram_mb   [ 2048,  8192, ...]   one array per field
                                                  ram_room_mb   [ 2048., 8192., ...]  room, via capacity.room
                                                  agg_key       [ 0,     1,    ...]   index into agg_sets
                                                  agg_sets      [(az1,), (az1, ssd)]  distinct aggregate tuples
                                                  hosts         [SchedHost, ...]      for plug-ins without a columnar form

Row i of every array is `hosts[i]`. Built with a `source` (the scheduler's
ColumnViews), `hosts` keeps no view: row i's is built when read, from the
source's table row and the columns, except the few a source cannot derive
(those counting claims not in the table yet), which are kept. At 100,000
hosts a kept view per host was ~35 MB, a quarter of the process. The scheduler builds this once per host
table and patches a row when one host changes (`update`) or when it counts one
more instance on it within a multi-instance request (`consume`), so a pass
never pays for rebuilding it. A HostColumns is a working copy owned by one
scheduling loop; the SchedHost values in it stay frozen, a patch swaps one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from operator import attrgetter, index
from typing import Any, Protocol

from novalog.events.capacity import room
from novalog.events.records import Claim, Resources
from novalog.scheduler.host_state import Aggregate, SchedHost, consume, consumption
from novalog.scheduler.lazy_numpy import np

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
DERIVED_FIELDS = (
    "ram_claimed_mb", "disk_claimed_gb", "ram_room_mb", "vcpu_room", "disk_room_gb", "ram_fit_mb", "vcpu_fit", "disk_fit_gb",
)  # fmt: skip
# The columns DERIVED_FIELDS are computed from.
DERIVED_INPUTS = (
    "total_usable_ram_mb", "reserved_memory_mb", "free_ram_mb", "total_usable_disk_gb", "reserved_disk_gb", "free_disk_mb",
    "vcpus_total", "reserved_vcpus", "vcpus_used", "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio",
)  # fmt: skip

AggregateSetKey = tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]
# Views built on read and cached (HostColumns with a source): a few hundred KB at most.
BUILT_VIEWS_CACHED = 1024


class ViewSource(Protocol):
    """Where a HostColumns without kept views gets them: the view of a row its source can derive."""

    def view(self, cols: HostColumns, row: int) -> SchedHost:
        """The row's view, as the columns show it (same fields, same values)."""

    def instance_ids(self, cols: HostColumns) -> Iterator[tuple[int, Collection[str]]]:
        """(row, the ids of its view's `instances`) for the rows with any, in any order."""

    def counts_claim(self, cols: HostColumns, row: int, claim_id: str) -> bool:
        """Whether the row's view (as `view` builds it) counts this claim already."""


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
    all_rows: np.ndarray  # 0 .. len-1, read-only
    agg_rep: list[int]  # per set, a row holding it (while any does): the host to ask per-set questions
    columns: dict[str, np.ndarray]

    def __init__(self, hosts: Sequence[SchedHost], source: ViewSource | None = None, kept: Iterable[int] = ()) -> None:
        """Columns of `hosts`. With a `source`, only the views of the rows in `kept` are kept (see the module docstring)."""
        views, n = list(hosts), len(hosts)
        self._source = source
        self._kept: dict[int, SchedHost] = {row: views[row] for row in kept} if source is not None else {}
        # Per row, what `consume` counted since its view was last built or kept: the columns count it
        # already, the view counts it when read (see `consume`).
        self._consumed: dict[int, list[tuple[Resources, str, Claim | None]]] = {}
        # Per weigher, its multiplier per aggregate set under one options value (see `set_multipliers`).
        self._multipliers: dict[int, tuple[Any, Any, list[Any]]] = {}
        self.hosts = views if source is None else _RowViews(self)
        self.names = [h.host for h in views]
        self.columns = {}
        for names, dtype in ((INT_FIELDS, np.int64), (FLOAT_FIELDS, np.float64), (BOOL_FIELDS, np.bool_)):
            for name in names:
                self.columns[name] = np.fromiter(map(attrgetter(name), views), dtype=dtype, count=n)
        self.columns.update(_derived(self.columns))
        # A name's row, or its rows (ascending) when several share it: a list per host would cost
        # ~120 bytes a host (12 MB at 100,000) for the rare repeated name.
        self._rows_by_name: dict[str, int | list[int]] = {}
        for row, name in enumerate(self.names):
            self._add_name(name, row)
        self.agg_sets, self.agg_rep = [], []
        self._agg_index: dict[AggregateSetKey, int] = {}
        # Hosts built from one aggregates tuple share it: key each object once.
        # The ids stay valid because `views` keeps every tuple alive meanwhile.
        by_identity: dict[int, int] = {}
        keys = []
        for row, host in enumerate(views):
            index = by_identity.get(id(host.aggregates))
            if index is None:
                index = by_identity[id(host.aggregates)] = self._agg_set_index(host.aggregates, row)
            keys.append(index)
        self.agg_key = np.array(keys, dtype=np.intp)
        # 0 .. n-1, read-only: the rows of a pass that every host survived, without building them each time.
        self.all_rows = np.arange(n, dtype=np.intp)
        self.all_rows.setflags(write=False)

    @classmethod
    def from_hosts(cls, hosts: Sequence[SchedHost]) -> HostColumns:
        """The columns of `hosts`, row i being hosts[i]; aggregate sets deduplicated by value."""
        return cls(hosts)

    def __len__(self) -> int:
        return len(self.names)

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

    def update(self, row: int, host: SchedHost, derived: bool = False) -> None:
        """Put a newer view of one host in `row` (its table row changed); every column follows.

        `derived`: the view is the one the source builds for the row once the
        columns are updated, so it need not be kept (ignored without a source).
        """
        old_name = self.names[row]
        if old_name != host.host:
            self._drop_name(old_name, row)
            self._add_name(host.host, row)
        self.names[row] = host.host
        if self._source is None:
            self.hosts[row] = host
        else:
            self._consumed.pop(row, None)  # the newer view is the whole truth of the row
            self.hosts.changed(row)
            if derived:
                self._kept.pop(row, None)
            else:
                self._kept[row] = host
        self._update_columns(row, host)

    def _update_columns(self, row: int, host: SchedHost) -> None:
        for name in (*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS):
            self.columns[name][row] = getattr(host, name)
        self._derive_row(row)
        old_key, new_key = int(self.agg_key[row]), self._agg_set_index(host.aggregates, row)
        self.agg_key[row] = new_key
        if new_key != old_key and self.agg_rep[old_key] == row:
            # The old set needs another representative; a set nobody holds keeps a stale one, never read.
            holders = np.flatnonzero(self.agg_key == old_key)
            if len(holders):
                self.agg_rep[old_key] = int(holders[0])

    def _derive_row(self, row: int) -> None:
        # The same formula as from_hosts, on the row's numpy scalars (same dtypes, same arithmetic):
        # the row cannot drift from a rebuild.
        for name, value in _derived({name: self.columns[name][row] for name in DERIVED_INPUTS}).items():
            self.columns[name][row] = value

    def consume(self, row: int, request: Resources, claim_id: str, instance: Claim | None = None) -> None:
        """Count one more instance on the host in `row`, as host_state.consume counts it on the row's view.

        With a source, the columns count it now and the view when it is read:
        a scheduler patches the chosen row after every proposal, and building
        a view for it each time (~25 us) was a tenth of a placement, while a
        pass reads a view only for the few rows that represent an aggregate set.
        """
        if self._source is None:
            before = self.hosts[row]
            host = consume(before, request, claim_id, instance)
            if host is not before:
                self.update(row, host)
            return
        pending = self._consumed.get(row, ())
        kept = self._kept.get(row)
        counted = claim_id in kept.claims_ids if kept is not None else self._source.counts_claim(self, row, claim_id)
        if counted or any(claim_id == other for _, other, _ in pending):
            return
        self._consumed.setdefault(row, []).append((request, claim_id, instance))
        self.hosts.changed(row)
        for name, change in consumption(request).items():  # host_state.consume's arithmetic, on the columns
            self.columns[name][row] += change
        self._derive_row(row)

    def _fold(self, row: int) -> SchedHost:
        """The row's view with what `consume` counted since, kept from now on."""
        host = self._kept.get(row) or self._source.view(self, row)
        for request, claim_id, instance in self._consumed.pop(row, ()):
            host = consume(host, request, claim_id, instance)
        self._kept[row] = host
        return host

    def derived(self, row: int) -> bool:
        """Whether the row's view is built by the source when read (not kept)."""
        return self._source is not None and row not in self._kept and row not in self._consumed

    def instance_ids(self) -> Iterator[tuple[int, Collection[str]]]:
        """(row, the ids of its view's `instances`) for every row with any, in no particular order.

        What the group filters and weighers look up: without building a view per host.
        """
        if self._source is None:
            for row, host in enumerate(self.hosts):
                if host.instances:
                    yield row, host.instances.keys()
            return
        for row in list(self._consumed):
            self._fold(row)
        kept = self._kept
        for row, ids in self._source.instance_ids(self):
            if row not in kept:
                yield row, ids
        for row, host in list(kept.items()):
            if host.instances:
                yield row, host.instances.keys()

    def per_aggregate_set(self, decide: Callable[[tuple[Aggregate, ...]], Any], dtype: Any = "float64") -> np.ndarray:
        """decide(aggregates) for every row, computed once per distinct aggregate set and broadcast.

        `dtype` as numpy takes it (None: numpy's choice); a name, not np.float64, as
        the default, so that importing this module does not import numpy.
        """
        per_set = np.array([decide(aggregates) for aggregates in self.agg_sets], dtype=dtype)
        return per_set[self.agg_key] if len(per_set) else np.zeros(len(self), dtype=dtype)

    def set_multipliers(self, weigher: Any, options: Any) -> list[Any]:
        """`weigher.weight_multiplier(options, host)` per aggregate set, for a VectorizedWeigher.

        Its contract makes the multiplier depend on the options and the
        aggregates only, and an aggregate set never changes (a host that moves
        gets another set), so each set is asked once per weigher and options
        value, when it first shows up, instead of once per pass.
        """
        entry = self._multipliers.get(id(weigher))
        if entry is None or entry[0] is not options or entry[1] is not weigher:
            entry = self._multipliers[id(weigher)] = (options, weigher, [])
        values = entry[2]
        while len(values) < len(self.agg_sets):
            values.append(weigher.weight_multiplier(options, self.hosts[self.agg_rep[len(values)]]))
        return values

    def _agg_set_index(self, aggregates: Sequence[Aggregate], row: int) -> int:
        """The index of this aggregate set, made (with `row` as its representative) if it is new."""
        key = _agg_set_key(aggregates)
        index = self._agg_index.get(key)
        if index is None:
            index = self._agg_index[key] = len(self.agg_sets)
            self.agg_sets.append(tuple(aggregates))
            self.agg_rep.append(row)
        return index


class _RowViews(Sequence[SchedHost]):
    """`HostColumns.hosts` with a source: a row's kept view, or the one the source builds for it.

    The last views built are cached until their row is updated: every pass
    asks the same few hosts (one per aggregate set) for weigher multipliers,
    and a view costs ~8 us to build.
    """

    __slots__ = ("_cols", "_built")

    def __init__(self, cols: HostColumns) -> None:
        self._cols = cols
        self._built: dict[int, SchedHost] = {}

    def __len__(self) -> int:
        return len(self._cols.names)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[at] for at in range(*row.indices(len(self)))]
        row = index(row)
        n = len(self)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError("host row out of range")
        cols = self._cols
        if row in cols._consumed:
            return cols._fold(row)
        view = cols._kept.get(row) or self._built.get(row)
        if view is None:
            view = cols._source.view(cols, row)
            if len(self._built) >= BUILT_VIEWS_CACHED:
                self._built.clear()
            self._built[row] = view
        return view

    def changed(self, row: int) -> None:
        """The row was updated: a view built before is stale."""
        self._built.pop(row, None)

    def __iter__(self) -> Iterator[SchedHost]:
        return (self[row] for row in range(len(self)))


def _agg_set_key(aggregates: Sequence[Aggregate]) -> AggregateSetKey:
    """Equal keys for equal aggregate tuples: same aggregates, same order, same metadata in the same order.

    Order is kept, not normalized away, so that every host sharing a key would
    give any plug-in, even one that reads the first match, the same answer.
    """
    return tuple((a.id, a.name, tuple(a.metadata.items())) for a in aggregates)


def _derived(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Claimed, room and fit per resource, exactly as SchedHost's properties and the resource filters compute them.

    Fit is the largest request a resource filter lets through: the room, but
    never more than the physical total (an instance never overcommits
    against itself), and none on a host without vCPUs. One comparison with
    it answers a resource filter, where the filter's own rule takes two or
    three (totals are whole numbers below 2**53, so as floats they are exact).
    """
    ram_claimed = columns["total_usable_ram_mb"] - columns["reserved_memory_mb"] - columns["free_ram_mb"]
    # free_disk_mb only moves by whole GB; floor division as SchedHost.disk_claimed_gb (numpy floors like Python).
    disk_claimed = columns["total_usable_disk_gb"] - columns["reserved_disk_gb"] - columns["free_disk_mb"] // 1024
    ram_room = np.asarray(
        room(columns["total_usable_ram_mb"], columns["ram_allocation_ratio"], columns["reserved_memory_mb"], ram_claimed),
        dtype=np.float64,
    )
    vcpu_room = np.asarray(
        room(columns["vcpus_total"], columns["cpu_allocation_ratio"], columns["reserved_vcpus"], columns["vcpus_used"]),
        dtype=np.float64,
    )
    disk_room = np.asarray(
        room(columns["total_usable_disk_gb"], columns["disk_allocation_ratio"], columns["reserved_disk_gb"], disk_claimed),
        dtype=np.float64,
    )
    vcpus_total = columns["vcpus_total"]
    return {
        "ram_claimed_mb": ram_claimed,
        "disk_claimed_gb": disk_claimed,
        "ram_room_mb": ram_room,
        "vcpu_room": vcpu_room,
        "disk_room_gb": disk_room,
        "ram_fit_mb": np.minimum(columns["total_usable_ram_mb"], ram_room, dtype=np.float64),
        "vcpu_fit": np.where(vcpus_total > 0, np.minimum(vcpus_total, vcpu_room, dtype=np.float64), -np.inf),
        "disk_fit_gb": np.minimum(columns["total_usable_disk_gb"], disk_room, dtype=np.float64),
    }
