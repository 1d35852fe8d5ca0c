"""Policy checks as route dependencies, so a caller without the right is 403 before its body is read.

FastAPI checks a body model before the route runs; a rule checked inside
the route would answer a refused caller's bad body with a 400 that says what
was wrong with it. A guard in the route's `dependencies` runs first, as the
hand-checked routes did.
"""

from __future__ import annotations

from novalog.api.deps import ApiDep, Ctx


class Authorized:
    """The caller passes `rule` for its own project."""

    def __init__(self, rule: str) -> None:
        self.rule = rule

    def __call__(self, api: ApiDep, ctx: Ctx) -> None:
        api.authorize(self.rule, ctx)


class AuthorizedOnProject(Authorized):
    """The caller passes `rule` for the project the path names (`{project_id}`)."""

    def __call__(self, api: ApiDep, ctx: Ctx, project_id: str) -> None:  # type: ignore[override]
        api.authorize(self.rule, ctx, project_id)
