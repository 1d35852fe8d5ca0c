"""Keystone v3's documents: version discovery, the service catalog and the token body."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from novalog.api.identity.keystone import Grant
from novalog.api.identity.tokens import TokenClaims
from novalog.events.identity import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME

IDENTITY_VERSION = "v3.14"
IDENTITY_UPDATED = "2020-04-07T00:00:00Z"
REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
DOMAIN = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}

# (type, name, path under the API's root); the image endpoint is listed for clients that look it up.
SERVICES = (("compute", "nova", "/v2.1"), ("image", "glance", "/image"), ("identity", "keystone", "/identity"))


def _id(*parts: str) -> str:
    """A stable 32-hex id (Keystone's id form) for a fixed thing: a role, a service, an endpoint."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "novalog:" + ":".join(parts)).hex


def version_doc(base: str) -> dict[str, Any]:
    return {
        "id": IDENTITY_VERSION,
        "status": "stable",
        "updated": IDENTITY_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


def catalog(base: str) -> list[dict[str, Any]]:
    """The compute, image and identity services, each with a public, internal and admin endpoint in RegionOne."""
    return [
        {
            "type": kind,
            "name": name,
            "id": _id("service", kind),
            "endpoints": [
                {"id": _id("endpoint", kind, interface), "interface": interface, "region": REGION, "region_id": REGION, "url": f"{base}{path}"}
                for interface in INTERFACES
            ],
        }
        for kind, name, path in SERVICES
    ]


def timestamp(at: datetime) -> str:
    """Keystone's form: 2015-08-27T09:49:58.000000Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def role_ref(role: str) -> dict[str, str]:
    return {"id": _id("role", role), "name": role}


def token_body(base: str, claims: TokenClaims, grant: Grant, with_catalog: bool = True) -> dict[str, Any]:
    """`{"token": ...}` as POST and GET /v3/auth/tokens answer; an unscoped token has no project, roles or catalog."""
    user = grant.user
    token: dict[str, Any] = {
        "methods": list(claims.methods),
        "user": {"id": user.user_id, "name": user.name, "domain": DOMAIN, "password_expires_at": None},
        "audit_ids": [claims.audit_id],
        "expires_at": timestamp(claims.expires_at),
        "issued_at": timestamp(claims.issued_at),
    }
    if grant.project is not None:
        project = grant.project
        token["project"] = {"id": project.project_id, "name": project.name, "domain": DOMAIN}
        token["is_domain"] = False
        token["roles"] = [role_ref(r) for r in grant.roles]
        if with_catalog:
            token["catalog"] = catalog(base)
    return {"token": token}
