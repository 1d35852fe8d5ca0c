"""Pure command builders for key pairs and server groups: a request body in, Nova's 400s or the event to append out."""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import Field, WithJsonSchema

from novalog.api import bodies
from novalog.api.compute import formats, keys
from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest
from novalog.api.microversion import Version
from novalog.events.outbound import Outbound
from novalog.events.records import Envelope, InstanceGroup
from novalog.events.state import InstanceState, KeypairState, ServerGroupState
from novalog.events.tenant import keypair_key, server_group_key
from novalog.events.types.tenant import KeypairCreated, KeypairDeleted, ServerGroupCreated, ServerGroupDeleted

PRODUCER = "novalog-api"
SAFE_NAME_CHARS = set("_- " + string.digits + string.ascii_letters)
# Below 2.15 only these; soft-affinity and soft-anti-affinity come with 2.15.
POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")
V2_2, V2_10, V2_15 = Version(2, 2), Version(2, 10), Version(2, 15)


def _envelope(event_class: type, ctx: RequestContext) -> Envelope:
    return Envelope.new(event_class, PRODUCER, request_id=ctx.request_id)


def _field(name: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {name}.")


@dataclass(frozen=True, slots=True)
class KeypairRequest:
    """A validated POST /os-keypairs: whose, what name and type, and the public key if one was imported."""

    user_id: str
    name: str
    key_type: str
    public_key: str | None


def parse_keypair(body: dict[str, Any], ctx: RequestContext, version: Version) -> KeypairRequest:
    """Nova's request schema for the version (type from 2.2, user_id from 2.10) and its name rules."""
    spec = body.get("keypair")
    if not isinstance(spec, dict) or set(body) != {"keypair"}:
        raise _field("keypair")
    allowed = {"name", "public_key"} | ({"type"} if version >= V2_2 else set()) | ({"user_id"} if version >= V2_10 else set())
    extra = sorted(set(spec) - allowed)
    if extra:
        raise BadRequest(f"Invalid input for field/attribute keypair. Additional properties are not allowed ({', '.join(extra)} was unexpected)")
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise _field("name")
    if not set(name) <= SAFE_NAME_CHARS:
        raise BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
    key_type = spec.get("type", keys.SSH)
    if key_type not in keys.KEY_TYPES:
        raise _field("type")
    public_key = spec.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise _field("public_key")
    user_id = spec.get("user_id", ctx.user_id)
    if not isinstance(user_id, str) or not user_id:
        raise _field("user_id")
    return KeypairRequest(user_id=user_id, name=name, key_type=key_type, public_key=public_key)


def create_keypair(ctx: RequestContext, request: KeypairRequest) -> tuple[str | None, Outbound]:
    """The KeypairCreated for a request, and the private key if one was made here (returned once, never logged)."""
    private = None
    public = request.public_key
    if public is None:
        private, public = keys.generate(request.key_type, request.user_id)
    try:
        fingerprint = keys.fingerprint(public, request.key_type)
    except keys.InvalidKey as exc:
        raise BadRequest(f"Keypair data is invalid: {exc}") from None
    event = KeypairCreated(
        envelope=_envelope(KeypairCreated, ctx),
        # Nova's ids are integers; 52 random bits stay exact in every JSON reader.
        keypair_id=uuid.uuid4().int >> 76,
        user_id=request.user_id,
        name=request.name,
        public_key=public,
        fingerprint=fingerprint,
        key_type=request.key_type,
    )
    return private, Outbound.event(keypair_key(request.user_id, request.name), event)


def delete_keypair(ctx: RequestContext, user_id: str, name: str) -> Outbound:
    event = KeypairDeleted(envelope=_envelope(KeypairDeleted, ctx), user_id=user_id, name=name)
    return Outbound.event(keypair_key(user_id, name), event)


# One of POLICIES + SOFT_POLICIES; the builder checks which, as the version allows, in the words it always used.
Policy = Annotated[str, WithJsonSchema({"type": "string", "enum": [*POLICIES, *SOFT_POLICIES]})]


class ServerGroup(bodies.Body):
    """Nova's server group up to 2.63: a name and exactly one policy (the soft ones from 2.15)."""

    name: formats.Name
    policies: Annotated[list[Policy], Field(min_length=1, max_length=1)]


class ServerGroupCreate(bodies.Body):
    server_group: ServerGroup


def create_server_group(ctx: RequestContext, body: dict[str, Any], version: Version = V2_2) -> Outbound:
    """A ServerGroupCreated from Nova's body `{"server_group": {name, policies: [one policy]}}` at the version."""
    spec = bodies.parse(ServerGroupCreate, body).server_group
    allowed = POLICIES + (SOFT_POLICIES if version >= V2_15 else ())
    if spec.policies[0] not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policies. Value: {spec.policies}. Must be one of {list(allowed)}.")
    event = ServerGroupCreated(
        envelope=_envelope(ServerGroupCreated, ctx),
        group_id=str(uuid.uuid4()),
        name=spec.name,
        policy=spec.policies[0],
        project_id=ctx.project_id,
        user_id=ctx.user_id,
    )
    return Outbound.event(server_group_key(event.group_id), event)


def delete_server_group(ctx: RequestContext, group_id: str) -> Outbound:
    return Outbound.event(server_group_key(group_id), ServerGroupDeleted(envelope=_envelope(ServerGroupDeleted, ctx), group_id=group_id))


def members(group_id: str, instances: list[InstanceState]) -> list[str]:
    """The group's members: the instances that joined it at create and are not deleted."""
    return sorted(r.instance_id for r in instances if r.server_group == group_id and r.vm_state != "deleted")


def instance_group(row: ServerGroupState, instances: list[InstanceState]) -> InstanceGroup:
    """The group as a build request carries it to the scheduler: policy, rules and the members known now."""
    return InstanceGroup(id=row.group_id, policy=row.policy, members=members(row.group_id, instances), rules=dict(row.rules))


class TenantRows(Protocol):
    """Where key pairs and server groups are looked up (the read model)."""

    def keypair(self, user_id: str, name: str) -> KeypairState | None: ...

    def server_group(self, group_id: str) -> ServerGroupState | None: ...


def server_create_checks(
    tenant: TenantRows, instances: list[InstanceState], ctx: RequestContext, key_name: Any, hints: dict[str, list[str]]
) -> InstanceGroup | None:
    """Nova's checks of a server create's key pair and `group` hint (400s); the group the new servers join, if any.

    The key pair must be one of the caller's own; the group one of the
    caller's project (an admin's: any). The group comes with its members of
    now, so the scheduler's group filters see the servers already in it.
    """
    if key_name is not None:
        held = tenant.keypair(ctx.user_id, key_name) if isinstance(key_name, str) else None
        if not isinstance(held, KeypairState) or held.deleted:
            raise BadRequest("Invalid key_name provided.")
    wanted = hints.get("group")
    if not wanted:
        return None
    row = tenant.server_group(wanted[0]) if len(wanted) == 1 else None
    if not isinstance(row, ServerGroupState) or row.deleted or (row.project_id != ctx.project_id and not ctx.is_admin):
        raise BadRequest("Invalid server group")
    return instance_group(row, instances)
