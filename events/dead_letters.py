"""The facts a dead letter carries in its headers (the names Kafka Connect users expect, in our namespace)."""

from __future__ import annotations

from datetime import UTC, datetime


def dead_letter_facts(exc: Exception, topic: str, partition: int, offset: int, timestamp: int, processor: str) -> dict[str, str]:
    """Why a record could not be processed and where it came from."""
    return {
        "dlq.error.class": type(exc).__name__,
        "dlq.error.message": str(exc),
        "dlq.original.topic": topic,
        "dlq.original.partition": str(partition),
        "dlq.original.offset": str(offset),
        "dlq.original.timestamp": str(timestamp),
        "dlq.processor": processor,
        "dlq.failed.at": datetime.now(UTC).isoformat(),
    }
