"""A server's own fields on the in-memory backend, over HTTP: accessIPv4/accessIPv6 at create and show, PUT /servers/{id},
OS-EXT-SRV-ATTR:instance_name."""

from __future__ import annotations

import re

import pytest

from memory_api import backend_in, boot, booted, client, fault, flavor
from novalog.events.instance_names import PARTITION_SPACE, partition_of
from tempest_schemas import SHAPE_VERSIONS, check, schemas


@pytest.fixture
def flavors(admin) -> None:
    flavor(admin)


def shown(http, server_id: str) -> dict:
    resp = http.get(f"/servers/{server_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]


@pytest.mark.parametrize(("given", "expected"), [
    ({}, ("", "")),
    ({"accessIPv4": "192.0.2.10"}, ("192.0.2.10", "")),
    # Kept as Nova keeps an address: in canonical form.
    ({"accessIPv6": "2001:DB8:0::1"}, ("", "2001:db8::1")),
    ({"accessIPv4": "10.0.0.1", "accessIPv6": "::1"}, ("10.0.0.1", "::1")),
], ids=["none", "v4", "v6 canonical", "both"])
def test_access_ips_given_at_create_are_shown(member, flavors, given: dict, expected: tuple[str, str]) -> None:
    server_id = booted(member, "reach", **given)
    view = shown(member, server_id)
    assert (view["accessIPv4"], view["accessIPv6"]) == expected
    (listed,) = member.get("/servers/detail").json()["servers"]
    assert (listed["accessIPv4"], listed["accessIPv6"]) == expected


@pytest.mark.parametrize(("given", "message"), [
    ({"accessIPv4": "1.2.3"}, "Invalid input for field/attribute accessIPv4. Value: 1.2.3. '1.2.3' is not a 'ipv4'"),
    ({"accessIPv4": "::1"}, "Invalid input for field/attribute accessIPv4. Value: ::1. '::1' is not a 'ipv4'"),
    ({"accessIPv4": ""}, "Invalid input for field/attribute accessIPv4. Value: . '' is not a 'ipv4'"),
    ({"accessIPv6": "10.0.0.1"}, "Invalid input for field/attribute accessIPv6. Value: 10.0.0.1. '10.0.0.1' is not a 'ipv6'"),
    ({"accessIPv6": "2001:db8::g"}, "Invalid input for field/attribute accessIPv6. Value: 2001:db8::g. '2001:db8::g' is not a 'ipv6'"),
    ({"accessIPv4": None}, "Invalid input for field/attribute accessIPv4. Value: None. None is not of type 'string'"),
    ({"accessIPv6": 6}, "Invalid input for field/attribute accessIPv6. Value: 6. 6 is not of type 'string'"),
], ids=["v4 short", "v6 as v4", "v4 empty", "v4 as v6", "v6 bad digit", "v4 null", "v6 number"])
def test_access_ips_out_of_format_are_400(member, flavors, given: dict, message: str) -> None:
    fault(boot(member, "reach", **given), 400, message)
    assert member.get("/servers").json()["servers"] == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"name": "renamed"}, ("renamed", "", "")),
    ({"accessIPv4": "192.0.2.7"}, ("reach", "192.0.2.7", "")),
    ({"accessIPv6": "2001:DB8::7", "OS-DCF:diskConfig": "AUTO"}, ("reach", "", "2001:db8::7")),
    ({"name": "both", "accessIPv4": "10.1.1.1", "accessIPv6": "::7"}, ("both", "10.1.1.1", "::7")),
    ({}, ("reach", "", "")),
], ids=["name", "v4", "v6 canonical", "all", "nothing"])
def test_an_update_changes_what_it_names_and_answers_200_with_the_server(member, flavors, changes: dict, expected: tuple) -> None:
    server_id = booted(member, "reach")
    before = shown(member, server_id)
    resp = member.put(f"/servers/{server_id}", json={"server": changes})
    assert resp.status_code == 200, resp.text
    answered = check(resp, schemas("servers", "2.1").update_server)["server"]
    assert (answered["name"], answered["accessIPv4"], answered["accessIPv6"]) == expected
    # Below 2.75 Nova answers with the server's own fields only: no extension's.
    assert not [key for key in answered if key.startswith(("OS-EXT-", "OS-SRV-USG", "os-extended-volumes"))]
    assert "key_name" not in answered and "security_groups" not in answered
    after = shown(member, server_id)
    assert (after["name"], after["accessIPv4"], after["accessIPv6"]) == expected
    assert {k: v for k, v in after.items() if k not in ("name", "accessIPv4", "accessIPv6", "updated")} == \
        {k: v for k, v in before.items() if k not in ("name", "accessIPv4", "accessIPv6", "updated")}


