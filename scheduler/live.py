"""What the scheduler passes run on: the host table as SchedHost values, kept up to date cheaply.

Two views with one interface:
* `ListViews` builds every host's view for each pass (simple; tests, small clusters);
* `ColumnViews` keeps HostColumns and patches only the rows whose table row
  changed, and the row a proposal just went to, so a pass over 10,000 hosts
  costs what the columnar pipeline costs, not 10,000 view builds. Liveness
  depends on the clock as well as on the rows, so it is re-checked for all
  hosts at most every `liveness_every` seconds, as one array operation.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from novalog.events.records import Claim, Resources
from novalog.events.state import HostState
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.host_state import SchedHost, host_view
from novalog.scheduler.lazy_numpy import np

InFlight = Mapping[str, Mapping[str, Claim]]


class HostViews(Protocol):
    def current(self, in_flight: InFlight, now: datetime) -> HostColumns | list[SchedHost]:
        """The hosts as a pass must see them now (table rows plus this scheduler's in-flight claims)."""

    def row(self, host: str) -> HostState | None:
        """The table row of one host."""

    def claimed(self, host: str, claim: Claim) -> None:
        """A proposal went to `host`: count its claim from the next pass on."""

    def forget(self, host: str, claim: Claim) -> None:
        """A claim counted by `claimed` was withdrawn before it was proposed."""


class ListViews:
    """Every host's view built afresh for each pass."""

    def __init__(self, rows: Callable[[], Sequence[HostState]], service_down_time: float) -> None:
        self.rows = rows
        self.service_down_time = service_down_time

    def current(self, in_flight: InFlight, now: datetime) -> list[SchedHost]:
        return [host_view(r, in_flight.get(r.host, {}), now, self.service_down_time) for r in self.rows()]

    def row(self, host: str) -> HostState | None:
        return next((r for r in self.rows() if r.host == host), None)

    def claimed(self, host: str, claim: Claim) -> None:
        pass  # the next pass rebuilds every view from the in-flight claims

    def forget(self, host: str, claim: Claim) -> None:
        pass


class ColumnViews:
    """HostColumns over a table that reports its changed rows (`take_changed`).

    It is the columns' view source: a host's SchedHost is built when a pass
    reads it, from its table row and the columns, and kept only while it
    counts claims the table does not show yet (this scheduler's proposals).
    So each host is held once, as its row, besides its columns.
    """

    def __init__(self, table, service_down_time: float, liveness_every: float = 0.5) -> None:
        self.table = table
        self.service_down_time = service_down_time
        self.liveness_every = liveness_every
        self.cols: HostColumns | None = None
        # The table row of each row of the columns, in their order.
        self._states: list[HostState] = []
        self._checked_at: datetime | None = None
        self._stale: set[str] = set()
        # Each row's last heartbeat (POSIX seconds, -inf if none), so a liveness check is one array operation.
        self._beats = np.zeros(0)

    def current(self, in_flight: InFlight, now: datetime) -> HostColumns:
        changed = self.table.take_changed()
        cols = self.cols
        if cols is None or any(cols.row_of(row.host) is None for row in changed):
            rows = {} if cols is None else dict(zip(cols.names, self._states))
            rows.update((row.host, row) for row in changed)
            self._rebuild(rows, in_flight, now)
            del rows, changed  # before the trim: the catch-up's rows came in one list, a large block
            _return_free_heap()
        else:
            for row in changed:
                self._states[cols.row_of(row.host)] = row
            for host in {row.host for row in changed} | self._stale:
                self._patch(host, in_flight, now)
            self._stale.clear()
            if self._checked_at is None or (now - self._checked_at).total_seconds() >= self.liveness_every:
                self._recheck_liveness(now)
        return self.cols

    def row(self, host: str) -> HostState | None:
        at = None if self.cols is None else self.cols.row_of(host)
        return None if at is None else self._states[at]

    def view(self, cols: HostColumns, row: int) -> SchedHost:
        """The view of a row that counts no claim beyond its table row's: what `host_view` gave when it was patched.

        Liveness and aggregates are the columns' (as last checked and patched), the rest is the row's.
        """
        return host_view(
            self._states[row], NO_IN_FLIGHT, None, self.service_down_time,  # type: ignore[arg-type]  # no clock read
            cols.agg_sets[cols.agg_key[row]], service_up=bool(cols.columns["service_up"][row]),
        )  # fmt: skip

    def instance_ids(self, cols: HostColumns) -> Iterator[tuple[int, Collection[str]]]:
        """(row, its view's instance ids) for the rows whose table row counts claims."""
        for row, state in enumerate(self._states):
            if state.claims:
                yield row, {claim.instance_id for claim in state.claims}

    def counts_claim(self, cols: HostColumns, row: int, claim_id: str) -> bool:
        """Whether the row's table row counts this claim (so its view does)."""
        return any(claim.claim_id == claim_id for claim in self._states[row].claims)

    def _aggregates_of(self, host: str) -> tuple:
        aggregates_of = getattr(self.table, "aggregates_of", None)
        return aggregates_of(host) if aggregates_of else ()

    def claimed(self, host: str, claim: Claim) -> None:
        row = None if self.cols is None else self.cols.row_of(host)
        if row is not None:
            self.cols.consume(row, Resources(claim.vcpus, claim.memory_mb, claim.disk_gb), claim.claim_id, claim)

    def forget(self, host: str, claim: Claim) -> None:
        self._stale.add(host)

    def _rebuild(self, rows: dict[str, HostState], in_flight: InFlight, now: datetime) -> None:
        names = sorted(rows)
        self._states = [rows[n] for n in names]
        views = [host_view(rows[n], in_flight.get(n, {}), now, self.service_down_time, self._aggregates_of(n)) for n in names]
        # Only the views counting in-flight claims are kept; the others are built again when read.
        kept = [at for at, n in enumerate(names) if in_flight.get(n)]
        self.cols = HostColumns(views, source=self, kept=kept)
        del views, rows
        self._beats = np.fromiter((_beat(state) for state in self._states), dtype=np.float64, count=len(names))
        self._checked_at = now
        # The rows live until the next rebuild, and they are most of the process's objects: left
        # to the cyclic collector, each of its full sweeps walks them all, a cost that lands on whichever
        # pass triggers it (~30% of a placement at 10,000 hosts). Frozen, it skips them; they hold no
        # cycles, so reference counting still frees them once a later rebuild drops them.
        gc.freeze()

    def _patch(self, host: str, in_flight: InFlight, now: datetime) -> None:
        row = self.cols.row_of(host)
        state, pending = self._states[row], in_flight.get(host, {})
        view = host_view(state, pending, now, self.service_down_time, self._aggregates_of(host))
        self.cols.update(row, view, derived=not pending)
        self._beats[row] = _beat(state)

    def _recheck_liveness(self, now: datetime) -> None:
        """Flip service_up where the heartbeat aged past service_down_time (or came back).

        The heartbeats are a column kept with the rows (forced_down is one of
        HostColumns'), so the check costs array operations, not a Python step per host.
        """
        self._checked_at = now
        cols = self.cols
        up = ((now.timestamp() - self._beats) <= self.service_down_time) & ~cols.forced_down
        for row in np.flatnonzero(up != cols.service_up):
            row = int(row)
            cols.update(row, replace(cols.hosts[row], service_up=bool(up[row])), derived=cols.derived(row))


NO_IN_FLIGHT: dict[str, Claim] = {}


def _return_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    A rebuild follows the table's catch-up, whose decoding freed far more than
    it kept (each message's bytes and first copy of its row), and frees every
    view it built to read the columns from. glibc keeps such freed memory
    between live blocks resident: ~20 MB at 100,000 hosts. Trimming costs
    about a millisecond, once per rebuild.
    """
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: the C library it runs on
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_libc = _load_libc()


def _beat(row: HostState) -> float:
    return row.last_heartbeat_at.timestamp() if row.last_heartbeat_at is not None else -np.inf
