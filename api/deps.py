"""What every route shares: the backend (event log, read cache, settings) and the request's context, body and writes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from novalog.api.context import RequestContext, context_from_token
from novalog.api.faults import BadRequest
from novalog.api.microversion import MIN, Version
from novalog.events.outbound import Outbound

log = logging.getLogger(__name__)


class Appender(Protocol):
    def append(self, outs: Sequence[Outbound], timeout: float = 30.0) -> list[Any]: ...


class Cache(Protocol):
    instances: dict[str, Any]
    catalog: dict[str, Any]
    hosts: dict[str, Any]

    def wait_until(self, predicate: Any, timeout: float) -> bool: ...


@dataclass
class ApiBackend:
    """What the routes need from the outside: an event log to append to, a read cache, and settings."""

    log: Appender
    cache: Cache
    write_wait: float = 5.0
    service_down_time: float = 20.0
    allow_resize_to_same_host: bool = False


def base_url(request: Request) -> str:
    """The absolute root of this API as the client reached it (honouring X-Forwarded-*)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    return f"{proto}://{host}"


class Api:
    """The routes' shared helpers over one backend; `context` and `json_body` are FastAPI dependencies."""

    def __init__(self, backend: ApiBackend) -> None:
        self.backend = backend

    def await_write(self, predicate: Any, key: str) -> None:
        """Wait until the read cache shows a write's effect (read-your-writes); a lagging projection only logs."""
        backend = self.backend
        if not backend.cache.wait_until(predicate, backend.write_wait):
            log.warning("read-your-writes: %s not in the read cache after %s s (projection lagging?)", key, backend.write_wait)

    def context(self, request: Request) -> RequestContext:
        return context_from_token(request.headers.get("x-auth-token"), request.state.request_id)

    @staticmethod
    def version(request: Request) -> Version:
        """The microversion this request is served at (the middleware checked it)."""
        return getattr(request.state, "microversion", MIN)

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("Malformed request body") from None
        if not isinstance(body, dict):
            raise BadRequest("Malformed request body: a JSON object is required")
        return body
