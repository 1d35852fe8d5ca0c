"""A quota row announces the decisions it newly holds, and the API answers a create from that alone."""

from __future__ import annotations

from dataclasses import replace

from builders import build_servers_requested
from novalog.api.cache import LazyRows
from novalog.events.codec import encode
from novalog.events.row_headers import DECIDED_HEADER, SOURCE_HEADER, parse_decided_header
from novalog.projections.quotas import fold, newly_decided
from novalog.projections.registry import BY_TABLE


def request(count: int, reservation: str):
    asked = build_servers_requested(count, reservation_id=reservation)
    return replace(asked, builds=[replace(b, instance_id=f"{reservation}-{b.instance_id}",
                                          instance_ids=[f"{reservation}-{i}" for i in b.instance_ids]) for b in asked.builds])


def test_a_row_announces_only_what_it_newly_decided() -> None:
    first, _ = fold(None, request(8, "r1"))
    assert newly_decided(None, first) == {"r1": ("", first.accepted["r1"])} and len(first.accepted["r1"]) == 8
    second, _ = fold(first, request(5, "r2"))  # 2 fit: the default limit is 10 instances
    third, _ = fold(second, request(1, "r3"))  # none fits
    decided = newly_decided(first, third)
    assert set(decided) == {"r2", "r3"}
    assert decided["r2"] == ("", third.accepted["r2"]) and len(decided["r2"][1]) == 2
    assert decided["r3"][0].startswith("Quota exceeded for instances") and decided["r3"][1] == []
    assert newly_decided(third, third) == {}


def test_the_quota_table_publishes_the_header_and_others_do_not() -> None:
    old, _ = fold(None, request(1, "r1"))
    new, _ = fold(old, request(2, "r2"))
    headers = dict(BY_TABLE["quotas"].headers(b"quota.events:0:7", old, new))
    assert headers[SOURCE_HEADER] == b"quota.events:0:7"
    assert parse_decided_header(headers[DECIDED_HEADER]) == {"r2": ("", new.accepted["r2"])}
    assert dict(BY_TABLE["quotas"].headers(b"quota.events:0:8", new, new)) == {SOURCE_HEADER: b"quota.events:0:8"}
    assert BY_TABLE["instances"].headers(b"instance.events:0:1", None, object()) == [(SOURCE_HEADER, b"instance.events:0:1")]


def test_lazy_rows_answer_from_the_announcements_and_decode_only_when_read() -> None:
    row, _ = fold(None, request(3, "r1"))
    rows = LazyRows(decisions_kept=2)
    rows.put("p", encode(row), ("quota.events", 0, 4), newly_decided(None, row))
    assert rows.reached("p", "quota.events", 0, 4) and not rows.reached("p", "quota.events", 0, 5)
    assert rows.decision("p", "r1") == ("", row.accepted["r1"]) and rows.decision("p", "r9") is None
    assert rows["p"] == row
    rows.put("p", encode(row), ("quota.events", 0, 5), {"r2": ("", []), "r3": ("no", [])})
    assert rows.decision("p", "r1") is None, "the oldest announcement goes beyond what is kept"
    assert rows.decision("p", "r3") == ("no", [])
    rows.drop("p")
    assert rows.decision("p", "r3") is None and "p" not in rows
