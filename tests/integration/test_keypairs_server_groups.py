"""Key pairs and server groups end to end: tempest's schemas at each version, 409s, key_name, and group placement on real hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, stack_settings, wait_until
from tempest_schemas import check, headers, schemas

HOSTS = [("kg1", 4, 8192, 80), ("kg2", 4, 8192, 80)]
# Nova's default filters include the server group ones; this stack turns them on explicitly.
FILTERS = ["ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]
RSA_PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCcm9/Urth+2zh3g7TT0wcEzGSeNggx8AODHfUuXZeZAdaTlGX2uzNAHM2CbqdizPdUVNK+uP3+r4258+zVXCJFPr2JMWNLA2Oqke1R9"
    "KkppGI8TUoJzo7x5PikEq+1LwdABNs8+sQwy5xS2LVl/ojl3G3CrIOyo9ono878qXYryk/i3ETCuLOpufDU6vi2ly/5Fa0QMby9agdER+p2+XXW5i966gAklwLPRQLcb5D4rpHaYjX2"
    "qtikxSMqDBYoUz3+qed7h5VESZjeJaWrCNcne8z2U6Xj9lZ7V1X7c99J+CrXQRhCcB2wPP+vLjNQiiXWBu68zyaZHiO30HgavoBN rsa@novalog"
)
RSA_MD5 = "b8:0a:8a:53:b7:02:1e:a5:57:f9:45:4d:63:39:1e:44"  # ssh-keygen -l -E md5


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("tenant")
    options = tmp / "scheduler.json"
    options.write_text(json.dumps({"enabled_filters": FILTERS}))
    settings = stack_settings(kafka_bootstrap, tmp, HOSTS, scheduler_options_file=options)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def client(stack: RunningStack, token: str) -> httpx.Client:
    return httpx.Client(base_url=str(stack.client.http.base_url), headers={"X-Auth-Token": token}, timeout=30)


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.10", "2.11"])
def test_key_pairs_through_their_life_in_tempests_shapes(stack: RunningStack, version: str) -> None:
    http, h, s = client(stack, f"kp-{version}:proj"), headers(version), schemas("keypairs", version)
    typed = version != "2.1"
    made = check(http.post("/os-keypairs", json={"keypair": {"name": "made"}}, headers=h), s.create_keypair)["keypair"]
    assert made["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----") and made["user_id"] == f"kp-{version}"
    body = {"keypair": {"name": "imported", "public_key": RSA_PUBLIC_KEY, **({"type": "ssh"} if typed else {})}}
    imported = check(http.post("/os-keypairs", json=body, headers=h), s.create_keypair)["keypair"]
    assert imported["fingerprint"] == RSA_MD5 and "private_key" not in imported and ("type" in imported) is typed
    listed = check(http.get("/os-keypairs", headers=h), s.list_keypairs)["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["imported", "made"]
    shown = check(http.get("/os-keypairs/imported", headers=h), s.get_keypair)["keypair"]
    assert (shown["public_key"], shown["deleted"], isinstance(shown["id"], int)) == (RSA_PUBLIC_KEY, False, True)

    duplicate = http.post("/os-keypairs", json=body, headers=h)
    assert duplicate.status_code == 409 and duplicate.json()["conflictingRequest"]["message"] == "Key pair 'imported' already exists."
    bad = http.post("/os-keypairs", json={"keypair": {"name": "bad", "public_key": "ssh-rsa nonsense"}}, headers=h)
    assert bad.status_code == 400 and "Keypair data is invalid" in bad.text

    check(http.delete("/os-keypairs/made", headers=h), s.delete_keypair)
    assert http.get("/os-keypairs/made", headers=h).status_code == 404
    # Names are per user: another user may hold the same name.
    other = client(stack, f"kp-other-{version}:proj").post("/os-keypairs", json=body, headers=h)
    assert other.status_code == (201 if typed else 200), other.text


def test_an_admin_lists_another_users_key_pairs_from_2_10(stack: RunningStack) -> None:
    owner, admin = client(stack, "kp-owner:proj"), client(stack, "admin:admin")
    assert owner.post("/os-keypairs", json={"keypair": {"name": "k", "public_key": RSA_PUBLIC_KEY}}).status_code == 200
    listed = check(admin.get("/os-keypairs", params={"user_id": "kp-owner"}, headers=headers("2.10")), schemas("keypairs", "2.10").list_keypairs)
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["k"]
    assert client(stack, "kp-nosy:proj").get("/os-keypairs", params={"user_id": "kp-owner"}, headers=headers("2.10")).status_code == 403


def test_the_key_pairs_quota_counts_each_users_own_across_projects(stack: RunningStack) -> None:
    """Nova counts key_pairs per user: two users of one project each get the limit, one user in two projects does not."""
    admin = client(stack, "admin:admin")
    for project in ("kq-a", "kq-b"):
        assert admin.put(f"/os-quota-sets/{project}", json={"quota_set": {"key_pairs": 2}}).status_code == 200
    ann_a, ann_b, ben_a = client(stack, "kq-ann:kq-a"), client(stack, "kq-ann:kq-b"), client(stack, "kq-ben:kq-a")

    def make(http: httpx.Client, name: str) -> int:
        return http.post("/os-keypairs", json={"keypair": {"name": name, "public_key": RSA_PUBLIC_KEY}}).status_code

    assert (make(ann_a, "one"), make(ann_b, "two")) == (200, 200)  # the same user in two projects: 2 of 2
    third = ann_a.post("/os-keypairs", json={"keypair": {"name": "three", "public_key": RSA_PUBLIC_KEY}})
    assert third.status_code == 403 and third.json()["forbidden"]["message"] == "Quota exceeded, too many key pairs."
    assert (make(ben_a, "one"), make(ben_a, "two")) == (200, 200)  # another user of kq-a: his own 2
    assert ann_b.delete("/os-keypairs/two").status_code == 202
    assert make(ann_a, "three") == 200  # the slot given back is the user's, wherever it was taken
    assert sorted(k["keypair"]["name"] for k in ann_b.get("/os-keypairs").json()["keypairs"]) == ["one", "three"]
    assert_log_holds(stack)


def boot(http: httpx.Client, name: str, **extra) -> httpx.Response:
    hints = extra.pop("hints", None)
    body: dict = {"server": {"name": name, "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros", **extra}}
    if hints:
        body["os:scheduler_hints"] = hints
    return http.post("/servers", json=body)


def settled(http: httpx.Client, server_id: str) -> dict:
    def done() -> dict | None:
        server = http.get(f"/servers/{server_id}").json()["server"]
        return server if server["status"] in ("ACTIVE", "ERROR") and server["OS-EXT-STS:task_state"] is None else None

    return wait_until(done, 30, f"{server_id} to settle")


def test_a_server_takes_one_of_the_callers_key_pairs(stack: RunningStack) -> None:
    mine, theirs = client(stack, "kp-boot:proj"), client(stack, "kp-else:proj")
    assert mine.post("/os-keypairs", json={"keypair": {"name": "boot-key", "public_key": RSA_PUBLIC_KEY}}).status_code == 200
    refused = boot(theirs, "not-yours", key_name="boot-key")
    assert refused.status_code == 400 and refused.json()["badRequest"]["message"] == "Invalid key_name provided."
    created = boot(mine, "with-key", key_name="boot-key")
    assert created.status_code == 202, created.text
    server = settled(mine, created.json()["server"]["id"])
    assert server["key_name"] == "boot-key" and server["status"] == "ACTIVE"
    mine.delete(f"/servers/{server['id']}")


@pytest.mark.parametrize("version", ["2.1", "2.11", "2.13", "2.15"])
def test_server_groups_in_tempests_shapes(stack: RunningStack, version: str) -> None:
    http, h, s = client(stack, "sg-user:sg-proj"), headers(version), schemas("server_groups", version)
    group = check(http.post("/os-server-groups", json={"server_group": {"name": f"g-{version}", "policies": ["affinity"]}}, headers=h), s.create_show_server_group)["server_group"]
    assert (group["policies"], group["members"], "project_id" in group) == (["affinity"], [], version >= "2.13")
    assert check(http.get(f"/os-server-groups/{group['id']}", headers=h), s.create_show_server_group)["server_group"] == group
    assert group in check(http.get("/os-server-groups", headers=h), s.list_server_groups)["server_groups"]
    # Another project neither sees nor lists it; an admin does with all_projects.
    other = client(stack, "sg-user:elsewhere")
    assert other.get(f"/os-server-groups/{group['id']}", headers=h).status_code == 404
    assert group not in other.get("/os-server-groups", headers=h).json()["server_groups"]
    assert group in client(stack, "admin:admin").get("/os-server-groups", params={"all_projects": "True"}, headers=h).json()["server_groups"]
    soft = http.post("/os-server-groups", json={"server_group": {"name": "soft", "policies": ["soft-affinity"]}}, headers=h)
    assert soft.status_code == (200 if version == "2.15" else 400)  # soft policies come with 2.15
    if soft.status_code == 200:
        check(http.delete(f"/os-server-groups/{soft.json()['server_group']['id']}", headers=h), s.delete_server_group)
    check(http.delete(f"/os-server-groups/{group['id']}", headers=h), s.delete_server_group)
    assert http.get(f"/os-server-groups/{group['id']}", headers=h).status_code == 404


def test_anti_affinity_spreads_members_and_refuses_a_third_on_two_hosts(stack: RunningStack) -> None:
    http = client(stack, "aa-user:aa-proj")
    group = http.post("/os-server-groups", json={"server_group": {"name": "spread", "policies": ["anti-affinity"]}}).json()["server_group"]
    assert boot(http, "x", hints={"group": "6f1f4e4e-0000-4000-8000-000000000000"}).json()["badRequest"]["message"] == "Invalid server group"
    ids = [boot(http, f"aa-{n}", hints={"group": group["id"]}).json()["server"]["id"] for n in (1, 2)]
    placed = [settled(http, i) for i in ids]
    assert [p["status"] for p in placed] == ["ACTIVE", "ACTIVE"]
    admin = client(stack, "admin:admin")
    hosts = {admin.get(f"/servers/{i}").json()["server"]["OS-EXT-SRV-ATTR:host"] for i in ids}
    assert hosts == {"kg1", "kg2"}
    third = settled(http, boot(http, "aa-3", hints={"group": group["id"]}).json()["server"]["id"])
    assert third["status"] == "ERROR" and "No valid host" in third["fault"]["message"], third
    assert "ServerGroupAntiAffinityFilter" in third["fault"]["message"]
    members = http.get(f"/os-server-groups/{group['id']}").json()["server_group"]["members"]
    assert sorted(members) == sorted([*ids, third["id"]])
    # A deleted member leaves the group.
    assert http.delete(f"/servers/{third['id']}").status_code == 204
    wait_until(lambda: third["id"] not in http.get(f"/os-server-groups/{group['id']}").json()["server_group"]["members"], 20, "the member to leave")
    for i in ids:
        http.delete(f"/servers/{i}")
    wait_until(lambda: all(http.get(f"/servers/{i}").status_code == 404 for i in ids), 20, "the members to be gone")
    assert_log_holds(stack)


def test_affinity_keeps_members_on_one_host(stack: RunningStack) -> None:
    http, admin = client(stack, "af-user:af-proj"), client(stack, "admin:admin")
    group = http.post("/os-server-groups", json={"server_group": {"name": "together", "policies": ["affinity"]}}).json()["server_group"]
    first = boot(http, "af-1", hints={"group": group["id"]}).json()["server"]["id"]
    settled(http, first)
    # Two more in one multi-create: each follows the first member.
    more = boot(http, "af-more", hints={"group": group["id"]}, min_count=2, max_count=2)
    assert more.status_code == 202, more.text
    members = wait_until(lambda: len(m := http.get(f"/os-server-groups/{group['id']}").json()["server_group"]["members"]) == 3 and m, 20, "3 members")
    hosts = {admin.get(f"/servers/{settled(http, m)['id']}").json()["server"]["OS-EXT-SRV-ATTR:host"] for m in members}
    assert len(hosts) == 1, hosts
    for m in members:
        http.delete(f"/servers/{m}")
    wait_until(lambda: all(http.get(f"/servers/{m}").status_code == 404 for m in members), 20, "the members to be gone")
    assert_log_holds(stack)


def test_soft_anti_affinity_prefers_other_hosts_but_never_refuses(stack: RunningStack) -> None:
    http, admin = client(stack, "sa-user:sa-proj"), client(stack, "admin:admin")
    h = headers("2.15")
    group = http.post("/os-server-groups", json={"server_group": {"name": "loose", "policies": ["soft-anti-affinity"]}}, headers=h)
    assert group.status_code == 200, group.text
    group_id = group.json()["server_group"]["id"]
    ids = []
    for n in range(3):  # one at a time: each pass sees the earlier members' claims
        ids.append(boot(http, f"sa-{n}", hints={"group": group_id}).json()["server"]["id"])
        assert settled(http, ids[-1])["status"] == "ACTIVE"
    hosts = [admin.get(f"/servers/{i}").json()["server"]["OS-EXT-SRV-ATTR:host"] for i in ids]
    assert set(hosts[:2]) == {"kg1", "kg2"}, hosts  # spread while it can; the third still lands (soft)
    for i in ids:
        http.delete(f"/servers/{i}")
