"""A writer waiting for its row is woken when that row's key arrives, and only then."""

from __future__ import annotations

import threading
import time

from novalog.events.waiters import Waiters


class View:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.rows: dict[str, int] = {}
        self.waiters = Waiters(self.lock)
        self.checks: dict[str, int] = {}

    def apply(self, **rows: int) -> None:
        with self.lock:
            self.rows.update(rows)
            self.waiters.wake({k.encode() for k in rows})

    def has(self, key: str, at_least: int):
        def predicate() -> bool:
            self.checks[key] = self.checks.get(key, 0) + 1
            return self.rows.get(key, -1) >= at_least
        return predicate


def waiting(view: View, key: str, at_least: int, timeout: float = 5.0, keyed: bool = True) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(view.waiters.wait(view.has(key, at_least), timeout, key if keyed else None)))
    thread.start()
    return thread, result


def test_a_keyed_waiter_wakes_for_its_key_and_not_for_others() -> None:
    view = View()
    thread, result = waiting(view, "a", 2)
    time.sleep(0.05)
    for i in range(50):
        view.apply(b=i)  # other keys: the waiter is not checked again
    assert view.checks["a"] == 1 and thread.is_alive()
    view.apply(a=1)  # its key, not yet enough
    time.sleep(0.05)
    assert view.checks["a"] == 2 and thread.is_alive()
    view.apply(a=2)
    thread.join(2)
    assert result == [True]


def test_an_unkeyed_waiter_is_checked_after_every_batch() -> None:
    view = View()
    thread, result = waiting(view, "a", 1, keyed=False)
    time.sleep(0.05)
    view.apply(b=1)
    time.sleep(0.05)
    assert view.checks["a"] >= 2
    view.apply(a=1)
    thread.join(2)
    assert result == [True]


def test_a_predicate_already_true_returns_at_once_and_a_timeout_says_false() -> None:
    view = View()
    view.apply(a=3)
    assert view.waiters.wait(view.has("a", 3), 0.0, "a") is True
    began = time.monotonic()
    assert view.waiters.wait(view.has("a", 4), 0.2, "a") is False
    assert 0.19 <= time.monotonic() - began < 2
    assert not view.waiters._waiting, "a waiter that gave up is forgotten"


def test_many_waiters_each_get_their_own_row() -> None:
    view = View()
    threads = [waiting(view, f"k{i}", 1) for i in range(40)]
    time.sleep(0.1)
    for i in range(40):
        view.apply(**{f"k{i}": 1})
    for thread, _ in threads:
        thread.join(2)
    assert all(result == [True] for _, result in threads)
    assert all(view.checks[f"k{i}"] <= 2 for i in range(40)), "each checked when it came, and once more when its row did"
