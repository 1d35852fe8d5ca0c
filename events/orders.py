"""The records that several deciders build alike: a host's order to delete a guest, and a claim given back.

The instance table, the move steps and the agents all emit these; built here
once, their ids are derived the same way everywhere (from the cause's id and
a salt), so a redelivered cause yields the very same record.
"""

from __future__ import annotations

from datetime import datetime

from novalog.events.outbound import Outbound
from novalog.events.records import Envelope
from novalog.events.types.agent import InstanceDeleteOrdered
from novalog.events.types.placement import ClaimReleased


def delete_order(instance_id: str, cause: Envelope, producer: str, host: str, claim_id: str | None, *, salt: str) -> Outbound:
    """The host's agent removes the instance's guest (if any) and releases the claim."""
    order = InstanceDeleteOrdered(
        envelope=cause.caused(InstanceDeleteOrdered, producer, salt=salt, occurred_at=cause.occurred_at),
        instance_id=instance_id,
        claim_id=claim_id,
    )
    return Outbound.to_agent(host, instance_id, order)


def claim_released(instance_id: str, cause: Envelope, producer: str, host: str, claim_id: str, *, occurred_at: datetime | None) -> Outbound:
    """Give a claim back to its host (keyed by host, so the host's single writer folds it).

    Pure deciders pass their cause's time; an agent passes None (now: when it really let go).
    """
    released = ClaimReleased(
        envelope=cause.caused(ClaimReleased, producer, salt=claim_id, occurred_at=occurred_at),
        claim_id=claim_id,
        instance_id=instance_id,
        host=host,
    )
    return Outbound.event(host, released)
