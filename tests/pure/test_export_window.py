"""The export's window: which offsets of each partition it reads, and what it says the retained log lacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from novalog.events.kafka.window import PartitionSpan, plan_span, truncation_notes

SINCE = datetime(2025, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "low, high, since_offset, until_offset, span",
    [
        # no window: everything retained, [low, high)
        (0, 10, None, None, (0, 10)),
        (4, 10, None, None, (4, 10)),
        # --since: from offsets_for_times' answer; -1 (nothing that late) is an empty span at the end
        (0, 10, 6, None, (6, 10)),
        (0, 10, -1, None, (10, 10)),
        # --until: up to, not including, the first record at or after it; -1 (none that late) is the end
        (0, 10, None, 8, (0, 8)),
        (0, 10, 3, -1, (3, 10)),
        # a window wholly before the retained log is empty, not negative
        (5, 10, 5, 5, (5, 5)),
        # an answer beyond the high watermark read when planning is capped at it
        (0, 10, None, 12, (0, 10)),
    ],
    ids=["all", "truncated-all", "since", "since-past-end", "until", "since-until-past-end", "empty", "capped"],
)
def test_plan_span(low: int, high: int, since_offset: int | None, until_offset: int | None, span: tuple[int, int]) -> None:
    planned = plan_span(3, low, high, since_offset, until_offset)
    assert (planned.start, planned.end) == span
    assert planned.count == span[1] - span[0]


def test_a_window_starting_at_a_partition_whose_beginning_was_deleted_says_so() -> None:
    spans = [PartitionSpan(0, low=0, start=0, end=5), PartitionSpan(1, low=40, start=40, end=50), PartitionSpan(2, low=9, start=12, end=20)]
    # partition 0 kept everything; partition 2 starts after its first retained record, so nothing it lacks was asked for
    assert truncation_notes("p.instance.events", "instance.events", spans, SINCE) == (
        "--since 2025-05-01T00:00:00+00:00 reaches before the start of the retained log of p.instance.events: "
        "partition 1 starts at offset 40; of the 40 records deleted before (retention or DeleteRecords), "
        "those written after 2025-05-01T00:00:00+00:00 are missing from the export",
    )
    assert truncation_notes("p.instance.events", "instance.events", spans, None) == (
        "p.instance.events no longer holds its beginning: partition 1 starts at offset 40; the 40 records before "
        "were deleted (retention or DeleteRecords) and are not in the export",
    )


def test_a_whole_log_says_nothing_and_a_compacted_topic_says_it_is() -> None:
    whole = [PartitionSpan(0, low=0, start=0, end=5)]
    assert truncation_notes("p.instance.events", "instance.events", whole, None) == ()
    assert truncation_notes("p.state.instances", "state.instances", whole, None) == (
        "p.state.instances is compacted: it keeps only the latest record of each key, so earlier records are gone",
    )
