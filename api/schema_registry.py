"""The read-only Schema Registry subset over HTTP, in Confluent's shapes, so stock clients decode novalog's topics.

    GET  /subjects                               ["novalog.instance.InstanceBuildRequested", ...]
    GET  /subjects/{s}/versions                  [1, 2, 3, 4]
    GET  /subjects/{s}/versions/{v|latest}       {"subject", "version", "id", "schema"}
    GET  /subjects/{s}/versions/{v}/schema       the schema itself
    GET  /schemas/ids/{id}                       {"schema"}  (query parameters such as ?subject= are ignored)
    POST /subjects/{s}                           which version of s this schema is (a lookup; registers nothing)

Anything else is 404 (Confluent's client asks `/associations/...` and takes
a 404 as "none"); errors are Confluent's `{"error_code", "message"}` bodies.
The answers come from `novalog.events.registry`; this module only maps them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalog.events.registry import MEDIA_TYPE, InvalidSchema, RegisteredSchema, RegistryError, RegistryIndex


class RegistryJSON(JSONResponse):
    media_type = MEDIA_TYPE


def _error(status: int, error_code: int, message: str) -> RegistryJSON:
    return RegistryJSON({"error_code": error_code, "message": message}, status_code=status)


def _version_view(found: RegisteredSchema) -> dict[str, Any]:
    # schemaType is left out: Confluent omits it for AVRO, the default.
    return {"subject": found.subject, "version": found.version, "id": found.id, "schema": found.schema}


def create_registry_app(index: RegistryIndex) -> FastAPI:
    app = FastAPI(
        title="novalog Schema Registry (read-only)", default_response_class=RegistryJSON,
        openapi_url=None, docs_url=None, redoc_url=None,
    )

    @app.exception_handler(RegistryError)
    async def registry_error(request: Request, exc: RegistryError) -> RegistryJSON:
        return _error(exc.status, exc.error_code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> RegistryJSON:
        return _error(exc.status_code, exc.status_code, f"HTTP {exc.status_code} {exc.detail}")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> RegistryJSON:
        return _error(422, 422, "Unprocessable Entity: the body must be {\"schema\": \"...\"}")

    @app.get("/subjects")
    def subjects(subjectPrefix: str = "") -> list[str]:  # noqa: N803 (Confluent's parameter name)
        return index.subjects(subjectPrefix)

    @app.get("/subjects/{subject}/versions")
    def versions(subject: str) -> list[int]:
        return index.versions(subject)

    @app.get("/subjects/{subject}/versions/{version}")
    def version(subject: str, version: str) -> dict[str, Any]:
        return _version_view(index.version(subject, version))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    def version_schema(subject: str, version: str) -> Response:
        return Response(index.version(subject, version).schema, media_type=MEDIA_TYPE)

    @app.get("/schemas/ids/{schema_id}")
    def schema_by_id(schema_id: str) -> dict[str, Any]:
        return {"schema": index.by_id(schema_id).schema}

    @app.post("/subjects/{subject}")
    def lookup(subject: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        if body.get("schemaType", "AVRO") != "AVRO" or not isinstance(body.get("schema"), str):
            raise InvalidSchema("Invalid schema: only Avro schemas, as {\"schema\": \"<json text>\"}")
        return _version_view(index.lookup(subject, body["schema"]))

    return app
