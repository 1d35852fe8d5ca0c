"""Key pair, server group and aggregate routes on the in-memory backend, over HTTP."""

from __future__ import annotations

from memory_api import booted, client, fault, flavor

POLICY = "Policy doesn't allow {} to be performed."
GROUP = {"server_group": {"name": "spread", "policies": ["anti-affinity"]}}


# --- key pairs ----------------------------------------------------------------------------


def test_keypair_create_list_show_delete(member) -> None:
    made = member.post("/os-keypairs", json={"keypair": {"name": "mine"}})
    assert made.status_code == 200, made.text  # 200 below 2.2
    key = made.json()["keypair"]
    assert (key["name"], key["user_id"]) == ("mine", "alice") and key["private_key"].startswith("-----BEGIN")
    listed = member.get("/os-keypairs").json()["keypairs"]
    assert [(k["keypair"]["name"], k["keypair"]["fingerprint"]) for k in listed] == [("mine", key["fingerprint"])]
    shown = member.get("/os-keypairs/mine").json()["keypair"]
    assert (shown["name"], shown["public_key"], shown["deleted"]) == ("mine", key["public_key"], False)
    assert member.delete("/os-keypairs/mine").status_code == 202
    fault(member.get("/os-keypairs/mine"), 404, "Keypair mine not found for user alice")


def test_keypairs_from_2_2_have_a_type_and_new_statuses(memory_api) -> None:
    http = client(memory_api, "alice:demo", version="2.2")
    made = http.post("/os-keypairs", json={"keypair": {"name": "typed", "type": "x509"}})
    assert made.status_code == 201 and made.json()["keypair"]["type"] == "x509"
    assert http.delete("/os-keypairs/typed").status_code == 204


def test_keypair_faults(admin, member) -> None:
    member.post("/os-keypairs", json={"keypair": {"name": "taken"}})
    fault(member.post("/os-keypairs", json={"keypair": {"name": "taken"}}), 409, "Key pair 'taken' already exists.")
    assert member.post("/os-keypairs", json={"keypair": {}}).status_code == 400
    fault(member.delete("/os-keypairs/nope"), 404, "Keypair nope not found for user alice")
    assert admin.put("/os-quota-sets/demo", json={"quota_set": {"key_pairs": 1}}).status_code == 200
    fault(member.post("/os-keypairs", json={"keypair": {"name": "second"}}), 403, "Quota exceeded, too many key pairs.")


def test_a_server_boots_with_its_key_pair(admin, member) -> None:
    flavor(admin)
    member.post("/os-keypairs", json={"keypair": {"name": "boot-key"}})
    server_id = booted(member, key_name="boot-key")
    assert member.get(f"/servers/{server_id}").json()["server"]["key_name"] == "boot-key"


# --- server groups ------------------------------------------------------------------------


def test_server_group_create_list_show_delete(admin, member) -> None:
    made = member.post("/os-server-groups", json=GROUP)
    assert made.status_code == 200, made.text
    group = made.json()["server_group"]
    assert (group["name"], group["policies"], group["members"]) == ("spread", ["anti-affinity"], [])
    flavor(admin)
    boot = member.post("/servers", json={"server": {"name": "m", "flavorRef": "2", "imageRef": "cirros"}, "os:scheduler_hints": {"group": group["id"]}})
    assert boot.status_code == 202, boot.text
    assert member.get(f"/os-server-groups/{group['id']}").json()["server_group"]["members"] == [boot.json()["server"]["id"]]
    assert [g["id"] for g in member.get("/os-server-groups").json()["server_groups"]] == [group["id"]]
    assert admin.get("/os-server-groups").json()["server_groups"] == []  # the admin's own project has none
    assert [g["id"] for g in admin.get("/os-server-groups", params={"all_projects": "1"}).json()["server_groups"]] == [group["id"]]
    assert member.delete(f"/os-server-groups/{group['id']}").status_code == 204
    fault(member.get(f"/os-server-groups/{group['id']}"), 404, f"Instance group {group['id']} could not be found.")


