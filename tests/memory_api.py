"""The API on the in-memory backend (novalog/memory.py), driven over HTTP with FastAPI's TestClient, and the routes each test hit.

Route tests talk HTTP only (status, body, headers): they are the safety net
of the routes, whatever shape the routes take inside. Every request a
RecordingClient sends is noted in HITS, so a test can tell which routes no
test reached (tests/pure/test_api_routes_walk.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import compile_path

from novalog.api.app import create_app
from novalog.api.deps import ApiBackend
from novalog.memory import memory_backend
from novalog.settings import Settings

# (method, path) of every request sent through a RecordingClient in this session.
HITS: set[tuple[str, str]] = set()
ADMIN = "admin:admin"
SMALL = {"name": "m1.small", "id": "2", "vcpus": 1, "ram": 2048, "disk": 20}
MEDIUM = {"name": "m1.medium", "id": "3", "vcpus": 2, "ram": 4096, "disk": 40}


class RecordingClient(TestClient):
    """A TestClient that notes the method and path of every request it sends."""

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        HITS.add((response.request.method, response.request.url.path))
        return response


def memory_settings(tmp: Path, **overrides: Any) -> Settings:
    """The settings a test stack runs with (tests/stack_harness.py), on a temporary state folder; Nova's quota defaults."""
    return Settings(
        topic_prefix="memory", state_dir=tmp / "state", heartbeat_interval=1.0, service_down_time=60.0, auth_strategy="noauth2",
    ).model_copy(update=overrides)


def backend_in(tmp: Path, **overrides: Any) -> ApiBackend:
    return memory_backend(memory_settings(tmp, **overrides))


def app_on(backend: ApiBackend) -> Any:
    """The app on the backend: one per backend, so a test's clients share it (each app costs a tenth of a second to build)."""
    if id(backend) not in _APPS:
        _APPS.clear()  # a new test's backend: the last test's app is done with
        _APPS[id(backend)] = (backend, create_app(backend))
    return _APPS[id(backend)][1]


_APPS: dict[int, tuple[ApiBackend, Any]] = {}


def client(backend: ApiBackend, token: str | None = ADMIN, version: str | None = None, prefix: str = "/v2.1") -> RecordingClient:
    """A client of the app on `backend`, with a token (None: none) and a compute microversion."""
    headers = {} if token is None else {"X-Auth-Token": token}
    if version is not None:
        headers["OpenStack-API-Version"] = f"compute {version}"
    return RecordingClient(app_on(backend), base_url=f"http://testserver{prefix}", headers=headers, follow_redirects=False)


def fault(response: Any, status: int, message: str) -> None:
    """The response is the OpenStack fault `status` with exactly this message."""
    assert response.status_code == status, response.text
    (body,) = response.json().values()
    assert body == {"code": status, "message": message}, response.text


def flavor(admin: RecordingClient, spec: dict[str, Any] = SMALL) -> dict[str, Any]:
    resp = admin.post("/flavors", json={"flavor": spec})
    assert resp.status_code == 200, resp.text
    return resp.json()["flavor"]


def boot(http: RecordingClient, name: str = "vm", flavor_ref: str = "2", **server: Any) -> Any:
    return http.post("/servers", json={"server": {"name": name, "flavorRef": flavor_ref, "imageRef": "cirros", **server}})


def booted(http: RecordingClient, name: str = "vm", **server: Any) -> str:
    resp = boot(http, name, **server)
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"]


def routes(app: Any) -> list[tuple[frozenset[str], str]]:
    """Every route of the app, in the order it matches: its methods and path template."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI without included-router contexts: the routes are flat
        found: Iterator[Any] = iter(app.routes)
    else:
        found = iter_route_contexts(app.routes)
    return [(frozenset(getattr(r, "methods", None) or ()), r.path) for r in found]


def route_hit(table: list[tuple[frozenset[str], str]], method: str, path: str) -> tuple[frozenset[str], str] | None:
    """The route a request lands on: the first whose methods and path template match it, as the router picks."""
    for methods, template in table:
        regex: re.Pattern[str] = compile_path(template)[0]
        if method in methods and regex.match(path):
            return methods, template
    return None
