"""The OpenStack Compute v2.1 API (a subset) on FastAPI.

Routes parse, authorize, call a pure command builder, append its events,
wait for the write to show in the read cache, and answer with a view.
Errors of every kind leave as OpenStack fault bodies from one handler.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalog.api import microversion
from novalog.api.deps import MAX_BODY, Api, ApiBackend, base_url
from novalog.api.faults import ApiFault, fault_body
from novalog.api.routes import compute_hosts, flavors, identity, images, servers, versions, quotas, keypairs, server_groups, instance_actions, aggregates, tenant_usage

log = logging.getLogger(__name__)


def create_app(backend: ApiBackend) -> FastAPI:
    app = FastAPI(title="novalog compute API", version="2.1", openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.state.backend = backend

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Response:
        rid = f"req-{uuid.uuid4()}"
        request.state.request_id = rid
        compute = request.url.path.startswith("/v2.1/")
        version = microversion.MIN
        try:
            length = request.headers.get("content-length")
            # Image data (PUT /image/v2/images/{id}/file) is bounded by the image store's own cap instead.
            upload = request.method == "PUT" and request.url.path.startswith("/image/") and request.url.path.endswith("/file")
            if length is not None and length.isdigit() and int(length) > MAX_BODY and not upload:
                raise ApiFault(413, f"Request is too large: {length} bytes, at most {MAX_BODY}.")
            if compute:
                version = microversion.requested({k.lower(): v for k, v in request.headers.items()})
            request.state.microversion = version
            response = await call_next(request)
        except microversion.VersionError as exc:
            response = JSONResponse(fault_body(exc.status, str(exc)), status_code=exc.status)
        except ApiFault as exc:
            response = JSONResponse(fault_body(exc.status, exc.message), status_code=exc.status)
        except Exception:
            log.exception("unhandled error in %s %s (%s)", request.method, request.url.path, rid)
            response = JSONResponse(fault_body(500, "Unexpected API Error. Please report this at the project's issue tracker."), status_code=500)
        response.headers["x-openstack-request-id"] = rid
        response.headers["x-compute-request-id"] = rid
        if compute:
            response.headers[microversion.HEADER] = f"compute {version}"
            response.headers[microversion.LEGACY_HEADER] = str(version)
            response.headers["Vary"] = f"{microversion.HEADER}, {microversion.LEGACY_HEADER}"
        return response

    @app.exception_handler(ApiFault)
    async def on_fault(request: Request, exc: ApiFault) -> JSONResponse:
        return JSONResponse(fault_body(exc.status, exc.message), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(fault_body(exc.status_code, message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(fault_body(400, f"Invalid input: {exc.errors()[0].get('msg', 'malformed request')}"), status_code=400)

    api = Api(backend)
    for family in (versions, flavors, servers, compute_hosts, identity, images, quotas, keypairs, server_groups, instance_actions, aggregates, tenant_usage):
        app.include_router(family.router(api))

    def openapi() -> dict[str, Any]:
        """The routes' OpenAPI document; every POST and PUT takes a JSON object (what a fuzzer should send)."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for operations in schema["paths"].values():
                for method, operation in operations.items():
                    if method in ("post", "put") and "requestBody" not in operation:
                        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


__all__ = ["ApiBackend", "base_url", "create_app"]
