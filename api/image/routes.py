"""The image service (a Glance v2 subset): discovery, images list/show/create/update/delete, and their bits.

Image records are catalog events (key `image:<id>`) folded into the catalog
table; the bits go to the image store on this API's disk when they arrive,
and the event records where. Errors use the API's fault bodies with Glance's
statuses; another project's private image is 404.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from novalog.api.image import catalog as image_catalog
from novalog.api.image import commands as image_commands
from novalog.api.context import RequestContext
from novalog.api.deps import MAX_BODY, Api, base_url
from novalog.api.faults import ApiFault, BadRequest, NotFound
from novalog.events.outbound import Outbound
from novalog.events.state import ImageState

PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"


def router(api: Api) -> APIRouter:
    router = APIRouter()
    backend = api.backend
    context = api.context

    def find_image(image_id: str, ctx: RequestContext) -> ImageState:
        row = backend.cache.catalog.get(image_commands.key(image_id))
        if not isinstance(row, ImageState) or not image_catalog.visible(row, ctx):
            raise NotFound(f"No image found with ID {image_id}")
        return row

    def target(row: ImageState, ctx: RequestContext) -> str:
        """The project a rule checks: the owner's, or the caller's own for an image everyone sees."""
        return ctx.project_id if row.visibility in ("public", "community") and row.owner != ctx.project_id else row.owner

    def write(out: Outbound, done: Any) -> ImageState:
        """Append an image event, wait until the read cache shows its effect, and return the row."""
        (pos,) = backend.log.append([out])
        api.await_write(lambda: getattr(backend.cache.catalog.get(out.key), "offset", -1) >= pos.offset and done(backend.cache.catalog[out.key]), out.key)
        return backend.cache.catalog.get(out.key)

    async def json_of(request: Request) -> Any:
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
    def versions(request: Request) -> JSONResponse:
        version = {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": f"{base_url(request)}/image/v2/"}]}
        return JSONResponse({"versions": [version]}, status_code=300 if not request.url.path.endswith("versions") else 200)

    @router.get("/image/v2/images")
    def list_images(request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        api.authorize("get_images", ctx)
        params = dict(request.query_params)
        rows = image_catalog.select_images(list(backend.cache.catalog.values()), params, ctx)
        chosen, next_link = image_catalog.page(rows, params)
        body: dict[str, Any] = {"images": [image_catalog.image_view(r) for r in chosen], "first": "/v2/images", "schema": "/v2/schemas/images"}
        if next_link:
            body["next"] = next_link
        return body

    @router.get("/image/v2/images/{image_id}")
    def show_image(image_id: str, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        row = find_image(image_id, ctx)
        api.authorize("get_image", ctx, target(row, ctx))
        return image_catalog.image_view(row)

    @router.post("/image/v2/images", status_code=201)
    async def create_image(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
        body = await json_of(request)
        if not isinstance(body, dict):
            raise BadRequest("Malformed request body: a JSON object is required")
        api.authorize("add_image", ctx)
        image_id, fields = image_commands.parse_create(body)
        if fields.visibility == "public":
            api.authorize("publicize_image", ctx)
        if fields.visibility == "community":
            api.authorize("communitize_image", ctx)
        if backend.cache.catalog.get(image_commands.key(image_id)) is not None:
            raise ApiFault(409, f"Image with identifier {image_id} already exists!")
        row = await run_in_threadpool(write, image_commands.create_image(ctx, image_id, fields), lambda r: True)
        return JSONResponse(image_catalog.image_view(row), status_code=201, headers={"Location": f"{base_url(request)}/image/v2/images/{image_id}"})

    @router.patch("/image/v2/images/{image_id}")
    async def update_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict[str, Any]:
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media != PATCH_MEDIA_TYPE:
            raise ApiFault(415, f"Unsupported Content-Type {media!r}: use {PATCH_MEDIA_TYPE}.")
        ops = await json_of(request)
        row = find_image(image_id, ctx)
        api.authorize("modify_image", ctx, row.owner)
        fields = image_commands.apply_patch(row, ops)
        if fields.visibility != row.visibility and fields.visibility == "public":
            api.authorize("publicize_image", ctx)
        if fields.visibility != row.visibility and fields.visibility == "community":
            api.authorize("communitize_image", ctx)
        out = image_commands.update_image(ctx, image_id, fields)
        updated = await run_in_threadpool(write, out, lambda r: True)
        return image_catalog.image_view(updated)

    @router.delete("/image/v2/images/{image_id}", status_code=204)
    def delete_image(image_id: str, ctx: RequestContext = Depends(context)) -> Response:
        row = find_image(image_id, ctx)
        api.authorize("delete_image", ctx, row.owner)
        write(image_commands.delete_image(ctx, row), lambda r: r.status == "deleted")
        # The record says deleted first: a crash here leaves a stray file, never an image without its bits.
        if backend.image_store is not None:
            backend.image_store.remove(image_id)
        return Response(status_code=204)

    @router.put("/image/v2/images/{image_id}/file", status_code=204)
    async def upload_image(image_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
        row = find_image(image_id, ctx)
        api.authorize("upload_image", ctx, row.owner)
        media = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        if media != "application/octet-stream":
            raise ApiFault(415, f"Unsupported Content-Type {media!r}: image data is application/octet-stream.")
        image_commands.check_uploadable(row)
        store = backend.image_store
        if store is None:
            raise ApiFault(503, "No image store is configured.")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > store.max_size:
            raise ApiFault(413, f"Image exceeds the storage quota: {length} bytes, at most {store.max_size}.")
        stored = await store.write(image_id, request.stream())
        out = image_commands.uploaded(ctx, image_id, stored.size, stored.checksum, stored.os_hash_algo, stored.os_hash_value, stored.path)
        await run_in_threadpool(write, out, lambda r: r.status != "queued")
        return Response(status_code=204)

    @router.get("/image/v2/images/{image_id}/file")
    def download_image(image_id: str, ctx: RequestContext = Depends(context)) -> Response:
        row = find_image(image_id, ctx)
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

    return router
