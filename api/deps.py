"""What every route shares: the backend (event log, read cache, settings) and the request's context, body and writes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Protocol

from fastapi import Depends, Request

from novalog.api.context import RequestContext, context_from_token
from novalog.api.faults import ApiFault, BadRequest, Conflict, Forbidden, NotFound
from novalog.api.microversion import MIN, Version
from novalog.api.policy import Policy
from novalog.api.read_model import ReadModel
from novalog.events import topics
from novalog.events.instance_names import InstanceNaming
from novalog.events.outbound import Outbound
from novalog.events.state import InstanceState

if TYPE_CHECKING:
    from novalog.api.identity.auth import IdentityService

log = logging.getLogger(__name__)
# Nova's [oslo_middleware] max_request_body_size: larger bodies are refused (413).
MAX_BODY = 114688
# How long a write waits for its project's quota decision before answering 503.
DECISION_WAIT = 15.0


class Appender(Protocol):
    prefix: str  # of the topics it appends to

    def append(self, outs: Sequence[Outbound], timeout: float = 30.0) -> list[Any]: ...


# Which read-cache table folds the records of each topic a route appends to.
TABLE_OF_TOPIC = {
    topics.INSTANCE_EVENTS: "instances",
    topics.CATALOG_EVENTS: "catalog",
    topics.TENANT_EVENTS: "tenant",
    topics.QUOTA_EVENTS: "quotas",
    topics.AGGREGATE_EVENTS: "aggregates",
    topics.HOST_EVENTS: "hosts",
    topics.IDENTITY_EVENTS: "identity",
}


class QuotaAnswer(NamedTuple):
    """A quota writer's decision on one request: Nova's 403 message ("" if let through), and the instances it let through."""

    refusal: str
    accepted: list[str]


@dataclass
class ApiBackend:
    """What the routes need from the outside: an event log to append to, a read cache, and settings."""

    log: Appender
    cache: ReadModel
    write_wait: float = 5.0
    service_down_time: float = 20.0
    allow_resize_to_same_host: bool = False
    policy_file: Path | None = None
    quota_defaults: dict[str, int] = field(default_factory=dict)
    default_availability_zone: str = "nova"
    # Nova's instance_name_template, over the numbers the instance table's log positions give (events/instance_names.py).
    instance_naming: InstanceNaming = field(default_factory=InstanceNaming)
    # Tokens (auth.py); None: no identity service, Nova's noauth2 `user:project` tokens are trusted.
    identity: IdentityService | None = None
    # Where uploaded image files go (image_store.ImageStore); None: uploads are refused.
    image_store: Any = None
    # How long a request another service answers through the log (a console ask, answered by an agent) is waited for.
    reply_wait: float = 10.0

    @property
    def accepts_unknown_images(self) -> bool:
        """noauth2 (development) only: an imageRef that names no image boots as an opaque name, as before the image catalog."""
        return self.identity is None or getattr(self.identity, "strategy", "keystone") == "noauth2"


def base_url(request: Request) -> str:
    """The absolute root of this API as the client reached it (honouring X-Forwarded-*)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    return f"{proto}://{host}"


