"""What a decision asks its shell to append: a record, its topic and its key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novalog.events import topics


@dataclass(frozen=True, slots=True)
class Outbound:
    """A record to append. `topic` is the logical name (`instance.events`, `agent.<host>`)."""

    topic: str
    key: str
    record: Any

    @staticmethod
    def to_agent(host: str, instance_id: str, record: Any) -> Outbound:
        return Outbound(f"{topics.AGENT_COMMANDS}.{host}", instance_id, record)

    @staticmethod
    def event(key: str, record: Any) -> Outbound:
        return Outbound(topics.TOPIC_OF[type(record)], key, record)
