"""Microversion negotiation: the headers clients send, Nova's 400 and 406, and the shapes that change."""

from __future__ import annotations

import pytest

from builders import build_host_state, build_instance_state
from novalog.api.compute import views
from novalog.api.microversion import MAX, MIN, Version, VersionError, requested


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, MIN, id="none-is-2.1"),
        pytest.param({"openstack-api-version": "compute 2.9"}, Version(2, 9), id="new-header"),
        pytest.param({"x-openstack-nova-api-version": "2.3"}, Version(2, 3), id="legacy-header"),
        pytest.param({"openstack-api-version": "compute 2.11", "x-openstack-nova-api-version": "2.3"}, Version(2, 11), id="new-wins"),
        pytest.param({"openstack-api-version": "volume 3.5, compute 2.2"}, Version(2, 2), id="several-services"),
        pytest.param({"openstack-api-version": "volume 3.5", "x-openstack-nova-api-version": "2.4"}, Version(2, 4), id="other-service-only"),
        pytest.param({"openstack-api-version": "compute latest"}, MAX, id="latest"),
    ],
)
def test_the_requested_version(headers, expected) -> None:
    assert requested(headers) == expected


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("2.200", 406, f"Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is {MAX}."),
        ("2.0", 406, f"Version 2.0 is not supported by the API. Minimum is 2.1 and maximum is {MAX}."),
        ("3.1", 406, f"Version 3.1 is not supported by the API. Minimum is 2.1 and maximum is {MAX}."),
        ("two", 400, "Invalid API version request: 'two' is not of the form X.Y"),
    ],
)
def test_out_of_range_is_406_and_malformed_is_400(value, status, message) -> None:
    with pytest.raises(VersionError) as refused:
        requested({"x-openstack-nova-api-version": value})
    assert (refused.value.status, str(refused.value)) == (status, message)


def test_versions_compare_numerically() -> None:
    assert Version(2, 10) > Version(2, 9) and Version.parse("2.11") == Version(2, 11) and str(Version(2, 3)) == "2.3"


def test_the_version_document_advertises_the_maximum() -> None:
    assert views.version_doc("http://x")["version"] == str(MAX) and views.version_doc("http://x")["min_version"] == "2.1"


def test_server_fields_appear_at_their_versions() -> None:
    row = build_instance_state(vm_state="active", host="host-1", reservation_id="r-1", launch_index=2, name="Web Server_1")
    v21 = views.server_detail("http://x", row, True, Version(2, 1))
    v23 = views.server_detail("http://x", row, True, Version(2, 3))
    v29 = views.server_detail("http://x", row, True, Version(2, 9))
    member = views.server_detail("http://x", row, False, Version(2, 9))
    assert "OS-EXT-SRV-ATTR:reservation_id" not in v21 and "locked" not in v23
    assert (v23["OS-EXT-SRV-ATTR:reservation_id"], v23["OS-EXT-SRV-ATTR:launch_index"], v23["OS-EXT-SRV-ATTR:hostname"]) == ("r-1", 2, "web-server-1")
    assert v29["locked"] is False and "OS-EXT-SRV-ATTR:hostname" not in member


def test_services_show_forced_down_from_2_11() -> None:
    row = build_host_state(forced_down=True)
    assert "forced_down" not in views.service_view(row, False, Version(2, 10))
    assert views.service_view(row, False, Version(2, 11))["forced_down"] is True