class Api:
    """The routes' shared helpers over one backend; `context` and `json_body` are FastAPI dependencies."""

    def __init__(self, backend: ApiBackend) -> None:
        self.backend = backend
        self.policy = Policy(backend.policy_file)

    def authorize(self, rule: str, ctx: RequestContext, project_id: str | None = None, user_id: str | None = None) -> None:
        """403 unless the caller passes the policy rule for a resource of `project_id` (default: the caller's)."""
        self.policy.authorize(rule, ctx, {"project_id": project_id or ctx.project_id, "user_id": user_id or ctx.user_id})

    def allowed(self, rule: str, ctx: RequestContext, project_id: str | None = None) -> bool:
        return self.policy.allowed(rule, ctx, {"project_id": project_id or ctx.project_id, "user_id": ctx.user_id})

    def write(self, out: Outbound, until: Callable[[Any], bool] | None = None) -> Any:
        """Append one record, wait until its row shows it (read-your-writes), and return that row (None if it lags).

        The row is the one keyed `out.key` in the table that folds `out.topic`.
        Its `offset` (of the last record folded) reaching the record's own
        position shows the write; rows without one (a host's) show it by
        `until(row)`, which may also ask more of the row.
        """
        (position,) = self.backend.log.append([out])
        table = getattr(self.backend.cache, TABLE_OF_TOPIC[out.topic])

        def shown() -> bool:
            row = table.get(out.key)
            if row is None or (until is not None and not until(row)):
                return False
            return until is not None or getattr(row, "offset", -1) >= position.offset

        self.await_write(shown, out.key)
        return table.get(out.key)

    def ask_reply(self, asked: Outbound, answered: Callable[[Any], bool]) -> Any:
        """Append a request that another service answers into the row keyed `asked.key`, and wait for that answer.

        The row (in the table that folds `asked.topic`) once `answered(row)`;
        None when no answer came within the backend's `reply_wait` (the route
        says what that means: an agent down, a host gone).
        """
        self.backend.log.append([asked])
        table = getattr(self.backend.cache, TABLE_OF_TOPIC[asked.topic])

        def shown() -> bool:
            row = table.get(asked.key)
            return row is not None and answered(row)

        if not self.backend.cache.wait_until(shown, self.backend.reply_wait, asked.key):
            return None
        return table.get(asked.key)

    def ask(self, asked: Outbound, project_id: str, decision_id: str) -> QuotaAnswer:
        """Append a quota-gated request and wait for its project's writer to decide it; a refusal is Nova's 403."""
        (asked_at,) = self.backend.log.append([asked])
        answer = self.quota_decision(project_id, decision_id, asked_at)
        if answer.refusal:
            raise Forbidden(answer.refusal)
        return answer

    def await_write(self, predicate: Any, key: str) -> None:
        """Wait until the read cache shows a write's effect (read-your-writes); a lagging projection only logs.

        `key` is the row's key on its state topic, and the predicate reads that row only.
        """
        backend = self.backend
        if not backend.cache.wait_until(predicate, backend.write_wait, key):
            log.warning("read-your-writes: %s not in the read cache after %s s (projection lagging?)", key, backend.write_wait)

    def find_server(self, server_id: str, ctx: RequestContext, rule: str) -> InstanceState:
        """The caller's server (an admin's: anyone's), checked against `rule`; another project's is 404, as Nova."""
        row = self.backend.cache.instance(server_id)
        if row is None or row.vm_state == "deleted" or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Instance {server_id} could not be found.")
        self.authorize(rule, ctx, row.project_id, row.user_id)
        return row

    def server_to_change(self, server_id: str, ctx: RequestContext, rule: str) -> InstanceState:
        """`find_server`, then Nova's lock check: the one way in for every route that changes a server.

        A locked server is 409 "Instance <id> is locked" to anyone but an
        admin (Nova's check_instance_lock). Reads, lock and unlock, and the
        console use `find_server`; server actions come here by their name
        (routes/servers.py, LOCK_FREE_ACTIONS).
        """
        row = self.find_server(server_id, ctx, rule)
        check_instance_lock(row, ctx)
        return row

    def quota_decision(self, project_id: str, decision_id: str, asked_at: Any = None) -> QuotaAnswer:
        """The project's quota writer's answer to one request: "" (let through) or Nova's 403 message, and what it let through.

        A decision, unlike a row to show, must be known before answering:
        waited for up to DECISION_WAIT (or write_wait, if longer), then 503;
        the request is in the log all the same and takes effect when the writer is back.
        `asked_at`, the request's position in the log, lets the wait read the
        rows' source headers, and the answer is the one the row announced in
        its decided header: the row itself is not decoded.
        """
        backend = self.backend
        rows = backend.cache.quotas
        wait = max(DECISION_WAIT, backend.write_wait)
        if asked_at is not None and getattr(backend.log, "prefix", None) is not None:
            topic = asked_at.topic.removeprefix(f"{backend.log.prefix}.")
            if not backend.cache.wait_until(lambda: rows.reached(project_id, topic, asked_at.partition, asked_at.offset), wait, project_id):
                raise ApiFault(503, "The quota decision for this request did not arrive in time; it may still take effect.")
            if (announced := rows.decision(project_id, decision_id)) is not None:
                return QuotaAnswer(*announced)
            row = rows.get(project_id)  # a row written without the header (by a replay's swap, say)
            if row is not None and decision_id in row.decisions:
                return QuotaAnswer(row.decisions[decision_id], row.accepted.get(decision_id, []))
        decided = lambda: decision_id in getattr(rows.get(project_id), "decisions", {})  # noqa: E731
        if not backend.cache.wait_until(decided, wait, project_id):
            raise ApiFault(503, "The quota decision for this request did not arrive in time; it may still take effect.")
        row = rows[project_id]
        return QuotaAnswer(row.decisions[decision_id], row.accepted.get(decision_id, []))

    def context(self, request: Request) -> RequestContext:
        token, request_id = request.headers.get("x-auth-token"), request.state.request_id
        if self.backend.identity is None:
            return context_from_token(token, request_id)
        return self.backend.identity.context(token, request_id)

    @staticmethod
    def version(request: Request) -> Version:
        """The microversion this request is served at (the middleware checked it)."""
        return getattr(request.state, "microversion", MIN)

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:  # sent without a Content-Length (chunked)
            raise ApiFault(413, f"Request is too large: more than {MAX_BODY} bytes.")
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("Malformed request body") from None
        if not isinstance(body, dict):
            raise BadRequest("Malformed request body: a JSON object is required")
        return body


def check_instance_lock(row: InstanceState, ctx: RequestContext) -> None:
    """Nova's check_instance_lock: a locked server refuses every change but an admin's."""
    if row.locked and not ctx.is_admin:
        raise Conflict(f"Instance {row.instance_id} is locked")


def current_api(request: Request) -> Api:
    """The app's Api (set by create_app)."""
    api: Api = request.app.state.api  # starlette's State holds untyped attributes
    return api


ApiDep = Annotated[Api, Depends(current_api)]


def request_context(request: Request, api: ApiDep) -> RequestContext:
    """Who is asking: the token's user, project and roles."""
    return api.context(request)


def request_version(request: Request) -> Version:
    return Api.version(request)


Ctx = Annotated[RequestContext, Depends(request_context)]
Microversion = Annotated[Version, Depends(request_version)]
BaseUrl = Annotated[str, Depends(base_url)]
JsonBody = Annotated[dict[str, Any], Depends(Api.json_body)]
