"""ImagePropertiesFilter (today's Nova)."""

from __future__ import annotations

import operator
import re
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.compute_capabilities_filter import capability
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions

# Nova's canonical names (Architecture, HVType, VMMode .canonicalize), after lower-casing.
_ALIASES = (
    {"i386": "i686", "i486": "i686", "i586": "i686", "x86_32": "i686", "x86_32p": "i686", "amd64": "x86_64"},
    {"xapi": "xen"},
    {"pv": "xen", "hv": "hvm", "baremetal": "hvm"},
)
# (today's name, legacy name): Nova's ImageMetaProps reads both, today's first.
_PROPERTIES = (("hw_architecture", "architecture"), ("img_hv_type", "hypervisor_type"), ("hw_vm_mode", "vm_mode"))
_COMPARE = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">": operator.gt, ">=": operator.ge, "!=": operator.ne}
_CLAUSE = re.compile(r"^\s*(<=|>=|<|>|!=|==)\s*(\d+(?:\.\d+)*)\s*$")


class ImagePropertyError(ValueError):
    """An image property the filter cannot read: the request fails, as in Nova (int() errors are ValueErrors too)."""


def canonical(triple: tuple[str | None, ...]) -> tuple[str | None, ...]:
    """(arch, hypervisor type, vm mode) lower-cased and de-aliased; names Nova would refuse are kept (and match no real host)."""
    return tuple(name and aliases.get(name.lower(), name.lower()) for name, aliases in zip(triple, _ALIASES))


def version_satisfies(predicate: str, version: int) -> bool:
    """Whether a hypervisor version int (8_002_000 is "8.2.0", as Nova reads it back) meets e.g. ">=6.0,<6.2"."""
    have = [int(d) for d in f"{version:,}".split(",")]  # Nova's convert_version_to_str, as groups of 3 digits
    for clause in predicate.split(","):
        found = _CLAUSE.match(clause)
        if not found:
            raise ImagePropertyError(f"img_hv_requested_version {predicate!r}: {clause!r} is not a numeric version clause")
        want = [int(part) for part in found.group(2).split(".")]
        width = max(len(have), len(want))  # "6.0" == "6.0.0", as packaging's versions compare
        if not _COMPARE[found.group(1)](have + [0] * (width - len(have)), want + [0] * (width - len(want))):
            return False
    return True


def _address_bits_fit(host: SchedHost, wanted: str) -> bool:
    # Nova's tests hand the filter a decoded cpu_info; novalog's is the JSON string, walked as capabilities are.
    bits = capability(host, ("cpu_info", "maxphysaddr", "bits"))
    return not wanted or not bits or int(bits) >= int(wanted)


def wanted_of(spec: RequestSpec, options: SchedulerOptions) -> tuple[str | None, ...]:
    """The (arch, hypervisor type, vm mode) the image asks for, canonical; the architecture defaults to the option's."""
    props = spec.image_properties
    arch, hv_type, vm_mode = (props.get(name, props.get(legacy)) for name, legacy in _PROPERTIES)
    return canonical((arch if arch is not None else options.image_properties_default_architecture, hv_type, vm_mode))


class ImagePropertiesFilter(BaseHostFilter):
    """Passes iff the host supports the image's architecture, hypervisor type and VM mode.

    Read under today's names (`hw_architecture`, `img_hv_type`,
    `hw_vm_mode`), else the legacy ones. None of the three set: every host
    passes. Otherwise some `supported_instances` triple must contain every
    set one (membership, not position), both sides canonicalized (Juno+:
    "x86_32" is "i686", "xapi" "xen", "pv" "xen"); then, when both sides are
    known, the hypervisor version must meet `img_hv_requested_version` and
    the CPU's address bits `hw_maxphysaddr_bits` (2023.1+). An image that
    names no architecture is taken to want
    `image_properties_default_architecture` when that option is set (Nova's
    default, None, assumes none).
    """

    NAME = "ImagePropertiesFilter"
    REASON = "cannot run the image"
    # The image and the host's capabilities do not change within a request.
    run_filter_once_per_request = True

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        if not spec.image_properties and options.image_properties_default_architecture is None:
            return True  # the usual request: nothing to canonicalize (canonical of three Nones is three Nones)
        return not any(wanted_of(spec, options))

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        props = spec.image_properties
        wanted = wanted_of(spec, options)
        if not any(wanted):
            return True
        if not any(all(not name or name in canonical(triple) for name in wanted) for triple in host.supported_instances):
            return False
        version = props.get("img_hv_requested_version", props.get("hypervisor_version_requires"))
        if version and host.hypervisor_version and not version_satisfies(version, host.hypervisor_version):
            return False
        return _address_bits_fit(host, props.get("hw_maxphysaddr_bits", ""))
