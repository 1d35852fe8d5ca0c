"""Identity (Keystone v3, the part clients need): version discovery, tokens (issue, validate, revoke), under /identity."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from novalog.api import bodies
from novalog.api.deps import Api, ApiDep, BaseUrl
from novalog.api.identity import commands, views
from novalog.api.identity.auth import IdentityService
from novalog.api.identity.keystone import AuthBody, KeystoneError


def refused(base: str, exc: KeystoneError) -> JSONResponse:
    """Keystone's error body; a 401 names where to authenticate."""
    headers = {"WWW-Authenticate": f'Keystone uri="{base}/identity"'} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


class KeystoneRoute(APIRoute):
    """An identity route: a body that does not fit its model is answered with Keystone's error, not Nova's fault."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return refused("", KeystoneError(400, invalid(exc.errors(), exc.body)))

        return answer


router = APIRouter(route_class=KeystoneRoute)


def invalid(errors: Any, body: Any) -> str:
    """What is wrong with a token request's body: not JSON (or none), or where it does not fit AuthBody."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid" or (first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",)):
        return "The request body is not JSON."
    return bodies.nova_message(errors, body)


def service(api: Api) -> IdentityService:
    identity = api.backend.identity
    if identity is None:
        raise KeystoneError(503, "Identity is not configured on this API.")
    return identity


@router.get("/identity")
@router.get("/identity/", include_in_schema=False)
def versions(base: BaseUrl) -> JSONResponse:
    return JSONResponse({"versions": {"values": [views.version_doc(base)]}}, status_code=300)


@router.get("/identity/v3")
@router.get("/identity/v3/", include_in_schema=False)
def version(base: BaseUrl) -> dict[str, Any]:
    return {"version": views.version_doc(base)}


@router.post("/identity/v3/auth/tokens")
async def issue_token(body: Annotated[AuthBody, Body()], request: Request, api: ApiDep, base: BaseUrl) -> Response:
    try:
        # Verifying a password is deliberately slow work: keep it off the event loop.
        token, claims, grant = await run_in_threadpool(service(api).issue, body.given())
    except KeystoneError as exc:
        return refused(base, exc)
    answer = views.token_body(base, claims, grant, "nocatalog" not in request.query_params)
    return JSONResponse(answer, status_code=201, headers={"X-Subject-Token": token})


@router.get("/identity/v3/auth/tokens")
def check_token(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    """Validate X-Subject-Token for its own user or an admin holding a valid X-Auth-Token (401 if not; 404 for a bad subject)."""
    try:
        claims, grant = validated_subject(api, request)
    except KeystoneError as exc:
        return refused(base, exc)
    answer = views.token_body(base, claims, grant, "nocatalog" not in request.query_params)
    return JSONResponse(answer, headers={"X-Subject-Token": request.headers.get("x-subject-token") or ""})


@router.head("/identity/v3/auth/tokens")
def check_token_head(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    """As GET, without the body."""
    try:
        validated_subject(api, request)
    except KeystoneError as exc:
        return refused(base, exc)
    return Response(status_code=200, headers={"X-Subject-Token": request.headers.get("x-subject-token") or ""})


@router.delete("/identity/v3/auth/tokens")
def revoke_token(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    """Revoke X-Subject-Token (its own user or an admin may): 204, and 401 for it everywhere from then on; 404 for a bad subject."""
    try:
        claims, grant = validated_subject(api, request, "revoke_token")
    except KeystoneError as exc:
        return refused(base, exc)
    api.write(commands.revoke_token(grant.user, claims.audit_id, claims.expires_at, request.state.request_id))
    return Response(status_code=204)


def validated_subject(api: Api, request: Request, rule: str = "validate_token") -> Any:
    """The claims and grant of X-Subject-Token, if the caller's own X-Auth-Token may see them."""
    identity = service(api)
    caller, caller_grant = identity.validate(request.headers.get("x-auth-token"))
    claims, grant = identity.validate(request.headers.get("x-subject-token"), status=404)
    if claims.user_id != caller.user_id and "admin" not in caller_grant.roles:
        raise KeystoneError(403, f"You are not authorized to perform the requested action: identity:{rule}.")
    return claims, grant
