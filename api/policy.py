"""Who may do what: Nova's default policy rules, enforced with oslo.policy, overridable by a policy file.

The rule names and their defaults are Nova's (its secure RBAC defaults:
admin, member and reader roles, each project's resources its own), so an
operator's Nova policy.yaml overrides mean here what they mean there. A
policy file (YAML or JSON, `rule name: check string`) replaces any default it
names and is re-read when it changes.

Checks see the caller's credentials (roles, project, user; `is_admin` when
the caller has the admin role) against a target (the resource's project and
user). A refusal is 403 with Nova's message; a resource of another project is
404 before any rule runs (the caller cannot learn it exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo

from novalog.api.context import RequestContext
from novalog.api.faults import Forbidden

ADMIN = "rule:admin_api"
MEMBER = "rule:project_member_or_admin"
READER = "rule:project_reader_or_admin"
ANYONE = "@"
# Nova's default for a user's own resources (key pairs): the owner, or an admin.
OWNER = "rule:admin_api or user_id:%(user_id)s"

BASE_RULES = [
    oslo.RuleDefault("context_is_admin", "role:admin", "The admin role, in any project."),
    oslo.RuleDefault("admin_api", "is_admin:True", "Only administrators."),
    oslo.RuleDefault("project_member_api", "role:member and project_id:%(project_id)s", "A member of the resource's project."),
    oslo.RuleDefault("project_reader_api", "role:reader and project_id:%(project_id)s", "A reader of the resource's project."),
    oslo.RuleDefault("project_member_or_admin", "rule:project_member_api or rule:context_is_admin", "A member of the project, or an admin."),
    oslo.RuleDefault("project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin", "A reader of the project, or an admin."),
]

# Nova's rule names for the implemented API, with Nova's defaults.
API_RULES: dict[str, str] = {
    "os_compute_api:servers:index": READER,
    "os_compute_api:servers:detail": READER,
    "os_compute_api:servers:index:get_all_tenants": ADMIN,
    "os_compute_api:servers:detail:get_all_tenants": ADMIN,
    "os_compute_api:servers:show": READER,
    "os_compute_api:servers:create": MEMBER,
    "os_compute_api:servers:create:forced_host": ADMIN,
    "os_compute_api:servers:delete": MEMBER,
    "os_compute_api:servers:update": MEMBER,
    "os_compute_api:servers:reboot": MEMBER,
    "os_compute_api:servers:start": MEMBER,
    "os_compute_api:servers:stop": MEMBER,
    "os_compute_api:servers:resize": MEMBER,
    "os_compute_api:servers:confirm_resize": MEMBER,
    "os_compute_api:servers:revert_resize": MEMBER,
    "os_compute_api:os-pause-server:pause": MEMBER,
    "os_compute_api:os-pause-server:unpause": MEMBER,
    "os_compute_api:os-suspend-server:suspend": MEMBER,
    "os_compute_api:os-suspend-server:resume": MEMBER,
    "os_compute_api:os-migrate-server:migrate": ADMIN,
    "os_compute_api:os-migrate-server:migrate_live": ADMIN,
    "os_compute_api:os-evacuate": ADMIN,
    "os_compute_api:servers:rebuild": MEMBER,
    "os_compute_api:servers:create_image": MEMBER,
    "os_compute_api:os-rescue": MEMBER,
    "os_compute_api:os-unrescue": MEMBER,
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:server-metadata:index": READER,
    "os_compute_api:server-metadata:show": READER,
    "os_compute_api:server-metadata:create": MEMBER,
    "os_compute_api:server-metadata:update_all": MEMBER,
    "os_compute_api:server-metadata:update": MEMBER,
    "os_compute_api:server-metadata:delete": MEMBER,
    "os_compute_api:os-lock-server:lock": MEMBER,
    "os_compute_api:os-lock-server:unlock": MEMBER,
    # Unlocking a server another kind of caller locked (the owner an admin's lock); Nova checks it on top of unlock.
    "os_compute_api:os-lock-server:unlock:unlock_override": ADMIN,
    "os_compute_api:os-console-output": MEMBER,
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": READER,
    "os_compute_api:os-flavor-extra-specs:show": READER,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-services:list": ADMIN,
    "os_compute_api:os-services:update": ADMIN,
    "os_compute_api:os-hypervisors:list": ADMIN,
    "os_compute_api:os-hypervisors:list-detail": ADMIN,
    "os_compute_api:os-hypervisors:show": ADMIN,
    "os_compute_api:os-hypervisors:statistics": ADMIN,
    # The image service (Glance's rule names, its secure RBAC defaults); the target is the image's owner project,
    # or the caller's own for a public or community image. Another project's private image is 404 before any rule.
    "get_images": READER,
    "get_image": READER,
    "add_image": MEMBER,
    "publicize_image": ADMIN,
    "communitize_image": MEMBER,
    "modify_image": MEMBER,
    "delete_image": MEMBER,
    "upload_image": MEMBER,
    "download_image": READER,
    "os_compute_api:os-quota-sets:show": READER,
    "os_compute_api:os-quota-sets:detail": READER,
    "os_compute_api:os-quota-sets:defaults": ANYONE,
    "os_compute_api:os-quota-sets:update": ADMIN,
    "os_compute_api:os-quota-sets:delete": ADMIN,
    "os_compute_api:limits": ANYONE,
    "os_compute_api:os-aggregates:index": ADMIN,
    "os_compute_api:os-aggregates:create": ADMIN,
    "os_compute_api:os-aggregates:show": ADMIN,
    "os_compute_api:os-aggregates:update": ADMIN,
    "os_compute_api:os-aggregates:delete": ADMIN,
    "os_compute_api:os-aggregates:add_host": ADMIN,
    "os_compute_api:os-aggregates:remove_host": ADMIN,
    "os_compute_api:os-aggregates:set_metadata": ADMIN,
    "os_compute_api:os-availability-zone:list": ANYONE,
    "os_compute_api:os-availability-zone:detail": ADMIN,
    "os_compute_api:os-instance-actions:list": READER,
    "os_compute_api:os-instance-actions:show": READER,
    "os_compute_api:os-instance-actions:events": ADMIN,
    "os_compute_api:os-used-limits": ADMIN,
    "os_compute_api:os-simple-tenant-usage:list": ADMIN,
    "os_compute_api:os-simple-tenant-usage:show": READER,
    "os_compute_api:os-keypairs:index": OWNER,
    "os_compute_api:os-keypairs:show": OWNER,
    "os_compute_api:os-keypairs:create": OWNER,
    "os_compute_api:os-keypairs:delete": OWNER,
    "os_compute_api:os-server-groups:index": READER,
    "os_compute_api:os-server-groups:index:all_projects": ADMIN,
    "os_compute_api:os-server-groups:show": READER,
    "os_compute_api:os-server-groups:create": MEMBER,
    "os_compute_api:os-server-groups:delete": MEMBER,
}

# The server actions of POST /servers/{id}/action and the rule each needs.
ACTION_RULES: dict[str, str] = {
    "reboot": "os_compute_api:servers:reboot",
    "os-start": "os_compute_api:servers:start",
    "os-stop": "os_compute_api:servers:stop",
    "pause": "os_compute_api:os-pause-server:pause",
    "unpause": "os_compute_api:os-pause-server:unpause",
    "suspend": "os_compute_api:os-suspend-server:suspend",
    "resume": "os_compute_api:os-suspend-server:resume",
    "resize": "os_compute_api:servers:resize",
    "confirmResize": "os_compute_api:servers:confirm_resize",
    "revertResize": "os_compute_api:servers:revert_resize",
    "migrate": "os_compute_api:os-migrate-server:migrate",
    "os-migrateLive": "os_compute_api:os-migrate-server:migrate_live",
    "evacuate": "os_compute_api:os-evacuate",
    "rebuild": "os_compute_api:servers:rebuild",
    "createImage": "os_compute_api:servers:create_image",
    "rescue": "os_compute_api:os-rescue",
    "unrescue": "os_compute_api:os-unrescue",
    "lock": "os_compute_api:os-lock-server:lock",
    "unlock": "os_compute_api:os-lock-server:unlock",
    "os-getConsoleOutput": "os_compute_api:os-console-output",
}


def credentials(ctx: RequestContext) -> dict[str, Any]:
    return {"roles": list(ctx.roles), "project_id": ctx.project_id, "user_id": ctx.user_id, "is_admin": ctx.is_admin}


# Decisions remembered per (rule, target, caller); forgotten all at once past this many, or when the rules change.
DECISIONS_KEPT = 50_000

# A decision's case: the rule, the target's items, then who asks (roles, project, user, admin or not).
DecisionKey = tuple[str, tuple[tuple[str, Any], ...], tuple[str, ...], str, str, bool]


class Policy:
    """The rules in force: Nova's defaults, and a policy file's overrides when one is given."""

    def __init__(self, policy_file: Path | None = None) -> None:
        conf = cfg.ConfigOpts()
        conf([], project="novalog", default_config_files=[], default_config_dirs=[])
        # Without a policy file, nothing is looked for on disk: oslo.policy would otherwise search
        # its config dirs for policy.yaml and policy.d on every check (a sixth of the API's CPU under load).
        self._enforcer = oslo.Enforcer(conf, policy_file=str(Path(policy_file).resolve()) if policy_file else None)
        conf.set_override("policy_dirs", [], group="oslo_policy")
        self._enforcer.register_defaults(BASE_RULES + [oslo.RuleDefault(name, check, name) for name, check in API_RULES.items()])
        self._enforcer.load_rules()
        if not policy_file:
            self._enforcer.use_conf = False  # the defaults are loaded; there is no file to watch
        self._rules_seen: Any = None
        self._decisions: dict[DecisionKey, bool] = {}

    def allowed(self, rule: str, ctx: RequestContext, target: dict[str, Any] | None = None) -> bool:
        """Whether the caller passes `rule` for a resource of `target` (default: the caller's own project)."""
        if rule not in API_RULES:
            raise KeyError(f"no policy rule {rule!r}")
        target = target if target is not None else {"project_id": ctx.project_id, "user_id": ctx.user_id}
        enforcer = self._enforcer
        if enforcer.use_conf:
            enforcer.load_rules()  # a policy file that changed is read again (and replaces the rules)
        if enforcer.rules is not self._rules_seen:
            self._rules_seen, self._decisions = enforcer.rules, {}
        try:
            key: DecisionKey = (rule, tuple(sorted(target.items())), ctx.roles, ctx.project_id, ctx.user_id, ctx.is_admin)
            hash(key)
        except TypeError:  # a target with unhashable values: asked afresh
            return bool(enforcer.enforce(rule, target, credentials(ctx)))
        decided = self._decisions.get(key)
        if decided is None:
            # oslo.policy inspects each check's signature on every call (about 300 us a rule): ask once per case.
            if len(self._decisions) >= DECISIONS_KEPT:
                self._decisions.clear()
            decided = self._decisions[key] = bool(enforcer.enforce(rule, target, credentials(ctx)))
        return decided

    def authorize(self, rule: str, ctx: RequestContext, target: dict[str, Any] | None = None) -> None:
        """403 with Nova's message unless the caller passes `rule`."""
        if not self.allowed(rule, ctx, target):
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
