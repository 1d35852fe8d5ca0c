"""AvailabilityZoneFilter and IsolatedHostsFilter: where an instance may go, whatever the room."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import build_aggregated_host, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from novalog.scheduler.filters.isolated_hosts_filter import IsolatedHostsFilter
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


@pytest.mark.parametrize(
    ("aggregates", "requested", "default_zone", "passes"),
    [
        # no zone requested: every host passes, whatever its zone
        pytest.param([], None, "nova", True, id="none-requested-default-host"),
        pytest.param([{"availability_zone": "az1"}], None, "nova", True, id="none-requested-zoned-host"),
        pytest.param([{"availability_zone": "az1"}], "", "nova", True, id="empty-requested"),
        # host without an explicit zone: it is in the default zone
        pytest.param([], "nova", "nova", True, id="no-zone-host-in-default"),
        pytest.param([], "az1", "nova", False, id="no-zone-host-not-in-az1"),
        pytest.param([{"other": "x"}], "nova", "nova", True, id="aggregate-without-zone-key-default"),
        pytest.param([], "az9", "az9", True, id="default-zone-option-honoured"),
        pytest.param([], "nova", "az9", False, id="nova-is-not-special"),
        # host with an explicit zone: only that zone, not the default one
        pytest.param([{"availability_zone": "az1"}], "az1", "nova", True, id="explicit-az1"),
        pytest.param([{"availability_zone": "az1"}], "az2", "nova", False, id="explicit-az1-requested-az2"),
        pytest.param([{"availability_zone": "az1"}], "nova", "nova", False, id="explicit-zone-host-not-in-default"),
        pytest.param([{"availability_zone": "nova"}], "nova", "nova", True, id="explicit-nova"),
        # several aggregates: any of their zones
        pytest.param([{"availability_zone": "az1"}, {"availability_zone": "az2"}], "az2", "nova", True, id="two-zones-second"),
        pytest.param([{"availability_zone": "az1"}, {"other": "x"}], "nova", "nova", False, id="one-zoned-aggregate-is-enough"),
        # Kilo+: values split on commas and trimmed
        pytest.param([{"availability_zone": "az1, az2"}], "az2", "nova", True, id="comma-list"),
        pytest.param([{"availability_zone": "az1, az2"}], "az1, az2", "nova", False, id="comma-list-whole-string-no"),
        pytest.param([{"availability_zone": "AZ1"}], "az1", "nova", False, id="case-sensitive"),
    ],
)
def test_availability_zone_filter(aggregates, requested, default_zone, passes) -> None:
    host = build_aggregated_host(*aggregates)
    options = replace(OPTIONS, default_availability_zone=default_zone)

    assert AvailabilityZoneFilter().host_passes(host, build_spec(availability_zone=requested), options) is passes


ISOLATED = dict(isolated_images=("img-iso",), isolated_hosts=("iso-host",))


@pytest.mark.parametrize(
    ("options", "host", "image", "passes"),
    [
        # restrict (default): pass iff (image isolated) == (host isolated)
        pytest.param(dict(ISOLATED), "iso-host", "img-iso", True, id="restrict-iso-host-iso-image"),
        pytest.param(dict(ISOLATED), "iso-host", "img-other", False, id="restrict-iso-host-other-image"),
        pytest.param(dict(ISOLATED), "host-1", "img-iso", False, id="restrict-other-host-iso-image"),
        pytest.param(dict(ISOLATED), "host-1", "img-other", True, id="restrict-other-host-other-image"),
        # not restricted: an isolated host also takes other images
        pytest.param(dict(ISOLATED, restrict_isolated_hosts_to_isolated_images=False), "iso-host", "img-iso", True, id="free-iso-host-iso-image"),
        pytest.param(dict(ISOLATED, restrict_isolated_hosts_to_isolated_images=False), "iso-host", "img-other", True, id="free-iso-host-other-image"),
        pytest.param(dict(ISOLATED, restrict_isolated_hosts_to_isolated_images=False), "host-1", "img-iso", False, id="free-other-host-iso-image"),
        pytest.param(dict(ISOLATED, restrict_isolated_hosts_to_isolated_images=False), "host-1", "img-other", True, id="free-other-host-other-image"),
        # no isolated images: a restricted isolated host takes nothing, others everything
        pytest.param(dict(isolated_hosts=("iso-host",)), "iso-host", "img-iso", False, id="no-images-restrict-iso-host"),
        pytest.param(dict(isolated_hosts=("iso-host",)), "host-1", "img-iso", True, id="no-images-restrict-other-host"),
        pytest.param(dict(isolated_hosts=("iso-host",), restrict_isolated_hosts_to_isolated_images=False), "iso-host", "img-iso", True, id="no-images-free-iso-host"),
        # nothing configured: every host passes
        pytest.param({}, "host-1", "img-iso", True, id="nothing-configured"),
        # boot from volume (no image) is not an isolated image
        pytest.param(dict(ISOLATED), "iso-host", "", False, id="no-image-restrict-iso-host"),
        pytest.param(dict(ISOLATED), "host-1", "", True, id="no-image-other-host"),
    ],
)
def test_isolated_hosts_filter(options, host, image, passes) -> None:
    spec = build_spec(image_ref=image)

    assert IsolatedHostsFilter().host_passes(build_aggregated_host(host=host), spec, replace(OPTIONS, **options)) is passes


@pytest.mark.parametrize("once_filter", [AvailabilityZoneFilter, IsolatedHostsFilter], ids=lambda cls: cls.NAME)
def test_run_once_per_request(once_filter) -> None:
    # Neither the zones nor the isolation lists change between the instances of one request.
    assert once_filter.run_filter_once_per_request is True


@pytest.mark.parametrize("registered", [AvailabilityZoneFilter, IsolatedHostsFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered
