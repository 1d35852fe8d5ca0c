"""The server actions that change a guest in place on its host: rebuild, createImage, rescue, unrescue.

Nova's checks in Nova's order (the action's policy rule has run already:
api/policy.py ACTION_RULES): the instance's state (409), then the image
(400), then one request event; the instance table orders the host's agent.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

from novalog.api.compute import guest_commands, views
from novalog.api.context import RequestContext
from novalog.api.deps import Api
from novalog.api.faults import ApiFault, Conflict
from novalog.api.image import catalog as image_catalog
from novalog.api.microversion import Version
from novalog.events.actions import guest_refusal
from novalog.events.state import InstanceState

NAMES = frozenset({"rebuild", "createImage", "rescue", "unrescue"})
EXTENSION_PREFIXES = ("OS-EXT-", "OS-SRV-USG:", "os-extended-volumes:")
EXTENSION_KEYS = frozenset({"config_drive", "key_name", "security_groups"})
IMAGE_ID_IN_BODY = Version(2, 45)  # beyond the advertised maximum today; kept so raising it changes nothing here


def guest_action(api: Api, row: InstanceState, name: str, args: Any, ctx: RequestContext, base: str, version: Version) -> Response:
    """One of NAMES on the server `row`: 409 unless its vm_state allows it and no task runs."""
    problem = guest_refusal(name, row.instance_id, row.vm_state, row.task_state, row.host)
    if problem:
        raise Conflict(problem)
    args = args or {}
    match name:
        case "rebuild":
            return rebuild(api, row, args, ctx, base, version)
        case "createImage":
            return create_image(api, row, args, ctx, base, version)
        case "rescue":
            return rescue(api, row, args, ctx)
        case _:
            api.write(guest_commands.request_rescue(ctx, row.instance_id, False))
            return Response(status_code=202)


def rebuild(api: Api, row: InstanceState, args: dict[str, Any], ctx: RequestContext, base: str, version: Version) -> Response:
    """202 with the server as it is now (REBUILD) and its new admin password, as Nova answers a rebuild."""
    cache = api.backend.cache
    image = image_catalog.boot_image(cache, str(args["imageRef"]), ctx, api.backend.accepts_unknown_images)
    asked = guest_commands.request_rebuild(ctx, row, args, image)
    written = api.write(asked)
    # As Nova answers: the instance as the request left it (a fast host may have finished already).
    shown = guest_commands.rebuilding(written if written is not None else row, asked.record)
    # Nova's rebuild answers the plain server view (the extensions' attributes only from 2.75).
    detail = views.server_detail(base, shown, False, version)
    server = {key: value for key, value in detail.items() if not key.startswith(EXTENSION_PREFIXES) and key not in EXTENSION_KEYS}
    server["adminPass"] = args.get("adminPass") or guest_commands.new_password()
    return JSONResponse({"server": server}, status_code=202)


def create_image(api: Api, row: InstanceState, args: dict[str, Any], ctx: RequestContext, base: str, version: Version) -> Response:
    """202 with the new image's URL in Location (up to 2.44) or its id in the body (from 2.45): a queued image the instance's host fills."""
    store = api.backend.image_store
    if store is None:
        raise ApiFault(503, "No image store is configured.")
    image_id = str(uuid.uuid4())
    fields = guest_commands.snapshot_fields(ctx, row, args["name"], args.get("metadata"))
    created, asked = guest_commands.request_snapshot(ctx, row, image_id, fields, str(store.path(image_id)))
    api.write(created)
    api.write(asked)
    if version >= IMAGE_ID_IN_BODY:
        return JSONResponse({"image_id": image_id}, status_code=202)
    return Response(status_code=202, headers={"Location": f"{base}/image/v2/images/{image_id}"})


def rescue(api: Api, row: InstanceState, args: dict[str, Any], ctx: RequestContext) -> Response:
    """200 with the admin password: the guest boots the rescue image (the instance's own image by default), its disk second."""
    ref = args.get("rescue_image_ref")
    image = image_catalog.boot_image(api.backend.cache, ref, ctx, api.backend.accepts_unknown_images) if ref else None
    files = image.files if image else row.image_files
    given = image_catalog.BootImage(properties={}, files=files) if files else None
    api.write(guest_commands.request_rescue(ctx, row.instance_id, True, ref or row.image_ref, given))
    return JSONResponse({"adminPass": args.get("adminPass") or guest_commands.new_password()}, status_code=200)
