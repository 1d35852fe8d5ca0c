"""The image service (a Glance v2 subset): discovery, images list/show/create/update/delete, and their bits.

Image records are catalog events (key `image:<id>`) folded into the catalog
table; the bits go to the image store on this API's disk when they arrive,
and the event records where. Errors use the API's fault bodies with Glance's
statuses; another project's private image is 404.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from novalog.api.context import RequestContext
from novalog.api.deps import MAX_BODY, Api, ApiDep, BaseUrl, Ctx
from novalog.api.faults import ApiFault, BadRequest, NotFound
from novalog.api.guards import Authorized
from novalog.api.image import catalog as image_catalog
from novalog.api.image import commands as image_commands
from novalog.api.image.commands import ImageCreate
from novalog.events.state import ImageState

PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
# The bodies FastAPI does not read itself, described for /openapi.json by hand: the upload's bytes,
# and the patch's operations (image_commands.PatchOperation) in Glance's own JSON patch media type.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}}
PATCH_BODY = {"requestBody": {"required": True, "content": {PATCH_MEDIA_TYPE: {
    "schema": {"type": "array", "items": image_commands.PatchOperation.model_json_schema()}}}}}

router = APIRouter()


def find_image(api: Api, image_id: str, ctx: RequestContext) -> ImageState:
    row = api.backend.cache.image(image_id)
    if row is None or not image_catalog.visible(row, ctx):
        raise NotFound(f"No image found with ID {image_id}")
    return row


def target(row: ImageState, ctx: RequestContext) -> str:
    """The project a rule checks: the owner's, or the caller's own for an image everyone sees."""
    return ctx.project_id if row.visibility in ("public", "community") and row.owner != ctx.project_id else row.owner


def authorize_visibility(api: Api, ctx: RequestContext, visibility: str) -> None:
    """Making an image public or community takes its own rule."""
    if visibility == "public":
        api.authorize("publicize_image", ctx)
    if visibility == "community":
        api.authorize("communitize_image", ctx)


async def patch_body(request: Request) -> Any:
    """A PATCH's operations, sent as Glance's JSON patch media type (415 for any other)."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media != PATCH_MEDIA_TYPE:
        raise ApiFault(415, f"Unsupported Content-Type {media!r}: use {PATCH_MEDIA_TYPE}.")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiFault(413, f"Request is too large: more than {MAX_BODY} bytes.")
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("Malformed request body") from None


@router.get("/image")
@router.get("/image/", include_in_schema=False)
@router.get("/image/versions", include_in_schema=False)
def versions(request: Request, base: BaseUrl) -> JSONResponse:
    version = {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": f"{base}/image/v2/"}]}
    return JSONResponse({"versions": [version]}, status_code=300 if not request.url.path.endswith("versions") else 200)


@router.get("/image/v2/images")
def list_images(request: Request, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    api.authorize("get_images", ctx)
    params = dict(request.query_params)
    rows = image_catalog.select_images(api.backend.cache.images(), params, ctx)
    chosen, next_link = image_catalog.page(rows, params)
    body: dict[str, Any] = {"images": [image_catalog.image_view(r) for r in chosen], "first": "/v2/images", "schema": "/v2/schemas/images"}
    if next_link:
        body["next"] = next_link
    return body


@router.get("/image/v2/images/{image_id}")
def show_image(image_id: str, api: ApiDep, ctx: Ctx) -> dict[str, Any]:
    row = find_image(api, image_id, ctx)
    api.authorize("get_image", ctx, target(row, ctx))
    return image_catalog.image_view(row)


@router.post("/image/v2/images", status_code=201, dependencies=[Depends(Authorized("add_image"))])
def create_image(body: Annotated[ImageCreate, Body()], api: ApiDep, ctx: Ctx, base: BaseUrl) -> JSONResponse:
    image_id, fields = image_commands.parse_create(body.given())
    authorize_visibility(api, ctx, fields.visibility)
    if api.backend.cache.image(image_id) is not None:
        raise ApiFault(409, f"Image with identifier {image_id} already exists!")
    row = api.write(image_commands.create_image(ctx, image_id, fields))
    return JSONResponse(image_catalog.image_view(row), status_code=201, headers={"Location": f"{base}/image/v2/images/{image_id}"})


@router.patch("/image/v2/images/{image_id}", openapi_extra=PATCH_BODY)
def update_image(image_id: str, api: ApiDep, ctx: Ctx, ops: Annotated[Any, Depends(patch_body)]) -> dict[str, Any]:
    row = find_image(api, image_id, ctx)
    api.authorize("modify_image", ctx, row.owner)
    fields = image_commands.apply_patch(row, ops)
    if fields.visibility != row.visibility:
        authorize_visibility(api, ctx, fields.visibility)
    updated = api.write(image_commands.update_image(ctx, image_id, fields))
    return image_catalog.image_view(updated)


@router.delete("/image/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, api: ApiDep, ctx: Ctx) -> Response:
    row = find_image(api, image_id, ctx)
    api.authorize("delete_image", ctx, row.owner)
    api.write(image_commands.delete_image(ctx, row))
    # The record says deleted first: a crash here leaves a stray file, never an image without its bits.
    if api.backend.image_store is not None:
        api.backend.image_store.remove(image_id)
    return Response(status_code=204)


@router.put("/image/v2/images/{image_id}/file", status_code=204, openapi_extra=UPLOAD_BODY)
async def upload_image(image_id: str, request: Request, api: ApiDep, ctx: Ctx) -> Response:
    row = find_image(api, image_id, ctx)
    api.authorize("upload_image", ctx, row.owner)
    media = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    if media != "application/octet-stream":
        raise ApiFault(415, f"Unsupported Content-Type {media!r}: image data is application/octet-stream.")
    image_commands.check_uploadable(row)
    store = api.backend.image_store
    if store is None:
        raise ApiFault(503, "No image store is configured.")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > store.max_size:
        raise ApiFault(413, f"Image exceeds the storage quota: {length} bytes, at most {store.max_size}.")
    stored = await store.write(image_id, request.stream())
    out = image_commands.uploaded(ctx, image_id, stored.size, stored.checksum, stored.os_hash_algo, stored.os_hash_value, stored.path)
    await run_in_threadpool(api.write, out)
    return Response(status_code=204)


@router.get("/image/v2/images/{image_id}/file")
def download_image(image_id: str, api: ApiDep, ctx: Ctx) -> Response:
    row = find_image(api, image_id, ctx)
    api.authorize("download_image", ctx, target(row, ctx))
    if row.status != "active" or row.location is None:
        return Response(status_code=204)  # Glance: an image without data answers 204
    headers = {"Content-MD5": row.checksum or ""}
    return FileResponse(row.location, media_type="application/octet-stream", headers=headers)


@router.get("/image/v2/schemas/image")
def image_schema() -> dict[str, Any]:
    return image_catalog.IMAGE_SCHEMA


@router.get("/image/v2/schemas/images")
def images_schema() -> dict[str, Any]:
    return {"name": "images", "properties": {"images": {"type": "array", "items": image_catalog.IMAGE_SCHEMA}}, "links": [
        {"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}]}
