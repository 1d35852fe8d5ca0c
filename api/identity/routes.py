"""Identity (Keystone v3, the part clients need): version discovery and tokens, under /identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from novalog.api.identity import views
from novalog.api.identity.auth import IdentityService
from novalog.api.deps import Api, base_url
from novalog.api.identity.keystone import KeystoneError


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend

    def service() -> IdentityService:
        identity = getattr(backend, "identity", None)
        if identity is None:
            raise KeystoneError(503, "Identity is not configured on this API.")
        return identity

    def refused(request: Request, exc: KeystoneError) -> JSONResponse:
        headers = {"WWW-Authenticate": f'Keystone uri="{base_url(request)}/identity"'} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @router.get("/identity")
    @router.get("/identity/", include_in_schema=False)
    def versions(request: Request) -> JSONResponse:
        return JSONResponse({"versions": {"values": [views.version_doc(base_url(request))]}}, status_code=300)

    @router.get("/identity/v3")
    @router.get("/identity/v3/", include_in_schema=False)
    def version(request: Request) -> dict[str, Any]:
        return {"version": views.version_doc(base_url(request))}

    @router.post("/identity/v3/auth/tokens")
    async def issue_token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return refused(request, KeystoneError(400, "The request body is not JSON."))
        try:
            # Verifying a password is deliberately slow work: keep it off the event loop.
            token, claims, grant = await run_in_threadpool(service().issue, body)
        except KeystoneError as exc:
            return refused(request, exc)
        body = views.token_body(base_url(request), claims, grant, "nocatalog" not in request.query_params)
        return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token})

    @router.api_route("/identity/v3/auth/tokens", methods=["GET", "HEAD"])
    def check_token(request: Request) -> Response:
        """Validate X-Subject-Token for its own user or an admin holding a valid X-Auth-Token (401 if not; 404 for a bad subject)."""
        try:
            identity = service()
            caller, caller_grant = identity.validate(request.headers.get("x-auth-token"))
            subject = request.headers.get("x-subject-token")
            claims, grant = identity.validate(subject, status=404)
            if claims.user_id != caller.user_id and "admin" not in caller_grant.roles:
                raise KeystoneError(403, "You are not authorized to perform the requested action: identity:validate_token.")
        except KeystoneError as exc:
            return refused(request, exc)
        headers = {"X-Subject-Token": subject or ""}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        body = views.token_body(base_url(request), claims, grant, "nocatalog" not in request.query_params)
        return JSONResponse(body, headers=headers)

    return router
