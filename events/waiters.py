"""Threads waiting for their own write to show in a view that another thread updates.

Pure (no Kafka): the topic feeds (events/kafka/feed.py) and the API's read model
(api/read_model.py) both wake their waiters through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Waiters:
    """Threads waiting for a predicate over a view that another thread updates under `lock`.

    A waiter that names the record key its predicate reads is checked again
    only when a record with that key was applied; one that names none, after
    every batch. Under a steady boot load some forty API request threads
    wait at once, and waking every one of them for every batch (one
    Condition.notify_all, itself quadratic in the waiters) was a sixth of
    the API's CPU.
    """

    def __init__(self, lock: threading.Condition) -> None:
        self.lock = lock
        self._waiting: set[tuple[bytes | None, threading.Event]] = set()

    def wait(self, predicate: Callable[[], bool], timeout: float, key: str | None = None) -> bool:
        """Block until the predicate holds, or `timeout` seconds pass; False then. With `key`, it reads only that key's rows."""
        deadline = time.monotonic() + timeout
        waiter = (None if key is None else key.encode(), threading.Event())
        with self.lock:
            if predicate():
                return True
            self._waiting.add(waiter)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    with self.lock:
                        return predicate()
                waiter[1].wait(left)
                waiter[1].clear()  # before the check: a batch applied after it sets the event again
                with self.lock:
                    if predicate():
                        return True
        finally:
            with self.lock:
                self._waiting.discard(waiter)

    def wake(self, touched: set[bytes | None]) -> None:
        """Wake the waiters a batch concerns (`touched`: its records' keys). Call it holding the lock."""
        for key, event in self._waiting:
            if key is None or key in touched:
                event.set()
