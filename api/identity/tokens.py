"""Tokens: what they claim, sealed with Fernet (AES-CBC + HMAC-SHA256) under the key ring's keys.

The first key of a MultiFernet seals, all of them open, so a rotated-in key
takes over while tokens sealed with the keys before it stay valid until they
expire. A token that does not open (altered, forged, or sealed with a key
that is gone) or whose expiry has passed is refused with the reason.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken, MultiFernet


class TokenRefused(Exception):
    """The token is not one this service sealed, or it has expired."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """Who the token speaks for, on which project (None: unscoped), until when."""

    user_id: str
    project_id: str | None
    roles: tuple[str, ...]
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    audit_id: str


def new_claims(user_id: str, project_id: str | None, roles: tuple[str, ...], methods: tuple[str, ...], now: datetime, lifetime_s: int) -> TokenClaims:
    """Claims issued now (to the millisecond), valid for lifetime_s seconds, with a fresh audit id."""
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    audit_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
    return TokenClaims(user_id, project_id, roles, methods, now, now + timedelta(seconds=lifetime_s), audit_id)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def seal(fernet: MultiFernet, claims: TokenClaims) -> str:
    """The token: the claims as compact JSON, encrypted and authenticated with the primary key."""
    payload = {
        "u": claims.user_id, "p": claims.project_id, "r": list(claims.roles), "m": list(claims.methods),
        "i": _ms(claims.issued_at), "e": _ms(claims.expires_at), "a": claims.audit_id,
    }
    return fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()


def open_token(fernet: MultiFernet, token: str, now: datetime) -> TokenClaims:
    """The claims of a token sealed with one of the keys and not yet expired; TokenRefused says why not."""
    try:
        payload = json.loads(fernet.decrypt(token.encode()))
        claims = TokenClaims(
            user_id=str(payload["u"]), project_id=payload["p"], roles=tuple(payload["r"]), methods=tuple(payload["m"]),
            issued_at=_at(payload["i"]), expires_at=_at(payload["e"]), audit_id=str(payload["a"]),
        )
    except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
        raise TokenRefused("The token is not valid.") from None
    if now >= claims.expires_at:
        raise TokenRefused("The token has expired.")
    return claims
