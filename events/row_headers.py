"""The headers a state row is published with: the record that made it, and what it newly decided.

The projections write them (projections/registry.py) and every reader of a
state topic reads them (the API's read model, replay), so they are said here,
in the vocabulary both share.
"""

from __future__ import annotations

import json

# Each published row names the record that made it (`<logical topic>:<partition>:<offset>`), so a
# reader of a state topic knows how far into the log the rows it read go (replay compares there).
SOURCE_HEADER = "novalog.source"
# A quota row also names the decisions it newly holds (`{decision id: [message, [instance ids]]}`,
# JSON), so a create waiting for its answer reads a few bytes instead of decoding the project's row
# (its recent decisions and totals, about 27 KB at 3,000 servers). The row holds the same decisions;
# the header is only the index of what changed.
DECIDED_HEADER = "novalog.decided"


def source_position(topic: str, partition: int, offset: int) -> bytes:
    return f"{topic}:{partition}:{offset}".encode()


def parse_source_position(value: bytes) -> tuple[str, int, int]:
    topic, partition, offset = value.decode().rsplit(":", 2)
    return topic, int(partition), int(offset)


def decided_header(decided: dict[str, tuple[str, list[str]]]) -> bytes:
    return json.dumps({k: [m, ids] for k, (m, ids) in decided.items()}, separators=(",", ":")).encode()


def parse_decided_header(value: bytes) -> dict[str, tuple[str, list[str]]]:
    return {k: (m, ids) for k, (m, ids) in json.loads(value).items()}
