"""The instance table's metadata, lock and console folds, and the console tail every agent cuts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from builders import NOW, build_instance_state
from novalog.events.console import FAKE_CONSOLE, tail
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.state import InstanceState
from novalog.events.types import (
    InstanceConsoleOrdered,
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceDeleted,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceUnlocked,
)
from novalog.projections import history_details, instances

ACTIVE = build_instance_state(vm_state="active", task_state=None, host="cn1", claim_id="c-1", metadata={"role": "web", "tier": "gold"})
WHO = {"instance_id": "instance-1", "project_id": "project-1", "user_id": "user-1"}


def envelope(cls: type, event_id: str = "e-1") -> Envelope:
    return Envelope.new(cls, "test", event_id=event_id, occurred_at=NOW)


def metadata_set(metadata: dict[str, str], replace_all: bool = False) -> InstanceMetadataSet:
    return InstanceMetadataSet(envelope(InstanceMetadataSet), metadata=metadata, replace=replace_all, **WHO)


def fold(state: InstanceState, event: Any) -> tuple[InstanceState, list[Outbound]]:
    new, outs = instances.fold(state, event)
    assert new is not None
    return new, outs


@pytest.mark.parametrize(("event", "metadata"), [
    (metadata_set({"tier": "silver", "zone": "a"}), {"role": "web", "tier": "silver", "zone": "a"}),  # merged: tier replaced, zone added
    (metadata_set({"zone": "a"}, replace_all=True), {"zone": "a"}),  # replaced whole
    (metadata_set({}, replace_all=True), {}),  # PUT {} empties it
    (InstanceMetadataDeleted(envelope(InstanceMetadataDeleted), key="role", **WHO), {"tier": "gold"}),
    (InstanceMetadataDeleted(envelope(InstanceMetadataDeleted), key="absent", **WHO), {"role": "web", "tier": "gold"}),
], ids=["merge", "replace", "replace with nothing", "delete", "delete an absent key"])
def test_metadata_folds(event: Any, metadata: dict[str, str]) -> None:
    new, outs = fold(ACTIVE, event)
    assert (new.metadata, outs) == (metadata, [])
    assert fold(new, event)[0].metadata == metadata  # redelivered: the same metadata


def test_a_deleted_server_keeps_its_metadata_and_lock() -> None:
    gone = replace(ACTIVE, vm_state="deleted", host=None)
    assert fold(gone, metadata_set({"x": "1"}))[0].metadata == ACTIVE.metadata
    assert fold(gone, InstanceLocked(envelope(InstanceLocked), locked_by="owner", **WHO))[0].locked is False


def test_lock_and_unlock_say_who_and_why_and_are_instance_actions() -> None:
    locked, outs = fold(ACTIVE, InstanceLocked(envelope(InstanceLocked), locked_by="admin", reason="maintenance", **WHO))
    assert (locked.locked, locked.locked_by, locked.locked_reason, outs) == (True, "admin", "maintenance", [])
    assert [(a.action, [(e.event, e.result) for e in a.events]) for a in locked.actions] == [("lock", [("api_lock", "Success")])]
    unlocked, _ = fold(locked, InstanceUnlocked(envelope(InstanceUnlocked, "e-2"), **WHO))
    assert (unlocked.locked, unlocked.locked_by, unlocked.locked_reason) == (False, None, None)
    assert [a.action for a in unlocked.actions] == ["lock", "unlock"]


def test_a_console_ask_is_ordered_on_the_servers_host() -> None:
    ask = InstanceConsoleRequested(envelope(InstanceConsoleRequested, "ask-1"), length=5, **WHO)
    new, outs = fold(ACTIVE, ask)
    assert new.console_answers == {} and len(outs) == 1
    (out,) = outs
    assert out.topic == "agent.cn1" and out.key == "instance-1"
    assert isinstance(out.record, InstanceConsoleOrdered)
    assert (out.record.ask_id, out.record.length, out.record.envelope.causation_id) == ("ask-1", 5, "ask-1")
    # without a host (the API refused it), nothing is ordered
    assert fold(replace(ACTIVE, host=None), ask)[1] == []


def answered(ask_id: str, output: str = "login:", error: str | None = None, event_id: str = "e-1") -> InstanceConsoleReported:
    return InstanceConsoleReported(envelope(InstanceConsoleReported, event_id), instance_id="instance-1", ask_id=ask_id, host="cn1",
                                   output=output, error=error)


def test_the_agents_answers_are_kept_by_ask_the_last_three_and_go_with_the_guest() -> None:
    new, _ = fold(ACTIVE, answered("ask-1"))
    assert (new.console_answers, new.console_errors) == ({"ask-1": "login:"}, {})
    assert fold(new, answered("ask-1", "other", event_id="e-2"))[0] == new  # a redelivered answer changes nothing
    for n in (2, 3, 4):  # ask-2 fails; ask-4 pushes ask-1 out
        new, _ = fold(new, answered(f"ask-{n}", "" if n == 2 else f"out-{n}", "no such instance" if n == 2 else None, event_id=f"e-{n}"))
    assert new.console_answers == {"ask-2": "", "ask-3": "out-3", "ask-4": "out-4"}
    assert new.console_errors == {"ask-2": "no such instance"}
    new, _ = fold(new, answered("ask-5", event_id="e-5"))  # ask-2 goes, and its error with it
    assert (list(new.console_answers), new.console_errors) == (["ask-3", "ask-4", "ask-5"], {})
    gone, _ = fold(replace(new, task_state="deleting"), InstanceDeleted(envelope(InstanceDeleted, "e-9"), instance_id="instance-1", host="cn1"))
    assert (gone.vm_state, gone.console_answers) == ("deleted", {})


@pytest.mark.parametrize(("length", "expected"), [
    (None, FAKE_CONSOLE),
    (-1, FAKE_CONSOLE),
    (0, ""),
    (1, "LAST LINE"),
    (2, "ANOTHER\nLAST LINE"),
    (10, FAKE_CONSOLE),  # more lines than there are: all of them
], ids=["none", "minus one", "zero", "one", "two", "ten"])
def test_the_tail_is_the_last_lines(length: int | None, expected: str) -> None:
    assert tail(FAKE_CONSOLE, length) == expected


def test_the_tail_is_bounded_in_bytes_and_counts_a_trailing_newline_as_a_line() -> None:
    assert tail("a\nb\n", 1) == ""  # Nova's split: the empty line after the last newline is the last line
    assert tail("a\nb\n", 2) == "b\n"
    long = "x" * 100 + "\n" + "é" * 50
    cut = tail(long, None, max_bytes=21)
    assert cut == "é" * 10 and len(cut.encode()) <= 21  # never half a character


@pytest.mark.parametrize(("record", "topic", "line"), [
    (metadata_set({"b": "1", "a": "2"}), "instance.events", "metadata set: a, b"),
    (metadata_set({}, replace_all=True), "instance.events", "metadata replaced by nothing"),
    (InstanceLocked(envelope(InstanceLocked), locked_by="admin", reason="disk check", **WHO), "instance.events", "locked by admin user-1: disk check"),
    (InstanceConsoleOrdered(envelope(InstanceConsoleOrdered), instance_id="instance-1", ask_id="a-1", length=None), "agent.cn1", "read the console on cn1"),
    (InstanceConsoleReported(envelope(InstanceConsoleReported), instance_id="instance-1", ask_id="a-1", host="cn1", output="é\n"),
     "instance.events", "console read on cn1: 3 bytes"),
], ids=["metadata set", "metadata emptied", "locked", "console ordered", "console read"])
def test_history_tells_each_step(record: Any, topic: str, line: str) -> None:
    assert history_details._describe_record(record, topic, "instance-1", {}, {})[0] == line
