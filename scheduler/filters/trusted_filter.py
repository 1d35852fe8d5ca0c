"""TrustedFilter (Pike, 16.x: the last release with it; removed in Queens): trusted flavors on attested hosts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

TRUST_SPEC = "trust:trusted_host"
UNATTESTED = "unknown"


class AttestationSource(Protocol):
    """Where a host's trust level comes from: "trusted", "untrusted", or "unknown" when not attested."""

    def trust_level(self, host: SchedHost) -> str: ...


class HostStateAttestation:
    """The default source: the level the host's state row carries (`SchedHost.trust_level`), else "unknown"."""

    def trust_level(self, host: SchedHost) -> str:
        return host.trust_level or UNATTESTED


class TrustedFilter(BaseHostFilter):
    """Passes iff the flavor asks no trust (`trust:trusted_host` unset or empty) or the host's level equals it.

    Nova asked an OpenAttestation server (`[trusted_computing]`, results
    cached `attestation_auth_timeout` seconds) inside the filter. Here the
    attestation is an `AttestationSource` given to the constructor, so the
    filter stays pure: the default, `HostStateAttestation`, reads the level
    already in the host's state (written by whatever attests hosts); a test
    or a deployment with an attestation client passes its own. The
    comparison is exact, as in Nova: "trusted" never matches "Trusted", and
    an unattested host is "unknown", so it matches only a flavor asking for
    "unknown".
    """

    NAME = "TrustedFilter"
    REASON = "not at the flavor's trust level"
    # Pike's flag: attestation does not change within one request.
    run_filter_once_per_request = True

    def __init__(self, attestation: AttestationSource | None = None) -> None:
        self.attestation = attestation or HostStateAttestation()

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        wanted = spec.flavor.extra_specs.get(TRUST_SPEC)
        if not wanted:
            return True
        return self.attestation.trust_level(host) == wanted
