"""Key pairs are a user's, as Nova's: names unique per user, listed per user, the key_pairs quota counted per user, and
an admin naming the user from 2.10. On the in-memory backend, over HTTP."""

from __future__ import annotations

import pytest

from memory_api import client, fault

POLICY = "Policy doesn't allow {} to be performed."
REFUSED = "Quota exceeded, too many key pairs."


def make(http, name: str, **extra) -> int:
    return http.post("/os-keypairs", json={"keypair": {"name": name, **extra}}).status_code


def names(http, **params) -> list[str]:
    resp = http.get("/os-keypairs", params=params)
    assert resp.status_code == 200, resp.text
    return [k["keypair"]["name"] for k in resp.json()["keypairs"]]


@pytest.fixture
def limit_two(admin) -> None:
    for project in ("demo", "other"):
        assert admin.put(f"/os-quota-sets/{project}", json={"quota_set": {"key_pairs": 2}}).status_code == 200


def test_names_are_unique_per_user_and_each_user_lists_their_own(memory_api) -> None:
    alice, bob = client(memory_api, "alice:demo"), client(memory_api, "bob:demo")
    assert (make(alice, "same"), make(bob, "same")) == (200, 200)  # one project, two users: no clash
    assert (names(alice), names(bob)) == (["same"], ["same"])
    assert alice.get("/os-keypairs/same").json()["keypair"]["user_id"] == "alice"
    # The same user in another project: the same key pairs, the name taken.
    elsewhere = client(memory_api, "alice:other")
    assert names(elsewhere) == ["same"]
    fault(elsewhere.post("/os-keypairs", json={"keypair": {"name": "same"}}), 409, "Key pair 'same' already exists.")


@pytest.mark.parametrize(("made", "asked", "expected"), [
    # (user:project of each key pair made first, who asks for one more, its status); every limit is 2
    ([], "alice:demo", 200),
    (["alice:demo"], "alice:demo", 200),
    (["alice:demo", "alice:demo"], "alice:demo", 403),
    # Counted per user: bob's two in the same project leave alice her two.
    (["bob:demo", "bob:demo"], "alice:demo", 200),
    # And whatever the project they were made in: 1 in other + 1 in demo is 2.
    (["alice:other", "alice:demo"], "alice:demo", 403),
    (["alice:other", "alice:other"], "alice:demo", 403),
], ids=["none", "one of two", "two of two", "another users", "across projects", "all in the other project"])
def test_the_key_pairs_quota_counts_the_users_own(memory_api, limit_two, made: list[str], asked: str, expected: int) -> None:
    for i, who in enumerate(made):
        assert make(client(memory_api, who), f"k{i}") == 200
    assert make(client(memory_api, asked), "one-more") == expected
    if expected == 403:
        fault(client(memory_api, asked).post("/os-keypairs", json={"keypair": {"name": "again"}}), 403, REFUSED)


def test_a_deleted_key_pair_gives_its_slot_back_to_its_user(memory_api, limit_two) -> None:
    alice = client(memory_api, "alice:demo")
    assert (make(alice, "a"), make(alice, "b"), make(alice, "c")) == (200, 200, 403)
    assert alice.delete("/os-keypairs/a").status_code == 202
    assert make(alice, "c") == 200
    assert names(alice) == ["b", "c"]


def test_an_admin_names_the_user_from_2_10(memory_api, admin) -> None:
    admin_210 = client(memory_api, version="2.10")
    made = admin_210.post("/os-keypairs", json={"keypair": {"name": "for-bob", "user_id": "bob"}})
    assert made.status_code == 201 and made.json()["keypair"]["user_id"] == "bob"
    bob = client(memory_api, "bob:demo")
    assert names(bob) == ["for-bob"] and names(admin) == []
    assert names(admin_210, user_id="bob") == ["for-bob"]
    assert admin_210.get("/os-keypairs/for-bob", params={"user_id": "bob"}).json()["keypair"]["user_id"] == "bob"
    # Below 2.10 the query is not Nova's: the admin's own key pairs, and no user_id in a create.
    assert names(admin, user_id="bob") == []
    fault(admin.get("/os-keypairs/for-bob", params={"user_id": "bob"}), 404, "Keypair for-bob not found for user admin")
    refused = client(memory_api, version="2.9").post("/os-keypairs", json={"keypair": {"name": "x", "user_id": "bob"}})
    assert refused.status_code == 400
    assert admin_210.delete("/os-keypairs/for-bob", params={"user_id": "bob"}).status_code == 204
    assert names(bob) == []


def test_an_admins_key_pair_for_a_user_counts_against_that_user(memory_api, admin) -> None:
    assert admin.put("/os-quota-sets/admin", json={"quota_set": {"key_pairs": 1}}).status_code == 200
    admin_210 = client(memory_api, version="2.10")
    assert make(admin_210, "bobs", user_id="bob") == 201
    assert make(admin_210, "bobs-2", user_id="bob") == 403  # bob holds 1 of the admin project's 1
    assert make(admin_210, "mine") == 201  # the admin's own count is its own


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_user_may_not_name_another_user(memory_api, method: str) -> None:
    bob = client(memory_api, "bob:demo")
    assert make(bob, "bobs") == 200
    alice_210 = client(memory_api, "alice:demo", version="2.10")
    rule = "index" if method == "GET" else "delete"
    path = "/os-keypairs" if method == "GET" else "/os-keypairs/bobs"
    fault(alice_210.request(method, path, params={"user_id": "bob"}), 403, POLICY.format(f"os_compute_api:os-keypairs:{rule}"))
    fault(alice_210.post("/os-keypairs", json={"keypair": {"name": "n", "user_id": "bob"}}), 403,
          POLICY.format("os_compute_api:os-keypairs:create"))
    assert names(bob) == ["bobs"]
