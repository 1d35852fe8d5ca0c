"""Images for the integration tests: register one through the image API (create, then upload its bits)."""

from __future__ import annotations

from typing import Any

import httpx

# A stand-in disk for stacks whose hosts ignore image bits (the libvirt test driver).
TINY_DISK = b"novalog tiny disk\n" * 64


def image_client(api_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/image/v2", headers={"X-Auth-Token": token}, timeout=60)


def register_image(http: httpx.Client, name: str, data: bytes = TINY_DISK, **fields: Any) -> dict[str, Any]:
    """An active image named `name` holding `data` (qcow2/bare unless `fields` say otherwise); its Glance record."""
    body = {"name": name, "disk_format": "qcow2", "container_format": "bare", **fields}
    created = http.post("/images", json=body)
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = http.put(f"/images/{image_id}/file", content=data, headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return http.get(f"/images/{image_id}").json()
