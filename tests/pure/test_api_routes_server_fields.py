"""A server's own fields on the in-memory backend, over HTTP: accessIPv4/accessIPv6 at create and show."""

from __future__ import annotations

import pytest

from memory_api import boot, booted, fault, flavor


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
