"""The server actions beside the lifecycle: `lock`, `unlock` and `os-getConsoleOutput`, with Nova's rules.

None of them is refused by the lock (LOCK_FREE_ACTIONS, with the few
others Nova does not lock-check): lock and unlock are the lock itself, and
reading the console changes nothing. A console is
on the server's host, so the API asks for it through the log and waits for
the agent's answer (`Api.ask_reply`, events/console.py).
"""

from __future__ import annotations

import re
from typing import Any

from novalog.api.compute import server_commands
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import ApiFault, BadRequest, Conflict, NotFound
from novalog.api.microversion import Version
from novalog.events.state import InstanceState

# The actions a locked server still takes from its owner (every other action goes through Api.server_to_change):
# the lock itself, reading the console, and those Nova's compute API does not lock-check (resume; createImage,
# "lock is intended to prevent accidental change/delete"; evacuate, an admin's anyway).
LOCK_FREE_ACTIONS = frozenset({"lock", "unlock", "os-getConsoleOutput", "resume", "createImage", "evacuate"})
# `lock` takes a `locked_reason` from 2.73 (above this API's maximum for now: below it, the body's value is ignored, as Nova).
LOCKED_REASON = Version(2, 73)
# What Nova strips from a console before answering (control characters but tab, newline).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f]")


def lock(api: Api, row: InstanceState, args: Any, ctx: RequestContext, version: Version) -> None:
    reason = None
    if version >= LOCKED_REASON and isinstance(args, dict):
        reason = args.get("locked_reason")
    out = server_commands.lock(ctx, row, reason)
    if out is not None:
        api.write(out)


def unlock(api: Api, row: InstanceState, ctx: RequestContext) -> None:
    """Nova's unlock: a lock taken by the other kind of caller (an admin's, for the owner) needs unlock_override too."""
    if server_commands.locked_by_another(ctx, row):
        api.authorize("os_compute_api:os-lock-server:unlock:unlock_override", ctx, row.project_id)
    api.write(server_commands.unlock(ctx, row))


def console_length(args: Any) -> int | None:
    """The `length` of an os-getConsoleOutput body (Nova's schema: an integer, or its digits, from -1; -1 and null: all)."""
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute os-getConsoleOutput. Value: {args}. {args!r} is not of type 'object'")
    extra = sorted(set(args) - {"length"})
    if extra:
        raise BadRequest(f"Invalid input for field/attribute os-getConsoleOutput. Value: {args}. "
                         f"Additional properties are not allowed ({', '.join(repr(k) for k in extra)} was unexpected)")
    length = args.get("length")
    if length is None:
        return None
    if isinstance(length, bool) or not isinstance(length, int | str) or (isinstance(length, str) and re.fullmatch(r"-?[0-9]+", length) is None):
        raise BadRequest(f"Invalid input for field/attribute length. Value: {length}. {length!r} is not of type 'integer', 'string', 'null'")
    number = int(length)
    if number < -1:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {length}. {length} is less than the minimum of -1")
    return None if number == -1 else number


def console_output(api: Api, row: InstanceState, args: Any, ctx: RequestContext) -> dict[str, str]:
    """The tail of the server's console, read by its host's agent; Nova's 409 for a server without a host."""
    length = console_length(args)
    if row.host is None:
        raise Conflict(f"Instance {row.instance_id} is not ready")
    asked = server_commands.ask_console(ctx, row, length)
    ask_id = asked.record.envelope.event_id
    answered = api.ask_reply(asked, lambda r: ask_id in r.console_answers or r.vm_state == "deleted")
    if answered is None:
        raise ApiFault(504, f"The console of instance {row.instance_id} did not come back in time: the agent of host {row.host} did not answer.")
    if ask_id not in answered.console_answers:
        raise NotFound(f"Instance {row.instance_id} could not be found.")
    if ask_id in answered.console_errors:
        raise NotFound("Guest does not have a console available.")
    return {"output": _UNPRINTABLE.sub("", answered.console_answers[ask_id])}
