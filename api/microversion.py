"""Compute API microversions: what a request asks for, and what this API serves.

A request names its version in `OpenStack-API-Version: compute X.Y` and/or
the legacy `X-OpenStack-Nova-API-Version: X.Y` (the new header wins); no
header means 2.1, `latest` the maximum. Outside [MIN, MAX] is 406, a
malformed value 400, both with Nova's messages. MAX is advertised only as
far as every response this API gives has that version's shape (checked
against tempest's response schemas, tests/integration/test_api_schemas.py).

The shape changes of the implemented subset up to MAX:

* 2.2: key pairs show `type` (ssh or x509); create 201, delete 204;
* 2.3: a server shows more `OS-EXT-SRV-ATTR:*` to admins (reservation_id, launch_index, hostname, kernel_id, ramdisk_id, root_device_name, user_data);
* 2.9: a server shows `locked`;
* 2.10: an admin names a key pair's user (`user_id`);
* 2.11: services show `forced_down`; `PUT /os-services/force-down`;
* 2.13: server groups show `project_id` and `user_id`;
* 2.14: evacuate takes no `onSharedStorage` and answers without a body;
* 2.15: server groups may be soft-affinity or soft-anti-affinity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering


class VersionError(ValueError):
    """A requested version this API cannot serve; `status` is 400 (malformed) or 406 (out of range)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int

    @staticmethod
    def parse(text: str) -> Version:
        match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
        if match is None:
            raise VersionError(400, f"Invalid API version request: {text.strip()!r} is not of the form X.Y")
        return Version(int(match[1]), int(match[2]))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN = Version(2, 1)
MAX = Version(2, 15)

HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"


def _compute_entry(value: str) -> str | None:
    """The version the OpenStack-API-Version header names for `compute`, if any (it may list several services)."""
    for part in value.split(","):
        service, _, version = part.strip().partition(" ")
        if service.lower() == "compute":
            return version.strip()
    return None


def requested(headers: dict[str, str]) -> Version:
    """The version a request asks for (headers looked up case-insensitively by the caller's mapping)."""
    text = None
    new = headers.get(HEADER.lower())
    if new is not None:
        text = _compute_entry(new)
    if text is None:
        text = headers.get(LEGACY_HEADER.lower())
    if text is None:
        return MIN
    if text.strip().lower() == "latest":
        return MAX
    version = Version.parse(text)
    if not MIN <= version <= MAX:
        raise VersionError(406, f"Version {version} is not supported by the API. Minimum is {MIN} and maximum is {MAX}.")
    return version
