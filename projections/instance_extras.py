"""What the instance table folds besides the lifecycle: metadata, Nova's lock, and console asks and answers.

Metadata and the lock change the row at once, as Nova's API writes them to
its database; the route has refused what Nova refuses (a locked server, a
state that forbids it) before recording the request. A console ask is handed
to the instance's agent (its command topic), and the agent's answer is kept
in the row (the last few, each bounded by the agent), where the asking API
finds it by the ask's id.
"""

from __future__ import annotations

from novalog.events.evolve import replace
from novalog.events.outbound import Outbound
from novalog.events.state import InstanceState
from novalog.events.types.agent import InstanceConsoleOrdered
from novalog.events.types.instance import (
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceUnlocked,
)

PRODUCER = "novalog-projections"
# Answers kept in the row: enough for a few asks at once, each waiting for its own (oldest dropped first).
CONSOLE_ANSWERS_KEPT = 3

Extra = InstanceMetadataSet | InstanceMetadataDeleted | InstanceLocked | InstanceUnlocked | InstanceConsoleRequested


def metadata_after(state: InstanceState, event: InstanceMetadataSet | InstanceMetadataDeleted) -> dict[str, str]:
    """The server's metadata once the event is applied: merged in, replaced whole, or one key less."""
    if isinstance(event, InstanceMetadataDeleted):
        return {k: v for k, v in state.metadata.items() if k != event.key}
    if event.replace:
        return dict(event.metadata)
    return {**state.metadata, **event.metadata}


def on_request(state: InstanceState, event: Extra) -> tuple[InstanceState, list[Outbound]]:
    """A metadata change, a lock or unlock, or a console ask, about a server the table holds."""
    if state.vm_state == "deleted":
        return state, []
    match event:
        case InstanceMetadataSet() | InstanceMetadataDeleted():
            metadata = metadata_after(state, event)
            return (state, []) if metadata == state.metadata else (replace(state, metadata=metadata), [])
        case InstanceLocked():
            return replace(state, locked=True, locked_by=event.locked_by, locked_reason=event.reason), []
        case InstanceUnlocked():
            return replace(state, locked=False, locked_by=None, locked_reason=None), []
        case InstanceConsoleRequested():
            return state, console_order(state, event)


def console_order(state: InstanceState, event: InstanceConsoleRequested) -> list[Outbound]:
    """The ask, on the command topic of the host the server is on (none without a host: the API refused it)."""
    if state.host is None:
        return []
    order = InstanceConsoleOrdered(
        envelope=event.envelope.caused(InstanceConsoleOrdered, PRODUCER, occurred_at=event.envelope.occurred_at),
        instance_id=state.instance_id,
        ask_id=event.envelope.event_id,
        length=event.length,
    )
    return [Outbound.to_agent(state.host, state.instance_id, order)]


def on_console_reported(state: InstanceState, event: InstanceConsoleReported) -> InstanceState:
    """The agent's answer to an ask, kept among the last CONSOLE_ANSWERS_KEPT; a redelivered answer changes nothing."""
    if event.ask_id in state.console_answers:
        return state
    answers = {**state.console_answers, event.ask_id: event.output}
    kept = list(answers)[-CONSOLE_ANSWERS_KEPT:]
    errors = {**state.console_errors, **({event.ask_id: event.error} if event.error is not None else {})}
    return replace(state, console_answers={k: answers[k] for k in kept}, console_errors={k: v for k, v in errors.items() if k in kept})
