"""Every route of the app is hit by some route test: a new route comes with its test, a rewritten one keeps its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_api import HITS, backend_in, route_hit, routes
from novalog.api.app import create_app

ROUTE_TESTS = sorted(p.name for p in Path(__file__).parent.glob("test_api_routes_*.py") if p.name != Path(__file__).name)


def test_route_hit_picks_the_route_the_router_would() -> None:
    table = [(frozenset({"GET"}), "/v2.1/servers/detail"), (frozenset({"GET"}), "/v2.1/servers/{server_id}"),
             (frozenset({"DELETE"}), "/v2.1/servers/{server_id}")]
    assert route_hit(table, "GET", "/v2.1/servers/detail") == table[0]
    assert route_hit(table, "GET", "/v2.1/servers/abc") == table[1]
    assert route_hit(table, "DELETE", "/v2.1/servers/abc") == table[2]
    assert route_hit(table, "POST", "/v2.1/servers/abc") is None
    assert route_hit(table, "GET", "/v2.1/servers/abc/more") is None


@pytest.mark.after_route_tests
def test_every_route_is_hit_by_a_route_test(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    ran = {Path(str(item.path)).name for item in request.session.items}
    if not set(ROUTE_TESTS) <= ran:
        pytest.skip(f"only meaningful with every route test in the run ({', '.join(sorted(set(ROUTE_TESTS) - ran))} not selected)")
    table = routes(create_app(backend_in(tmp_path)))
    assert len(table) > 60, table  # the walk found the included routers' routes, not just their mounts
    hit = {route_hit(table, method, path) for method, path in HITS}
    missing = [f"{'/'.join(sorted(methods))} {path}" for methods, path in table if (methods, path) not in hit]
    assert missing == [], "routes no test reaches: " + ", ".join(missing)
