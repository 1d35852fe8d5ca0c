"""What the fuzzer loads (SCHEMATHESIS_HOOKS): how to send Glance's JSON patch media type, which it does not know.

The body is plain JSON; only the media type is Glance's own, so the image
PATCH route is fuzzed with generated operations like every other body.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

from novalog.api.image.routes import PATCH_MEDIA_TYPE


@schemathesis.serializer(PATCH_MEDIA_TYPE)
def json_patch(ctx: Any, value: Any) -> bytes:
    return json.dumps(value).encode()