@pytest.mark.parametrize("version", SHAPE_VERSIONS)
def test_the_update_answer_fits_tempests_schema_at_each_version(memory_api, admin, flavors, version: str) -> None:
    http = client(memory_api, "alice:demo", version)
    server_id = booted(http, "fit")
    resp = http.put(f"/servers/{server_id}", json={"server": {"name": "fitted"}})
    assert check(resp, schemas("servers", version).update_server)["server"]["name"] == "fitted"
    assert ("locked" in resp.json()["server"]) == (tuple(map(int, version.split("."))) >= (2, 9))


@pytest.mark.parametrize(("body", "message"), [
    ({"server": {"name": ""}}, "Invalid input for field/attribute name. Value: . '' is too short"),
    ({"server": {"name": None}}, "Invalid input for field/attribute name. Value: None. None is not of type 'string'"),
    ({"server": {"accessIPv4": "300.1.1.1"}}, "Invalid input for field/attribute accessIPv4. Value: 300.1.1.1. '300.1.1.1' is not a 'ipv4'"),
    ({"server": {"accessIPv6": "::g"}}, "Invalid input for field/attribute accessIPv6. Value: ::g. '::g' is not a 'ipv6'"),
    # description is 2.19's; this API stops before it.
    ({"server": {"description": "d"}},
     "Invalid input for field/attribute server. Value: {'description': 'd'}. Additional properties are not allowed ('description' was unexpected)"),
    ({"servr": {}}, "Invalid input for field/attribute body. Value: {'servr': {}}. 'server' is a required property"),
], ids=["empty name", "null name", "bad v4", "bad v6", "description", "no server"])
def test_update_400s(member, flavors, body: dict, message: str) -> None:
    server_id = booted(member, "reach")
    fault(member.put(f"/servers/{server_id}", json=body), 400, message)
    assert shown(member, server_id)["name"] == "reach"


def test_an_update_of_a_server_not_the_callers_is_404_and_an_admin_may(admin, member, flavors) -> None:
    theirs = booted(admin, "admins")
    fault(member.put(f"/servers/{theirs}", json={"server": {"name": "mine"}}), 404, f"Instance {theirs} could not be found.")
    mine = booted(member, "mine")
    resp = admin.put(f"/servers/{mine}", json={"server": {"name": "fixed"}})
    assert resp.status_code == 200 and resp.json()["server"]["name"] == "fixed"
    assert shown(member, mine)["name"] == "fixed"
    fault(member.put("/servers/nope", json={"server": {"name": "x"}}), 404, "Instance nope could not be found.")



def test_instance_names_follow_novas_template_over_the_log_numbers(admin, member, flavors) -> None:
    ids = [booted(member, f"named-{i}") for i in range(3)]
    names = [shown(admin, i)["OS-EXT-SRV-ATTR:instance_name"] for i in ids]
    assert all(re.fullmatch(r"instance-[0-9a-f]{8}", n) for n in names), names
    assert len(set(names)) == 3
    # The low byte is the instance's partition of instance.events (8 partitions by default), the rest its build's offset.
    assert [int(n.removeprefix("instance-"), 16) % PARTITION_SPACE for n in names] == [partition_of(i, 8) for i in ids]
    assert "OS-EXT-SRV-ATTR:instance_name" not in shown(member, ids[0])
    (listed,) = [s for s in admin.get("/servers/detail", params={"all_tenants": "1"}).json()["servers"] if s["id"] == ids[1]]
    assert listed["OS-EXT-SRV-ATTR:instance_name"] == names[1]


def test_the_template_is_a_setting(tmp_path) -> None:
    backend = backend_in(tmp_path, instance_name_template="vm-%(uuid)s")
    admin = client(backend)
    flavor(admin)
    server_id = booted(admin, "by-uuid")
    assert shown(admin, server_id)["OS-EXT-SRV-ATTR:instance_name"] == f"vm-{server_id}"