def test_server_group_faults(memory_api, admin, member) -> None:
    group = member.post("/os-server-groups", json=GROUP).json()["server_group"]
    other = client(memory_api, "bob:elsewhere")
    fault(other.get(f"/os-server-groups/{group['id']}"), 404, f"Instance group {group['id']} could not be found.")
    fault(member.post("/os-server-groups", json={"server_group": {"name": "g", "policies": ["together"]}}), 400,
          "Invalid input for field/attribute policies. Value: ['together']. Must be one of ['affinity', 'anti-affinity'].")
    assert admin.put("/os-quota-sets/demo", json={"quota_set": {"server_groups": 1}}).status_code == 200
    fault(member.post("/os-server-groups", json=GROUP), 403, "Quota exceeded, too many server groups.")


# --- aggregates and availability zones ----------------------------------------------------


def test_aggregate_lifecycle(admin) -> None:
    made = admin.post("/os-aggregates", json={"aggregate": {"name": "rack1", "availability_zone": "az1"}})
    assert made.status_code == 200, made.text
    aggregate = made.json()["aggregate"]
    assert (aggregate["name"], aggregate["availability_zone"]) == ("rack1", "az1")
    number = aggregate["id"]
    added = admin.post(f"/os-aggregates/{number}/action", json={"add_host": {"host": "cn1"}})
    assert added.status_code == 200 and added.json()["aggregate"]["hosts"] == ["cn1"]
    meta = admin.post(f"/os-aggregates/{number}/action", json={"set_metadata": {"metadata": {"ssd": "true"}}})
    assert meta.json()["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true"}
    assert admin.put(f"/os-aggregates/{number}", json={"aggregate": {"name": "rack-one"}}).json()["aggregate"]["name"] == "rack-one"
    assert [a["name"] for a in admin.get("/os-aggregates").json()["aggregates"]] == ["rack-one"]
    assert admin.get(f"/os-aggregates/{number}").json()["aggregate"]["hosts"] == ["cn1"]
    zones = admin.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    assert {z["zoneName"]: sorted(z["hosts"]) for z in zones} == {"az1": ["cn1"], "nova": ["cn2", "cn3"]}
    fault(admin.delete(f"/os-aggregates/{number}"), 400, f"Cannot perform action 'delete' on aggregate {number}. Reason: Host aggregate is not empty.")
    removed = admin.post(f"/os-aggregates/{number}/action", json={"remove_host": {"host": "cn1"}})
    assert removed.json()["aggregate"]["hosts"] == []
    assert admin.delete(f"/os-aggregates/{number}").status_code == 200
    fault(admin.get(f"/os-aggregates/{number}"), 404, f"Aggregate {number} could not be found.")


def test_aggregate_faults(admin, member) -> None:
    number = admin.post("/os-aggregates", json={"aggregate": {"name": "rack1"}}).json()["aggregate"]["id"]
    fault(admin.post("/os-aggregates", json={"aggregate": {"name": "rack1"}}), 409, "Aggregate rack1 already exists.")
    fault(admin.post(f"/os-aggregates/{number}/action", json={"add_host": {"host": "nosuch"}}), 404, "Compute host nosuch could not be found.")
    admin.post(f"/os-aggregates/{number}/action", json={"add_host": {"host": "cn2"}})
    fault(admin.post(f"/os-aggregates/{number}/action", json={"add_host": {"host": "cn2"}}), 409, f"Aggregate {number} already has host cn2.")
    fault(admin.post(f"/os-aggregates/{number}/action", json={"frob": {}}), 400, "There is no such action: frob")
    fault(admin.post("/os-aggregates", json={"aggregate": {"name": ""}}), 400, "Invalid input for field/attribute name. Value: .")
    fault(admin.get("/os-aggregates/99"), 404, "Aggregate 99 could not be found.")
    fault(member.get("/os-aggregates"), 403, POLICY.format("os_compute_api:os-aggregates:index"))


def test_availability_zones(admin, member) -> None:
    zones = member.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    detail = admin.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    assert sorted(detail[0]["hosts"]) == ["cn1", "cn2", "cn3"]
    assert detail[0]["hosts"]["cn1"]["nova-compute"]["available"] is True
