"""Server lists as JSON bytes: each row's detail view encoded once and kept until the row changes.

Building and encoding a detailed server costs tens of microseconds, so a page
of 1,000 would cost tens of milliseconds on every list. A row is a frozen
value replaced by a new one whenever its instance changes, so a kept
encoding is valid while the row object it came from is the one in the read
cache (`is`), for the same base URL, admin view and microversion. A page is
then a join of kept encodings, byte for byte what FastAPI's JSONResponse
would send for the same dict.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from novalog.api.compute import views
from novalog.api.microversion import Version
from novalog.events.instance_names import InstanceNaming

# Encoded rows kept (the most recently listed); about 1.5 KB each.
CAPACITY = 10_000


def dumps(content: Any) -> bytes:
    """JSON as Starlette's JSONResponse renders it."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class RenderedServers:
    """The encoded detail views of the rows listed last, keyed by instance id (least recently listed dropped first)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[str, tuple[Any, tuple[str, bool, Version], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def detail(self, base: str, row: Any, admin_view: bool, version: Version, naming: InstanceNaming = views.NAMING) -> bytes:
        variant = (base, admin_view, version)
        with self._lock:
            kept = self._kept.get(row.instance_id)
            if kept is not None and kept[0] is row and kept[1] == variant:
                self._kept.move_to_end(row.instance_id)
                return kept[2]
        encoded = dumps(views.server_detail(base, row, admin_view, version, naming))
        with self._lock:
            self._kept[row.instance_id] = (row, variant, encoded)
            self._kept.move_to_end(row.instance_id)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return encoded

    def __len__(self) -> int:
        return len(self._kept)


def servers_body(encoded: Sequence[bytes], links: dict[str, Any]) -> bytes:
    """`{"servers": [...], **links}` from the servers' encodings."""
    body = b'{"servers":[' + b",".join(encoded) + b"]"
    for name, value in links.items():
        body += b"," + dumps(name) + b":" + dumps(value)
    return body + b"}"
