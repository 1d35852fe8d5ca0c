"""The admin routes' bodies (flavors, extra specs, flavor access, quota sets, services): what Nova's schemas take, and their refusals in Nova's words.

The routes run in process on the in-memory backend (novalog/memory.py),
which folds each appended record through the projections' own folds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memory_api import backend_in, client

ADMIN = {"X-Auth-Token": "admin:admin"}
AT_2_11 = {**ADMIN, "OpenStack-API-Version": "compute 2.11"}
MEMBER = {"X-Auth-Token": "alice:p1"}
FLAVOR = {"name": "t.small", "id": "t-small", "vcpus": 1, "ram": 512, "disk": 1}


@pytest.fixture
def http(tmp_path: Path) -> TestClient:
    """A client without a token of its own: each request names its own (ADMIN, MEMBER...)."""
    return client(backend_in(tmp_path), token=None)


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
    assert http.put("/os-services/force-down", json={**target, "forced_down": True}, headers=AT_2_11).status_code == 200
    on = http.put("/os-services/force-down", json={**target, "forced_down": "on"}, headers=AT_2_11)
    assert on.status_code == 200 and on.json()["service"]["forced_down"] is True  # "on" is true
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


# --- flavors ---


def test_a_flavor_takes_its_sizes_as_digit_strings_and_is_public_as_nova_words_it(http: TestClient) -> None:
    body = {"flavor": {**FLAVOR, "vcpus": "2", "ram": "1024", "swap": "", "rxtx_factor": "1.5", "os-flavor-access:is_public": "false",
                       "OS-FLV-EXT-DATA:ephemeral": 3}}

    made = http.post("/flavors", json=body, headers=ADMIN)

    assert made.status_code == 200, made.text
    flavor = made.json()["flavor"]
    assert (flavor["vcpus"], flavor["ram"], flavor["swap"], flavor["rxtx_factor"]) == (2, 1024, "", 1.5)
    assert (flavor["os-flavor-access:is_public"], flavor["OS-FLV-EXT-DATA:ephemeral"]) == (False, 3)


def test_a_flavor_without_an_id_gets_one(http: TestClient) -> None:
    made = http.post("/flavors", json={"flavor": {**FLAVOR, "id": None}}, headers=ADMIN)

    assert made.status_code == 200 and len(made.json()["flavor"]["id"]) == 36


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"vcpus": 0}, "Invalid input for field/attribute vcpus. Value: 0. 0 is less than the minimum of 1", id="vcpus-0"),
        pytest.param({"ram": True}, "Invalid input for field/attribute ram. Value: True. True is not of type 'integer'", id="ram-bool"),
        pytest.param({"disk": "-1"}, "Invalid input for field/attribute disk. Value: -1. '-1' is not of type 'integer'", id="disk-negative"),
        pytest.param({"name": " padded"}, "Invalid input for field/attribute name. Value:  padded. ' padded' is not a 'name'", id="name-space"),
        pytest.param({"id": 7}, "Invalid input for field/attribute id. Value: 7. 7 is not of type 'string'", id="id-integer"),
        pytest.param({"rxtx_factor": 0}, "Invalid input for field/attribute rxtx_factor. Value: 0. 0 is less than or equal to the minimum of 0",
                     id="rxtx-0"),
        pytest.param({"os-flavor-access:is_public": "maybe"},
                     "Invalid input for field/attribute os-flavor-access:is_public. Value: maybe. 'maybe' is not of type 'boolean'", id="public-maybe"),
        pytest.param({"ephemeral": 1}, "Additional properties are not allowed ('ephemeral' was unexpected)", id="ephemeral-by-field-name"),
        pytest.param({"swap": None}, "Invalid input for field/attribute swap. Value: None. None is not of type 'integer'", id="swap-null"),
    ],
)
def test_a_flavor_nova_would_refuse_is_400_in_its_words(http: TestClient, change: dict[str, Any], message: str) -> None:
    assert message in refusal(http.post("/flavors", json={"flavor": {**FLAVOR, **change}}, headers=ADMIN))


def test_a_flavor_missing_a_size_or_not_an_object_is_400(http: TestClient) -> None:
    assert refusal(http.post("/flavors", json={"flavor": {"name": "x", "vcpus": 1, "ram": 1}}, headers=ADMIN)).endswith(
        "'disk' is a required property"
    )
    assert "is not of type 'object'" in refusal(http.post("/flavors", json=["flavor"], headers=ADMIN))
    assert refusal(http.post("/flavors", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})) == "Malformed request body"


def test_a_member_is_refused_a_flavor_or_its_extra_specs_before_the_body_is_read(http: TestClient) -> None:
    assert status(http.post("/flavors", json={"flavor": {"name": ""}}, headers=MEMBER)) == 403
    assert status(http.post("/flavors/t-small/os-extra_specs", json={"extra_specs": {"bad/key": 1}}, headers=MEMBER)) == 403
    assert status(http.put("/flavors/t-small/os-extra_specs/a", json={"a": None}, headers=MEMBER)) == 403


# --- extra specs and access ---


def test_extra_specs_take_strings_numbers_and_booleans_and_keep_them_as_strings(http: TestClient) -> None:
    assert http.post("/flavors", json={"flavor": FLAVOR}, headers=ADMIN).status_code == 200
    specs = "/flavors/t-small/os-extra_specs"

    set_ = http.post(specs, json={"extra_specs": {"hw:cpu_policy": "dedicated", "hw:numa_nodes": 2, "trait:X": True}}, headers=ADMIN)

    assert set_.json() == {"extra_specs": {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2", "trait:X": "true"}}
    assert http.put(f"{specs}/hw:numa_nodes", json={"hw:numa_nodes": "4"}, headers=ADMIN).json() == {"hw:numa_nodes": "4"}
    assert http.get(specs, headers=ADMIN).json()["extra_specs"]["hw:numa_nodes"] == "4"
    assert http.post(specs, json={"extra_specs": {}}, headers=ADMIN).json() == {"extra_specs": {}}


def test_extra_specs_nova_would_refuse_are_400(http: TestClient) -> None:
    assert http.post("/flavors", json={"flavor": FLAVOR}, headers=ADMIN).status_code == 200
    specs = "/flavors/t-small/os-extra_specs"

    assert "does not match" in refusal(http.post(specs, json={"extra_specs": {"bad/key": "1"}}, headers=ADMIN))
    assert "is too long" in refusal(http.post(specs, json={"extra_specs": {"k": "v" * 256}}, headers=ADMIN))
    assert "'extra_specs' is a required property" in refusal(http.post(specs, json={"specs": {}}, headers=ADMIN))
    assert refusal(http.put(f"{specs}/a", json={"b": "1"}, headers=ADMIN)) == "Request body and URI mismatch"
    assert "has too many properties" in refusal(http.put(f"{specs}/a", json={"a": "1", "b": "2"}, headers=ADMIN))


def test_flavor_access_takes_exactly_one_action_naming_a_tenant(http: TestClient) -> None:
    private = {"flavor": {**FLAVOR, "os-flavor-access:is_public": False}}
    assert http.post("/flavors", json=private, headers=ADMIN).status_code == 200
    action = "/flavors/t-small/action"

    added = http.post(action, json={"addTenantAccess": {"tenant": "p1"}}, headers=ADMIN)

    assert added.json() == {"flavor_access": [{"flavor_id": "t-small", "tenant_id": "p1"}]}
    assert http.post(action, json={"addTenantAccess": {"tenant": "p1"}}, headers=ADMIN).status_code == 409
    both = {"addTenantAccess": {"tenant": "p2"}, "removeTenantAccess": {"tenant": "p1"}}
    assert refusal(http.post(action, json=both, headers=ADMIN)) == "There is either no action or more than one action in the request body."
    assert refusal(http.post(action, json={}, headers=ADMIN)) == "There is either no action or more than one action in the request body."
    assert "'tenant' is a required property" in refusal(http.post(action, json={"addTenantAccess": {}}, headers=ADMIN))
    assert http.post(action, json={"removeTenantAccess": {"tenant": "p1"}}, headers=ADMIN).json() == {"flavor_access": []}
