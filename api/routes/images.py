"""The image service's endpoint (Glance v2), as far as clients need it before novalog keeps images: discovery and an empty list.

The `openstack` CLI builds an image client for `server list/show` and looks
image names up; novalog has no image store yet (imageRef is passed to the
hypervisor as it is), so it lists none and finds none: the CLI then shows ids.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from novalog.api.context import RequestContext
from novalog.api.deps import Api, base_url
from novalog.api.faults import NotFound


def router(api: Api) -> APIRouter:
    router = APIRouter()
    context = api.context

    @router.get("/image")
    @router.get("/image/", include_in_schema=False)
    def versions(request: Request) -> JSONResponse:
        version = {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": f"{base_url(request)}/image/v2/"}]}
        return JSONResponse({"versions": [version]}, status_code=300)

    @router.get("/image/v2/images")
    def list_images(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        return {"images": [], "first": "/v2/images", "schema": "/v2/schemas/images"}

    @router.get("/image/v2/images/{image_id}")
    def show_image(image_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        raise NotFound(f"No image found with ID {image_id}")

    return router
