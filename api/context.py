"""Who is asking: the request context, from Nova's development token form `user:project`.

Until identity exists the API trusts the token (like Nova's noauth2): a
token without ':' names both user and project; the user `admin` has the
admin role.
"""

from __future__ import annotations

from dataclasses import dataclass

from novalog.api.faults import Unauthorized


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: str
    project_id: str
    roles: tuple[str, ...]
    request_id: str

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def context_from_token(token: str | None, request_id: str) -> RequestContext:
    """The context a development token stands for; a missing token is 401."""
    if not token:
        raise Unauthorized()
    user, _, project = token.partition(":")
    project = project or user
    roles = ("admin", "member", "reader") if user == "admin" else ("member", "reader")
    return RequestContext(user_id=user, project_id=project, roles=roles, request_id=request_id)
