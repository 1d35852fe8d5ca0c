"""Keystone's admin reads: /v3/users, /v3/projects, /v3/role_assignments (list and show), admin only (a user or project may read itself).

So `openstack user list`, `project list` and `role assignment list` work;
the identity store is still written with the `novalog` commands.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from novalog.api.deps import Api, ApiDep, BaseUrl
from novalog.api.identity import directory, keystone
from novalog.api.identity.keystone import Grant, KeystoneError
from novalog.api.identity.routes import KeystoneRoute, refused, service

router = APIRouter(route_class=KeystoneRoute)


def caller(api: Api, request: Request) -> tuple[Any, Grant]:
    """The identity rows and the caller's grant (401 without a valid token)."""
    identity = service(api)
    _, grant = identity.validate(request.headers.get("x-auth-token"))
    return identity.rows, grant


def self_url(request: Request, base: str) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


@router.get("/identity/v3/users")
def list_users(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    try:
        rows, grant = caller(api, request)
        directory.authorize(grant, "list_users")
    except KeystoneError as exc:
        return refused(base, exc)
    users = directory.matching(keystone.users(rows), request.query_params.get("name"), request.query_params.get("domain_id"))
    return JSONResponse(directory.collection("users", self_url(request, base), [directory.user_view(base, u) for u in users]))


@router.get("/identity/v3/users/{user_id}")
def show_user(user_id: str, request: Request, api: ApiDep, base: BaseUrl) -> Response:
    try:
        rows, grant = caller(api, request)
        directory.authorize(grant, "get_user", owner=grant.user.user_id == user_id)
        user = directory.find_user(rows, user_id)
    except KeystoneError as exc:
        return refused(base, exc)
    return JSONResponse({"user": directory.user_view(base, user)})


@router.get("/identity/v3/projects")
def list_projects(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    try:
        rows, grant = caller(api, request)
        directory.authorize(grant, "list_projects")
    except KeystoneError as exc:
        return refused(base, exc)
    projects = directory.matching(keystone.projects(rows), request.query_params.get("name"), request.query_params.get("domain_id"))
    return JSONResponse(directory.collection("projects", self_url(request, base), [directory.project_view(base, p) for p in projects]))


@router.get("/identity/v3/projects/{project_id}")
def show_project(project_id: str, request: Request, api: ApiDep, base: BaseUrl) -> Response:
    try:
        rows, grant = caller(api, request)
        directory.authorize(grant, "get_project", owner=grant.project is not None and grant.project.project_id == project_id)
        project = directory.find_project(rows, project_id)
    except KeystoneError as exc:
        return refused(base, exc)
    return JSONResponse({"project": directory.project_view(base, project)})


@router.get("/identity/v3/role_assignments")
def list_role_assignments(request: Request, api: ApiDep, base: BaseUrl) -> Response:
    params = request.query_params
    try:
        rows, grant = caller(api, request)
        directory.authorize(grant, "list_role_assignments")
    except KeystoneError as exc:
        return refused(base, exc)
    query = directory.AssignmentQuery(
        user_id=params.get("user.id"), project_id=params.get("scope.project.id"), role_id=params.get("role.id"),
        effective=directory.parse_flag(params.get("effective")), include_names=directory.parse_flag(params.get("include_names")),
    )
    return JSONResponse(directory.collection("role_assignments", self_url(request, base), directory.role_assignments(base, rows, query)))
