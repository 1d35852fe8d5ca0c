"""Who a token speaks for: the identity service's token issue and check, and the compute API's request context.

auth_strategy "keystone" accepts only tokens this service sealed, unexpired,
not revoked, of a user who still has a role on the token's project (roles
and revocations are read from the identity table at each check, so a
removed role or a revocation counts at once, in every API process once its
read cache has the user's row).
"noauth2" (development only) accepts those too, and otherwise trusts
Nova's `user:project` form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from novalog.api.context import RequestContext, context_from_token
from novalog.api.faults import Unauthorized
from novalog.api.identity import keystone
from novalog.api.identity.keystone import Grant, KeystoneError
from novalog.api.identity.passwords import verify_password
from novalog.api.identity.token_keys import KeyRing, NoTokenKeys
from novalog.api.identity.tokens import TokenClaims, TokenRefused, new_claims, open_token, seal
from novalog.events.records import utcnow

STRATEGIES = ("keystone", "noauth2")


class IdentityService:
    """Issues and checks tokens over the identity rows (the read cache's) with the key ring's keys."""

    def __init__(
        self,
        keys: KeyRing,
        rows: Mapping[str, Any],
        token_expiration: int = 3600,
        strategy: str = "keystone",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"auth_strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        self.keys = keys
        self.rows = rows
        self.token_expiration = token_expiration
        self.strategy = strategy
        self.clock = clock

    def _fernet(self) -> Any:
        try:
            return self.keys.current()
        except NoTokenKeys as exc:
            raise KeystoneError(503, str(exc)) from None

    def issue(self, body: Any) -> tuple[str, TokenClaims, Grant]:
        """A token for a POST /v3/auth/tokens body, or KeystoneError."""
        request = keystone.parse_auth(body)

        def presented(token: str) -> tuple[str, str | None]:
            claims, _ = self.validate(token, status=401)
            return claims.user_id, claims.project_id

        grant = keystone.authenticate(self.rows, request, verify_password, presented)
        fernet = self._fernet()  # only a caller who proved who they are learns that no key is set up (503)
        project_id = grant.project.project_id if grant.project else None
        claims = new_claims(grant.user.user_id, project_id, grant.roles, grant.methods, self.clock(), self.token_expiration)
        return seal(fernet, claims), claims, grant

    def validate(self, token: str | None, status: int = 401) -> tuple[TokenClaims, Grant]:
        """The claims and current grant of a valid token; KeystoneError(status) if it is not one."""
        if not token:
            raise KeystoneError(401, keystone.AUTH_REQUIRED)
        try:
            claims = open_token(self.keys.current(), token, self.clock())
        except NoTokenKeys:  # no key, so no token can be valid
            raise KeystoneError(status, f"Could not find token: {token}" if status == 404 else keystone.AUTH_REQUIRED) from None
        except TokenRefused as exc:
            raise KeystoneError(status, f"Could not find token: {token}" if status == 404 else str(exc)) from None
        user = keystone.user_by_id(self.rows, claims.user_id)
        if user is None:
            raise KeystoneError(status, "The token's user does not exist.")
        if claims.audit_id in user.revoked:
            raise KeystoneError(status, f"Could not find token: {token}" if status == 404 else "The token has been revoked.")
        if claims.project_id is None:
            return claims, Grant(user, None, (), claims.methods)
        project = keystone.project_by_id(self.rows, claims.project_id)
        roles = keystone.roles_on(user, claims.project_id)
        if project is None or not roles:
            raise KeystoneError(status, f"User {user.user_id} has no access to project {claims.project_id}.")
        return claims, Grant(user, project, roles, claims.methods)

    def context(self, token: str | None, request_id: str) -> RequestContext:
        """The compute API's request context for a token; 401 (a Nova fault) if it is not acceptable."""
        try:
            claims, grant = self.validate(token)
        except KeystoneError:
            if self.strategy == "noauth2" and token:
                return context_from_token(token, request_id)
            raise Unauthorized() from None
        if grant.project is None:
            raise Unauthorized("A project-scoped token is required.")
        return RequestContext(user_id=claims.user_id, project_id=grant.project.project_id, roles=grant.roles, request_id=request_id)
