"""Keystone v3 password authentication, decided over the identity rows: who is asking, on which project, with which roles.

Pure: the rows, the password check and the presented token's claims are
arguments. Failures are KeystoneError, which the identity routes answer with
Keystone's error body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from novalog.api import bodies
from novalog.events.identity import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, effective_roles, project_key, user_key
from novalog.events.state import ProjectState, UserState

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"}
AUTH_REQUIRED = "The request you have made requires authentication."
MALFORMED = "the server could not comply with the request since it is either malformed or otherwise incorrect."


class KeystoneError(Exception):
    """An error answered as `{"error": {"code", "title", "message"}}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "title": TITLES.get(self.status, "Error"), "message": self.message}}


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What a POST /v3/auth/tokens body asks for."""

    methods: tuple[str, ...]
    user_id: str | None = None
    user_name: str | None = None
    user_domain: dict[str, Any] | None = None
    password: str | None = None
    token: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain: dict[str, Any] | None = None
    scoped: bool = False


class Ref(bodies.OpenBody):
    """A domain or project named by id or by name (a project's name within a domain)."""

    id: str | None = None
    name: str | None = None
    domain: Ref | None = None


class PasswordUser(bodies.OpenBody):
    id: str | None = None
    name: str | None = None
    password: str | None = None
    domain: Ref | None = None


class PasswordMethod(bodies.OpenBody):
    user: PasswordUser | None = None


class TokenMethod(bodies.OpenBody):
    id: str


class Identity(bodies.OpenBody):
    methods: Annotated[list[str], Field(min_length=1)]
    password: PasswordMethod | None = None
    token: TokenMethod | None = None


class Scope(bodies.OpenBody):
    project: Ref | None = None
    domain: Ref | None = None


class Auth(bodies.OpenBody):
    identity: Identity
    scope: Scope | str | None = None  # "unscoped" as a string


class AuthBody(bodies.OpenBody):
    """Keystone's token request: open objects (other keys are let through, as Keystone's schema does), typed where it types them.

    A null is taken for a key not given, as before these models.
    """

    auth: Auth


def _ref(ref: Ref | None) -> dict[str, Any] | None:
    return None if ref is None else ref.given()


def _method(identity: Identity) -> dict[str, Any]:
    """Who the request says it is: a user and password, or a token (the first method decides)."""
    if "password" in identity.methods:
        user = identity.password.user if identity.password is not None else None
        if user is None or user.password is None or not (user.id or user.name):
            raise KeystoneError(400, "Expecting to find user and password in password.")
        return {"user_id": user.id, "user_name": user.name, "user_domain": _ref(user.domain), "password": user.password}
    if "token" in identity.methods:
        if identity.token is None:
            raise KeystoneError(400, "Expecting to find id in token.")
        return {"token": identity.token.id}
    raise KeystoneError(401, f"Unsupported authentication method: {', '.join(identity.methods)}.")


def _scope(scope: Scope | str | None) -> dict[str, Any]:
    """The project asked for; no scope (or "unscoped") is none, and only a project can be asked for."""
    if scope is None or scope == "unscoped":
        return {}
    if isinstance(scope, str):
        raise KeystoneError(400, f"Expecting to find scope in auth - {MALFORMED}")
    if scope.project is None:
        raise KeystoneError(401, "Only project scope is supported: ask for a project.")
    project = scope.project
    return {"scoped": True, "project_id": project.id, "project_name": project.name, "project_domain": _ref(project.domain)}


def parse_auth(body: Any) -> AuthRequest:
    """The request's method and scope; a malformed body is 400, a scope other than a project's is 401."""
    auth = bodies.parse(AuthBody, body, lambda message: KeystoneError(400, message)).auth
    return AuthRequest(methods=tuple(auth.identity.methods), **_method(auth.identity), **_scope(auth.scope))


def domain_id_of(ref: dict[str, Any] | None) -> str | None:
    """The id of the domain a reference names; only the default domain exists."""
    if not isinstance(ref, dict):
        return None
    if ref.get("id") == DEFAULT_DOMAIN_ID or (ref.get("id") is None and ref.get("name") == DEFAULT_DOMAIN_NAME):
        return DEFAULT_DOMAIN_ID
    return None


def users(rows: Mapping[str, Any]) -> list[UserState]:
    return [r for r in list(rows.values()) if isinstance(r, UserState)]


def projects(rows: Mapping[str, Any]) -> list[ProjectState]:
    return [r for r in list(rows.values()) if isinstance(r, ProjectState)]


def user_by_id(rows: Mapping[str, Any], user_id: str) -> UserState | None:
    return next((u for u in users(rows) if u.user_id == user_id), None)


def project_by_id(rows: Mapping[str, Any], project_id: str) -> ProjectState | None:
    return next((p for p in projects(rows) if p.project_id == project_id), None)


def find_user(rows: Mapping[str, Any], request: AuthRequest) -> UserState | None:
    if request.user_id:
        return user_by_id(rows, request.user_id)
    domain = domain_id_of(request.user_domain)
    row = rows.get(user_key(domain, request.user_name or "")) if domain else None
    return row if isinstance(row, UserState) else None


def find_project(rows: Mapping[str, Any], request: AuthRequest) -> ProjectState | None:
    if request.project_id:
        return project_by_id(rows, request.project_id)
    domain = domain_id_of(request.project_domain)
    row = rows.get(project_key(domain, request.project_name or "")) if domain else None
    return row if isinstance(row, ProjectState) else None


def roles_on(user: UserState, project_id: str) -> tuple[str, ...]:
    """The user's roles on the project now: those given and those they imply."""
    return effective_roles(user.roles.get(project_id, []))


@dataclass(frozen=True, slots=True)
class Grant:
    """What a successful authentication yields: the user, the project (None: unscoped) and the roles on it."""

    user: UserState
    project: ProjectState | None
    roles: tuple[str, ...]
    methods: tuple[str, ...]


def authenticate(
    rows: Mapping[str, Any],
    request: AuthRequest,
    check_password: Callable[[str | None, str], bool],
    presented: Callable[[str], tuple[str, str | None]],
) -> Grant:
    """The grant a request earns, or 401.

    `check_password(hash, password)` verifies a password against a hash (None
    when there is no such user); `presented(token)` gives the user id and
    project id of a valid token (raising KeystoneError otherwise). A request
    without a scope is scoped to the user's default project if the user has a
    role there (as Keystone does), else unscoped. A rescope with the token
    method may not leave the token's project.
    """
    if request.token is not None:
        user_id, token_project = presented(request.token)
        user = user_by_id(rows, user_id)
        if user is None:
            raise KeystoneError(401, AUTH_REQUIRED)
    else:
        user = find_user(rows, request)
        if not check_password(user.password_hash if user else None, request.password or "") or user is None:
            raise KeystoneError(401, AUTH_REQUIRED)
        token_project = None
    if request.scoped:
        project = find_project(rows, request)
        if project is None:
            raise KeystoneError(401, f"Could not find project: {request.project_id or request.project_name}.")
    elif user.default_project_id and roles_on(user, user.default_project_id):
        project = project_by_id(rows, user.default_project_id)
    else:
        project = None
    if project is None:
        return Grant(user, None, (), request.methods)
    if token_project is not None and token_project != project.project_id:
        raise KeystoneError(403, "A project-scoped token cannot be rescoped to another project.")
    roles = roles_on(user, project.project_id)
    if not roles:
        raise KeystoneError(401, f"User {user.user_id} has no access to project {project.project_id}.")
    return Grant(user, project, roles, request.methods)
