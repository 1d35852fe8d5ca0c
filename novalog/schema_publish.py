"""Registers novalog's schemas with an external Schema Registry (`novalog schemas publish`).

Every version of every subject goes in id order, each subject set to
FULL_TRANSITIVE first (the compatibility the tests hold the schemas to).
A registry gives each schema an id of its own; the records on novalog's
topics carry novalog's ids (schemas/manifest.json), so a consumer that
resolves ids at that registry would find other schemas, or none. With
`keep_ids`, each subject is put in IMPORT mode (Confluent's way of loading
schemas with given ids), registered with novalog's id and version, and put
back to READWRITE: then the registry resolves the ids on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from novalog.events.registry import MEDIA_TYPE, RegisteredSchema

COMPATIBILITY = "FULL_TRANSITIVE"


@dataclass(frozen=True, slots=True)
class Published:
    """One schema as the external registry took it."""

    subject: str
    version: int
    novalog_id: int
    registry_id: int


class PublishError(RuntimeError):
    """The registry refused a step; the message names the step and gives the registry's answer."""


def publish_schemas(url: str, schemas: list[RegisteredSchema], keep_ids: bool = False) -> list[Published]:
    """Register `schemas` (in the order given) at the registry at `url`; what it answered for each."""
    subjects = list(dict.fromkeys(s.subject for s in schemas))
    headers = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as http:
        for subject in subjects:
            _call(http, "PUT", f"/config/{quote(subject)}", {"compatibility": COMPATIBILITY})
        if not keep_ids:
            return [_register(http, s, {"schema": s.schema}) for s in schemas]
        for subject in subjects:
            _call(http, "PUT", f"/mode/{quote(subject)}", {"mode": "IMPORT"}, force="true")
        published = [_register(http, s, {"schema": s.schema, "id": s.id, "version": s.version}) for s in schemas]
        for subject in subjects:
            _call(http, "PUT", f"/mode/{quote(subject)}", {"mode": "READWRITE"})
        return published


def _register(http: httpx.Client, schema: RegisteredSchema, body: dict[str, Any]) -> Published:
    answer = _call(http, "POST", f"/subjects/{quote(schema.subject)}/versions", body)
    return Published(schema.subject, schema.version, schema.id, int(answer["id"]))


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any], **params: str) -> Any:
    try:
        resp = http.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        raise PublishError(f"{method} {http.base_url}{path}: {exc}") from exc
    if resp.status_code >= 300:
        raise PublishError(f"{method} {path}: HTTP {resp.status_code} {resp.text.strip()}")
    return resp.json()
