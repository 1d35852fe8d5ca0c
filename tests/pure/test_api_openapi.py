"""/openapi.json describes the real body of every request that takes one, so clients and the fuzzer see the true shapes."""

from __future__ import annotations

from typing import Any

import pytest

from novalog.api.app import create_app
from novalog.api.deps import ApiBackend

# A body whose keys are data, not a fixed set: the one extra spec PUT names (`{"<key>": "<value>"}`).
KEYED_BY_DATA = {("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")}
# Bytes, not a JSON document: the image upload.
BINARY = {("PUT", "/image/v2/images/{image_id}/file")}


def _document() -> dict[str, Any]:
    # No route runs: the document is built from the routes' declarations alone, so no log or read model is needed.
    return create_app(ApiBackend(log=None, cache=None)).openapi()  # type: ignore[arg-type]


DOCUMENT = _document()
OPERATIONS = sorted(
    (method.upper(), path) for path, operations in DOCUMENT["paths"].items() for method in operations if method in ("post", "put", "patch")
)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_document_lists_the_apis_writes() -> None:
    # Servers, actions, flavors, key pairs, server groups, aggregates, quotas, services, images, tokens:
    # a document without them would let the test below pass on nothing.
    assert len(OPERATIONS) >= 15
    assert ("POST", "/v2.1/servers") in OPERATIONS and ("POST", "/identity/v3/auth/tokens") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_each_body_has_its_real_schema(method: str, path: str) -> None:
    body = DOCUMENT["paths"][path][method.lower()].get("requestBody")
    assert body is not None, f"{method} {path} declares no body"
    ((media_type, content),) = body["content"].items()
    schema = resolve(content["schema"])
    if (method, path) in BINARY:
        assert (media_type, schema.get("format")) == ("application/octet-stream", "binary")
    elif (method, path) in KEYED_BY_DATA:
        assert schema.get("patternProperties"), schema
    else:
        shape = resolve(schema["items"]) if schema.get("type") == "array" else schema
        assert shape.get("properties"), f"{method} {path}: {schema}"
        assert schema != {"type": "object"}
