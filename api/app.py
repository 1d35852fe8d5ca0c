"""The OpenStack Compute v2.1 API (a subset) on FastAPI.

Routes parse, authorize, call a pure command builder, append its events,
wait for the write to show in the read cache, and answer with a view.
Errors of every kind leave as OpenStack fault bodies from one handler.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novalog.api import bodies, microversion
from novalog.api.compute.routes import (
    aggregates,
    flavors,
    hosts,
    instance_actions,
    keypairs,
    quotas,
    server_groups,
    server_metadata,
    servers,
    usage,
    versions,
)
from novalog.api.deps import MAX_BODY, Api, ApiBackend, base_url
from novalog.api.faults import ApiFault, fault_body
from novalog.api.identity import directory_routes as identity_directory
from novalog.api.identity import routes as identity
from novalog.api.image import routes as images

log = logging.getLogger(__name__)


class RequestFrame:
    """Every request's frame: its id, the body-size cap, the microversion, and faults from anything unhandled.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware`)
    runs each request in a task group with memory streams between it and the
    app, a cost paid by every request, the cheapest reads included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req-{uuid.uuid4()}"
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        path, method = scope["path"], scope["method"]
        compute = path.startswith("/v2.1/")
        version = microversion.MIN
        started = False

        async def framed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["x-openstack-request-id"] = rid
                headers["x-compute-request-id"] = rid
                if compute:
                    headers[microversion.HEADER] = f"compute {version}"
                    headers[microversion.LEGACY_HEADER] = str(version)
                    headers["Vary"] = f"{microversion.HEADER}, {microversion.LEGACY_HEADER}"
            await send(message)

        try:
            request_headers = Headers(scope=scope)
            length = request_headers.get("content-length")
            # Image data (PUT /image/v2/images/{id}/file) is bounded by the image store's own cap instead.
            upload = method == "PUT" and path.startswith("/image/") and path.endswith("/file")
            if length is not None and length.isdigit() and int(length) > MAX_BODY and not upload:
                raise ApiFault(413, f"Request is too large: {length} bytes, at most {MAX_BODY}.")
            if compute:
                version = microversion.requested({k.lower(): v for k, v in request_headers.items()})
            state["microversion"] = version
            await self.app(scope, receive if upload else capped(receive), framed)
            return
        except microversion.VersionError as exc:
            response = JSONResponse(fault_body(exc.status, str(exc)), status_code=exc.status)
        except ApiFault as exc:
            response = JSONResponse(fault_body(exc.status, exc.message), status_code=exc.status)
        except Exception:
            if started:  # the answer is already on its way: nothing better can be sent
                raise
            log.exception("unhandled error in %s %s (%s)", method, path, rid)
            response = JSONResponse(fault_body(500, "Unexpected API Error. Please report this at the project's issue tracker."), status_code=500)
        await response(scope, receive, framed)


def capped(receive: Receive) -> Receive:
    """The request's body as it arrives, refused (413) past MAX_BODY: a chunked body declares no length to check first.

    Raised as Starlette's HTTPException, which FastAPI lets through while it
    reads a body (any other error there becomes a 400).
    """
    received = 0

    async def receive_capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY:
                raise StarletteHTTPException(413, f"Request is too large: more than {MAX_BODY} bytes.")
        return message

    return receive_capped


def create_app(backend: ApiBackend) -> FastAPI:
    app = FastAPI(title="novalog compute API", version="2.1", openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.state.backend = backend

    app.add_middleware(RequestFrame)

    @app.exception_handler(ApiFault)
    async def on_fault(request: Request, exc: ApiFault) -> JSONResponse:
        return JSONResponse(fault_body(exc.status, exc.message), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(fault_body(exc.status_code, message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(fault_body(400, bodies.nova_message(exc.errors(), exc.body)), status_code=400)

    api = app.state.api = Api(backend)
    families = (
        versions, flavors, servers, server_metadata, hosts, identity, identity_directory, images, quotas, keypairs, server_groups, instance_actions,
        aggregates, usage,
    )
    for family in families:
        router = family.router
        app.include_router(router if isinstance(router, APIRouter) else router(api))
    return app


__all__ = ["ApiBackend", "base_url", "create_app"]
