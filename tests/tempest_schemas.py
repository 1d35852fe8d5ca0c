"""tempest's compute response schemas, picked per microversion as tempest's own clients pick them.

`check(response, schema)` validates an httpx response (status, headers, body)
with tempest's validator, so a response that tempest would reject fails the test.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
from tempest.lib.api_schema.response.compute.v2_1 import versions as versions_schema
from tempest.lib.common import api_version_request, rest_client
from tempest.lib.services.compute import (
    flavors_client,
    hypervisor_client,
    keypairs_client,
    limits_client,
    quotas_client,
    server_groups_client,
    servers_client,
    services_client,
)

from novalog.api.microversion import MAX

CLIENTS = {
    "servers": servers_client.ServersClient,
    "flavors": flavors_client.FlavorsClient,
    "hypervisors": hypervisor_client.HypervisorClient,
    "services": services_client.ServicesClient,
    "quotas": quotas_client.QuotasClient,
    "limits": limits_client.LimitsClient,
    "keypairs": keypairs_client.KeyPairsClient,
    "server_groups": server_groups_client.ServerGroupsClient,
}
VERSIONS = versions_schema

# Every microversion up to the advertised maximum at which a shape of the subset changes, and the maximum.
SHAPE_VERSIONS = sorted({"2.1", "2.3", "2.9", "2.11", "2.13", str(MAX)}, key=lambda v: tuple(map(int, v.split("."))))


def schemas(resource: str, version: str) -> ModuleType:
    """The schema module tempest's client for `resource` uses at `version` (its schema_versions_info ranges)."""
    wanted = api_version_request.APIVersionRequest(version)
    for info in CLIENTS[resource].schema_versions_info:
        low = api_version_request.APIVersionRequest(info["min"])
        high = api_version_request.APIVersionRequest(info["max"])
        if (low.is_null() or wanted >= low) and (high.is_null() or wanted <= high):
            return info["schema"]
    raise LookupError(f"tempest has no {resource} schema for {version}")


class _TempestResponse(dict):
    """The response shape tempest's validator reads: a dict of lower-case headers with a `status`."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__({k.lower(): v for k, v in response.headers.items()})
        self.status = response.status_code


def check(response: httpx.Response, schema: dict[str, Any]) -> Any:
    """Validate `response` against the tempest schema; return its JSON body (or None)."""
    body = response.json() if response.content else None
    rest_client.RestClient.validate_response(schema, _TempestResponse(response), body)
    return body


def headers(version: str) -> dict[str, str]:
    """The headers openstacksdk sends for `version`: both the new and the legacy one."""
    return {"OpenStack-API-Version": f"compute {version}", "X-OpenStack-Nova-API-Version": version}
