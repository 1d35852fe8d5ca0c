"""TrustedFilter and its pluggable attestation source; registry entries and flags of this batch of filters."""

from __future__ import annotations

import pytest

from builders import build_flavor, build_sched_host, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.trusted_filter import AttestationSource, HostStateAttestation, TrustedFilter
from novalog.scheduler.host_state import SchedHost
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()


def spec_asking(trust: str | None):
    extra_specs = {} if trust is None else {"trust:trusted_host": trust}
    return build_spec(build_flavor(extra_specs=extra_specs))


@pytest.mark.parametrize(
    ("asked", "level", "passes"),
    [
        pytest.param(None, None, True, id="no-trust-asked-unattested-host"),
        pytest.param(None, "untrusted", True, id="no-trust-asked-untrusted-host"),
        pytest.param("", "untrusted", True, id="empty-spec-asks-nothing"),
        pytest.param("trusted", "trusted", True, id="trusted-on-trusted"),
        pytest.param("trusted", "untrusted", False, id="trusted-on-untrusted"),
        # unattested reads "unknown", which "trusted" never equals
        pytest.param("trusted", None, False, id="trusted-on-unattested"),
        pytest.param("untrusted", "untrusted", True, id="untrusted-on-untrusted"),
        # an exact comparison both ways: "untrusted" is not a weaker "trusted"
        pytest.param("untrusted", "trusted", False, id="untrusted-on-trusted"),
        pytest.param("unknown", None, True, id="unknown-on-unattested"),
        pytest.param("trusted", "Trusted", False, id="case-sensitive"),
    ],
)
def test_trusted_filter_with_host_state_attestation(asked, level, passes) -> None:
    host = build_sched_host(trust_level=level)

    assert TrustedFilter().host_passes(host, spec_asking(asked), OPTIONS) is passes


@pytest.mark.parametrize(
    ("level", "expected"),
    [pytest.param(None, "unknown", id="unattested"), pytest.param("trusted", "trusted", id="attested")],
)
def test_default_attestation_reads_the_host_state(level, expected) -> None:
    assert HostStateAttestation().trust_level(build_sched_host(trust_level=level)) == expected


class Attested:
    """An attestation source answering from a table, as an attestation client would."""

    def __init__(self, levels: dict[str, str]) -> None:
        self.levels = levels

    def trust_level(self, host: SchedHost) -> str:
        return self.levels.get(host.host, "unknown")


def test_attestation_source_is_pluggable() -> None:
    # the host row says "untrusted"; the given source says "trusted" and wins
    source: AttestationSource = Attested({"host-1": "trusted"})
    host = build_sched_host(host="host-1", trust_level="untrusted")

    assert TrustedFilter(source).host_passes(host, spec_asking("trusted"), OPTIONS) is True
    assert TrustedFilter().host_passes(host, spec_asking("trusted"), OPTIONS) is False


@pytest.mark.parametrize(
    ("name", "once"),
    [
        # aggregates, project, flavor, image, hints, attestation: fixed within one request
        pytest.param("AggregateMultiTenancyIsolation", True, id="AggregateMultiTenancyIsolation"),
        pytest.param("AggregateTypeAffinityFilter", True, id="AggregateTypeAffinityFilter"),
        pytest.param("AggregateImagePropertiesIsolation", True, id="AggregateImagePropertiesIsolation"),
        pytest.param("TrustedFilter", True, id="TrustedFilter-pike-flag"),
        pytest.param("SameHostFilter", True, id="SameHostFilter"),
        pytest.param("DifferentHostFilter", True, id="DifferentHostFilter"),
        # earlier placements of the request change the answer
        pytest.param("TypeAffinityFilter", False, id="TypeAffinityFilter-sees-consumption"),
        pytest.param("ServerGroupAffinityFilter", False, id="ServerGroupAffinityFilter-sees-consumption"),
        pytest.param("ServerGroupAntiAffinityFilter", False, id="ServerGroupAntiAffinityFilter-sees-consumption"),
    ],
)
def test_registered_with_novas_once_per_request_flag(name, once) -> None:
    assert FILTERS[name].run_filter_once_per_request is once
