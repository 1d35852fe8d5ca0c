"""Version discovery: `/` and `/v2.1/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from novalog.api.compute import views
from novalog.api.deps import Api, base_url


def router(api: Api) -> APIRouter:
    router = APIRouter()

    @router.get("/")
    def versions(request: Request) -> dict[str, Any]:
        return {"versions": [views.version_doc(base_url(request))]}

    @router.get("/v2.1", include_in_schema=False)
    def version_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{base_url(request)}/v2.1/", status_code=302)

    @router.get("/v2.1/")
    def version(request: Request) -> dict[str, Any]:
        return {"version": views.version_doc(base_url(request))}

    return router
