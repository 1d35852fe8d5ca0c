"""The admin routes' bodies (flavors, extra specs, flavor access, quota sets, services): what Nova's schemas take, and their refusals in Nova's words.

The routes run in process over a log that folds each appended catalog and
quota record into the read cache at once, as the projections would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from novalog.api.app import create_app
from novalog.api.deps import ApiBackend
from novalog.events import topics
from novalog.projections import catalog, quotas

ADMIN = {"X-Auth-Token": "admin:admin"}
AT_2_11 = {**ADMIN, "OpenStack-API-Version": "compute 2.11"}
MEMBER = {"X-Auth-Token": "alice:p1"}
FLAVOR = {"name": "t.small", "id": "t-small", "vcpus": 1, "ram": 512, "disk": 1}


@dataclass
class FoldingCache:
    instances: dict[str, Any] = field(default_factory=dict)
    catalog: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, Any] = field(default_factory=dict)
    quotas: dict[str, Any] = field(default_factory=dict)
    aggregates: dict[str, Any] = field(default_factory=dict)
    tenant: dict[str, Any] = field(default_factory=dict)

    def wait_until(self, predicate: Any, timeout: float, key: str | None = None) -> bool:
        return bool(predicate())


@dataclass
class FoldingLog:
    cache: FoldingCache
    prefix: str = ""
    appended: list[Any] = field(default_factory=list)

    def append(self, outs: Any, timeout: float = 30.0) -> list[Any]:
        positions = []
        for out in outs:
            offset = len(self.appended)
            self.appended.append(out)
            fold, table = {topics.CATALOG_EVENTS: (catalog.handle, self.cache.catalog), topics.QUOTA_EVENTS: (quotas.handle, self.cache.quotas)}[out.topic]
            table[out.key] = fold(table.get(out.key), out.record, offset)[0]
            positions.append(SimpleNamespace(offset=offset))
        return positions


@pytest.fixture
def http() -> TestClient:
    cache = FoldingCache()
    return TestClient(create_app(ApiBackend(log=FoldingLog(cache), cache=cache, write_wait=0.0)), base_url="http://test/v2.1")


def refusal(response: Any) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["badRequest"]["message"])


def status(response: Any) -> int:
    return int(response.status_code)


# --- services ---


def test_a_service_update_names_host_and_binary_and_takes_forced_down_from_2_11(http: TestClient) -> None:
    target = {"host": "cn1", "binary": "nova-compute"}

    assert refusal(http.put("/os-services/disable", json={"host": "cn1"}, headers=ADMIN)).endswith("'binary' is a required property")
    assert "('forced_down' was unexpected)" in refusal(http.put("/os-services/enable", json={**target, "forced_down": True}, headers=ADMIN))
    assert http.put("/os-services/force-down", json={**target, "forced_down": True}, headers=ADMIN).status_code == 404
    assert http.put("/os-services/force-down", json={**target, "forced_down": True}, headers=AT_2_11).status_code == 404  # no such host
    assert http.put("/os-services/force-down", json={**target, "forced_down": "on"}, headers=AT_2_11).status_code == 404  # "on" is true
    assert "('shutdown' was unexpected)" in refusal(http.put("/os-services/disable", json={**target, "shutdown": 1}, headers=ADMIN))


def test_a_member_is_refused_a_service_update_before_its_body_is_read(http: TestClient) -> None:
    assert status(http.put("/os-services/disable", json={"host": ""}, headers=MEMBER)) == 403


# --- quota sets ---


def test_a_quota_set_takes_digit_strings_minus_one_and_force_as_nova_words_it(http: TestClient) -> None:
    updated = http.put("/os-quota-sets/p1", json={"quota_set": {"instances": "-1", "cores": 8, "force": "true"}}, headers=ADMIN)

    assert updated.status_code == 200, updated.text
    assert (updated.json()["quota_set"]["instances"], updated.json()["quota_set"]["cores"]) == (-1, 8)
    assert http.get("/os-quota-sets/p1", headers=ADMIN).json()["quota_set"]["cores"] == 8
    # Nothing to change: the quota set as it is.
    assert http.put("/os-quota-sets/p1", json={"quota_set": {}}, headers=ADMIN).json()["quota_set"]["cores"] == 8
    assert http.delete("/os-quota-sets/p1", headers=ADMIN).status_code == 202
    assert http.get("/os-quota-sets/p1", headers=ADMIN).json()["quota_set"]["cores"] == 20


@pytest.mark.parametrize(
    ("quota_set", "message"),
    [
        pytest.param({"instances": -2}, "Invalid input for field/attribute instances. Value: -2. -2 is less than the minimum of -1", id="below--1"),
        pytest.param({"ram": 2**31}, "2147483648 is greater than the maximum of 2147483647", id="above-max-int"),
        pytest.param({"instances": "many"}, "Invalid input for field/attribute instances. Value: many. 'many' is not of type 'integer'", id="words"),
        pytest.param({"instances": None}, "None is not of type 'integer'", id="null"),
        pytest.param({"wings": 2}, "Additional properties are not allowed ('wings' was unexpected)", id="unknown-key"),
        pytest.param({"force": "maybe"}, "'maybe' is not of type 'boolean'", id="force-word"),
    ],
)
def test_a_quota_set_nova_would_refuse_is_400_in_its_words(http: TestClient, quota_set: dict[str, Any], message: str) -> None:
    assert message in refusal(http.put("/os-quota-sets/p1", json={"quota_set": quota_set}, headers=ADMIN))


def test_a_member_is_refused_a_quota_update_before_its_body_is_read(http: TestClient) -> None:
    assert status(http.put("/os-quota-sets/p1", json={"quota_set": {"wings": 1}}, headers=MEMBER)) == 403
