"""Nova's string formats for compute request bodies, as pydantic field types.

Nova's validator checks names by format: printable characters, no
whitespace at either end (`name`), or at least one non-space character
(`name_with_leading_trailing_spaces`); a zone's name also has no ':'
(`az_name`). Here each format is a pattern, so `/openapi.json` shows it and
a fuzzer generates names that pass it. A field typed with one refuses in
Nova's validator's words; a route that must keep older words for a name
shows the format with `shown` and checks it with `fits`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

_CONTROL = r"\x00-\x1f\x7f"
_EDGE, _INNER = rf"[^\s{_CONTROL}]", rf"[^{_CONTROL}]"
_ZONE_EDGE, _ZONE_INNER = rf"[^\s:{_CONTROL}]", rf"[^:{_CONTROL}]"

# Nova's `name`: printable characters, no whitespace at either end.
NAME_PATTERN = rf"^{_EDGE}(?:{_INNER}*{_EDGE})?$"
# Nova's `name_with_leading_trailing_spaces`: whitespace at the ends allowed, not only whitespace.
PADDED_NAME_PATTERN = rf"^{_INNER}*{_EDGE}{_INNER}*$"
# Nova's `az_name`: a `name` without ':' (which separates a zone from a forced host).
ZONE_PATTERN = rf"^{_ZONE_EDGE}(?:{_ZONE_INNER}*{_ZONE_EDGE})?$"

# Nova's `name`, 1 to 255 characters.
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=NAME_PATTERN)]
# Nova's `fqdn`: a service's host name (underscores allowed, as real hosts have them).
HostName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-._]*$")]
# Nova's `metadata` keys and values (`metadata_with_null` adds null, which removes a key).
MetadataKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9-_:. ]{1,255}$")]
MetadataValue = Annotated[str, Field(max_length=255)]


def _address(kind: str, parse: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> AfterValidator:
    """Nova's `ipv4` / `ipv6` formats, refused in its validator's words; kept as Nova keeps it, in canonical form."""

    def check(value: str) -> str:
        try:
            return str(parse(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a {kind!r}") from None

    return AfterValidator(check)


# Nova's `accessIPv4` and `accessIPv6`: a string in the address family's format ("2001:DB8::1" is kept as "2001:db8::1").
IPv4 = Annotated[str, _address("ipv4", ipaddress.IPv4Address), WithJsonSchema({"type": "string", "format": "ipv4"})]
IPv6 = Annotated[str, _address("ipv6", ipaddress.IPv6Address), WithJsonSchema({"type": "string", "format": "ipv6"})]


def shown(pattern: str) -> WithJsonSchema:
    """A name format as /openapi.json shows it, for a field whose route checks it by hand."""
    return WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 255, "pattern": pattern})


def fits(value: str, pattern: str) -> bool:
    """Whether a name is 1 to 255 characters of the format."""
    return 0 < len(value) <= 255 and re.fullmatch(pattern, value) is not None
