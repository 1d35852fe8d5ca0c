"""Version discovery: `/` and `/v2.1/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from novalog.api.compute import views
from novalog.api.deps import BaseUrl

router = APIRouter()


@router.get("/")
def versions(base: BaseUrl) -> dict[str, Any]:
    return {"versions": [views.version_doc(base)]}


@router.get("/v2.1", include_in_schema=False)
def version_redirect(base: BaseUrl) -> RedirectResponse:
    return RedirectResponse(f"{base}/v2.1/", status_code=302)


@router.get("/v2.1/")
def version(base: BaseUrl) -> dict[str, Any]:
    return {"version": views.version_doc(base)}
