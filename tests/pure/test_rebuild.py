"""Tables rebuilt from records: the worker's storing rule, digests by key range, the cut the live tables stand at."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import build_capacity_report, build_claim_released, build_proposal, build_resources
from novalog.events.codec import encode
from novalog.projections.rebuild import RANGES, TableRebuild, differences, digest, key_range, live_cut
from novalog.projections.registry import BY_TABLE

HOSTS = BY_TABLE["host_state"]


def host_log(ops: list[tuple[str, int, int]]) -> list[tuple[bytes, bytes]]:
    """(key, value) records of host.events from (operation, host number, claim number)."""
    out = []
    for op, host, claim in ops:
        name = f"h{host}"
        match op:
            case "capacity":
                record = build_capacity_report(host=name, vcpus=4)
            case "propose":
                record = build_proposal(f"c{claim}", host=name, resources=build_resources(vcpus=1 + claim % 3))
            case _:
                record = build_claim_released(f"c{claim}", host=name)
        out.append((name.encode(), encode(record)))
    return out


OPS = st.lists(st.tuples(st.sampled_from(["capacity", "propose", "release"]), st.integers(0, 2), st.integers(0, 6)), max_size=40)


def fold(records: list[tuple[bytes, bytes]], start: TableRebuild | None = None) -> TableRebuild:
    table = start or TableRebuild(HOSTS)
    for offset, (key, value) in enumerate(records):
        table.feed(key, value, offset)
    return table


@settings(max_examples=60, deadline=None)
@given(OPS, st.data())
def test_a_replay_cut_anywhere_and_resumed_gives_the_whole_replay(ops, data) -> None:
    records = host_log(ops)
    cut = data.draw(st.integers(0, len(records)))
    prefix = fold(records[:cut])
    resumed = fold(records[cut:], TableRebuild(HOSTS, rows=dict(prefix.rows)))
    assert digest(resumed.rows) == digest(fold(records).rows)


def test_an_undecodable_record_counts_as_a_dead_letter_and_changes_nothing() -> None:
    table = fold(host_log([("capacity", 0, 0)]))
    before = dict(table.rows)
    table.feed(b"h0", b"\x00\x00\x00\x00\x07garbage", 9)
    table.feed(b"h0", encode(build_claim_released("c1", host="h0")), 10)
    assert (table.dead_letters, table.events) == (1, 3)
    assert table.rows.keys() == before.keys()


def test_digests_differ_only_in_the_range_of_the_changed_key() -> None:
    rows = fold(host_log([("capacity", h, 0) for h in range(3)])).rows
    changed = {**rows, b"h1": replace(rows[b"h1"], vcpus=99)}
    a, b = digest(rows), digest(changed)
    assert a.total != b.total and a.rows == b.rows == 3
    assert [i for i in range(RANGES) if a.ranges[i] != b.ranges[i]] == [key_range(b"h1")]
    (diff,) = differences(changed, rows)
    assert (diff.key, diff.fields) == (b"h1", {"vcpus": (99, 4)})


def test_a_row_on_one_side_only_is_a_difference() -> None:
    rows = fold(host_log([("capacity", h, 0) for h in range(2)])).rows
    (diff,) = differences(rows, {b"h0": rows[b"h0"]})
    assert (diff.key, diff.live, set(diff.fields)) == (b"h1", None, {"row"})


def test_the_live_tables_stand_past_the_last_row_they_name_or_at_the_commit() -> None:
    committed = {("host.events", 0): 5, ("host.events", 1): 0, ("instance.events", 0): 7}
    named = [{("host.events", 0): 9, ("host.heartbeats", 0): 3}, {("instance.events", 0): 2}]
    # 9 named on host.events[0] -> fold to 10; the heartbeats to 4; instance.events[0] committed at 7 is further than 2 + 1.
    assert live_cut(committed, named) == {("host.events", 0): 10, ("host.events", 1): 0, ("host.heartbeats", 0): 4, ("instance.events", 0): 7}
