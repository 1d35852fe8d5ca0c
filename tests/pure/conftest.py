"""The pure suite's shared fixtures: the API on the in-memory backend, as an admin and as a project's member."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def memory_api(tmp_path: Path):
    """The API's backend on a MemoryLog: the local hosts (cn1, cn2, cn3) up, the scheduler and the agents answering."""
    from memory_api import backend_in

    return backend_in(tmp_path)


@pytest.fixture
def admin(memory_api):
    from memory_api import client

    return client(memory_api)


@pytest.fixture
def member(memory_api):
    """A member of project `demo` (Nova's noauth2 token `alice:demo`)."""
    from memory_api import client

    return client(memory_api, "alice:demo")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The walk over the routes runs after every route test, so it sees what they all hit."""
    last = [item for item in items if item.get_closest_marker("after_route_tests")]
    items[:] = [item for item in items if item not in last] + last
