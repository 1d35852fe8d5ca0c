"""replay --swap: a table rebuilt with a changed fold replaces the live one atomically; the old one serves until then."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from novalog.projections import instances
from novalog.projections.registry import BY_TABLE
from novalog.replay import ReplayResult
from novalog.swap import rebuild_and_swap, worker_members
from stack_harness import SMALL_FLAVOR, RunningStack, act, assert_log_holds, stack_settings, wait_until

HOSTS = [("sw1", 4, 8192, 80), ("sw2", 4, 8192, 80)]


def handle_v2(state: Any, event: Any, offset: int) -> tuple[Any, list]:
    """The 'fixed' fold: the same rows, each marked by the fold that made it."""
    new, outs = instances.handle(state, event, offset)
    return (None if new is None else replace(new, metadata={**new.metadata, "fold": "v2"})), outs


CHANGED = replace(BY_TABLE["instances"], handle=handle_v2)


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = RunningStack(stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("swap"), HOSTS), [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def metadata(stack: RunningStack, server_id: str) -> dict:
    return stack.client.show(server_id)["metadata"]


def test_a_changed_fold_swapped_in_gives_the_new_state_and_the_worker_keeps_it(stack: RunningStack) -> None:
    client = stack.client
    ids = [client.boot(f"sw-{i}", SMALL_FLAVOR["id"]) for i in range(3)]
    assert {s["status"] for s in client.wait_settled(ids, 60).values()} == {"ACTIVE"}
    settings = stack.settings

    def before_stop(first: ReplayResult) -> None:
        # Rebuilt with the new fold (up to the worker's last commit), not yet swapped: readers still see the old table.
        rows = first.tables["instances"].rows
        assert rows and all(row.metadata == {"fold": "v2"} for row in rows.values())
        assert [metadata(stack, i) for i in ids] == [{}, {}, {}]
        stack.stack.stop("projections")

    result, swapped = rebuild_and_swap(settings.kafka_bootstrap, settings.topic_prefix, [CHANGED], patience=60,
                                       tell=lambda line: None, before_stop=before_stop)
    assert worker_members(settings.kafka_bootstrap, settings.topic_prefix) == 0
    ((table, written, deleted),) = [(s.table, s.written, s.deleted) for s in swapped]
    assert (table, deleted) == ("instances", 0) and written == len(result.tables["instances"].rows) >= 3
    wait_until(lambda: all(metadata(stack, i) == {"fold": "v2"} for i in ids), 20, "the API to read the swapped rows")

    # The restarted worker recovered its store from the changelog: a row it folds again keeps what the swap wrote.
    stack.stack.start("projections", "projections")
    act(stack, ids[0], {"os-stop": None}, "SHUTOFF", 4, timeout=60)
    assert metadata(stack, ids[0]) == {"fold": "v2"}
    later = client.boot("sw-after", SMALL_FLAVOR["id"])
    assert client.wait_settled([later], 60)[later]["status"] == "ACTIVE"
    assert metadata(stack, later) == {}  # the running worker still has the old code
    assert_log_holds(stack)
