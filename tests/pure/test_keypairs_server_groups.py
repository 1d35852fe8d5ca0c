"""Key pairs and server groups: fingerprints, the tenant fold, Nova's create checks, the views per version, group placement."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from types import SimpleNamespace

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from tempest.lib.api_schema.response.compute.v2_1 import keypairs as keypairs_v21
from tempest.lib.api_schema.response.compute.v2_1 import server_groups as groups_v21
from tempest.lib.api_schema.response.compute.v2_2 import keypairs as keypairs_v22

from builders import (
    ED25519_MD5,
    ED25519_PUBLIC_KEY,
    NOW,
    build_flavor,
    build_host_state,
    build_instance_state,
    build_keypair_created,
    build_keypair_deleted,
    build_keypair_state,
    build_server_group_created,
    build_server_group_deleted,
    build_server_group_state,
)
from novalog.api.compute import keys, tenant_commands, tenant_views
from novalog.api.context import RequestContext
from novalog.api.faults import BadRequest
from novalog.api.microversion import Version
from novalog.events.records import Envelope, InstanceGroup
from novalog.events.types import InstanceBuildRequested, InstanceSchedulingFailed, PlacementProposed
from novalog.projections import tenant
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.service import Scheduler
from tempest_schemas import check

# Made with `ssh-keygen -t rsa -b 2048`; `ssh-keygen -l -E md5` printed the fingerprint.
RSA_PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCcm9/Urth+2zh3g7TT0wcEzGSeNggx8AODHfUuXZeZAdaTlGX2uzNAHM2CbqdizPdUVNK+uP3+r4258+zVXCJFPr2JMWNLA2Oqke1R9"
    "KkppGI8TUoJzo7x5PikEq+1LwdABNs8+sQwy5xS2LVl/ojl3G3CrIOyo9ono878qXYryk/i3ETCuLOpufDU6vi2ly/5Fa0QMby9agdER+p2+XXW5i966gAklwLPRQLcb5D4rpHaYjX2"
    "qtikxSMqDBYoUz3+qed7h5VESZjeJaWrCNcne8z2U6Xj9lZ7V1X7c99J+CrXQRhCcB2wPP+vLjNQiiXWBu68zyaZHiO30HgavoBN rsa@novalog"
)
RSA_MD5 = "b8:0a:8a:53:b7:02:1e:a5:57:f9:45:4d:63:39:1e:44"
CTX = RequestContext(user_id="u-1", project_id="p-1", roles=("member", "reader"), request_id="req-1")
V21, V22, V210, V211 = Version(2, 1), Version(2, 2), Version(2, 10), Version(2, 11)


# --- fingerprints and generated keys ---


@pytest.mark.parametrize(("public_key", "expected"), [(ED25519_PUBLIC_KEY, ED25519_MD5), (RSA_PUBLIC_KEY, RSA_MD5)], ids=["ed25519", "rsa"])
def test_an_ssh_fingerprint_is_what_ssh_keygen_prints(public_key: str, expected: str) -> None:
    assert keys.fingerprint(public_key, keys.SSH) == expected


@pytest.mark.parametrize("bad", ["", "ssh-rsa", "ssh-rsa AAAAnotbase64!!", "hello world", RSA_PUBLIC_KEY[:120]])
def test_what_is_not_a_public_key_is_invalid(bad: str) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.fingerprint(bad, keys.SSH)


def test_a_generated_ssh_key_pair_matches_and_is_fingerprinted_like_an_imported_one() -> None:
    private, public = keys.generate(keys.SSH, "u-1")
    key = serialization.load_pem_private_key(private.encode(), password=None)
    derived = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----") and key.key_size == 2048
    assert public == f"{derived} Generated-by-Nova"
    assert keys.fingerprint(public, keys.SSH) == keys.fingerprint(derived, keys.SSH)


def test_a_generated_x509_certificate_names_the_user_and_has_a_sha1_fingerprint() -> None:
    private, certificate = keys.generate(keys.X509, "u-1")
    assert "BEGIN CERTIFICATE" in certificate and "PRIVATE KEY" in private
    assert len(keys.fingerprint(certificate, keys.X509).split(":")) == 20  # SHA-1: 20 bytes
    with pytest.raises(keys.InvalidKey):
        keys.fingerprint(RSA_PUBLIC_KEY, keys.X509)


# --- the fold ---


def fold(*events):
    rows: dict[str, object] = {}
    for event in events:
        key = tenant.key_of(event)
        rows[key] = tenant.apply(rows.get(key), event)
    return rows


def test_a_second_create_of_a_name_is_refused_and_the_first_kept() -> None:
    rows = fold(build_keypair_created(keypair_id=1), build_keypair_created(keypair_id=2, public_key=RSA_PUBLIC_KEY))
    assert rows == {"keypair:u-1:key-1": build_keypair_state(keypair_id=1)}


def test_names_are_per_user() -> None:
    rows = fold(build_keypair_created(keypair_id=1), build_keypair_created(user_id="u-2", keypair_id=2))
    assert sorted(rows) == ["keypair:u-1:key-1", "keypair:u-2:key-1"]


def test_a_deleted_name_may_be_created_again_afresh() -> None:
    later = NOW.replace(minute=5)
    rows = fold(build_keypair_created(keypair_id=1), build_keypair_deleted(at=later), build_keypair_created(keypair_id=3, at=later))
    assert rows["keypair:u-1:key-1"] == build_keypair_state(keypair_id=3, created_at=later)


def test_a_delete_marks_the_row_once() -> None:
    later = NOW.replace(minute=5)
    rows = fold(build_keypair_created(), build_keypair_deleted(at=later), build_keypair_deleted(at=later.replace(minute=9)))
    assert rows["keypair:u-1:key-1"] == build_keypair_state(deleted=True, deleted_at=later)


def test_server_groups_are_created_once_and_deleted() -> None:
    rows = fold(build_server_group_created(), build_server_group_created(policy="affinity"))
    assert rows == {"server_group:g-1": build_server_group_state()}
    assert fold(build_server_group_created(), build_server_group_deleted())["server_group:g-1"] == build_server_group_state(deleted=True)


def test_replaying_a_suffix_on_a_prefix_gives_the_same_rows() -> None:
    events = [build_keypair_created(keypair_id=1), build_keypair_deleted(), build_keypair_created(keypair_id=2), build_keypair_created(keypair_id=3)]
    key = "keypair:u-1:key-1"
    whole = fold(*events)[key]
    prefix = fold(*events[:2])[key]
    for event in events[2:]:
        prefix = tenant.apply(prefix, event)
    assert prefix == whole


# --- requests ---


@pytest.mark.parametrize(
    ("keypair", "version", "message"),
    [
        ({"name": "k", "type": "ssh"}, V21, "Additional properties are not allowed (type was unexpected)"),
        ({"name": "k", "user_id": "u-2"}, V22, "Additional properties are not allowed (user_id was unexpected)"),
        ({"name": "k/1"}, V22, "Keypair name contains unsafe characters"),
        ({"name": ""}, V22, "field/attribute name"),
        ({"name": " k"}, V22, "field/attribute name"),
        ({"name": "k", "type": "rsa"}, V22, "field/attribute type"),
        ({"name": "k", "public_key": 3}, V22, "field/attribute public_key"),
    ],
    ids=["type-before-2.2", "user_id-before-2.10", "unsafe-name", "empty-name", "leading-space", "unknown-type", "key-not-a-string"],
)
def test_nova_refuses_these_key_pair_requests(keypair: dict, version: Version, message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        tenant_commands.parse_keypair({"keypair": keypair}, CTX, version)


def test_an_imported_key_is_recorded_with_its_fingerprint_and_no_private_key() -> None:
    wanted = tenant_commands.parse_keypair({"keypair": {"name": "my key_1", "public_key": RSA_PUBLIC_KEY, "user_id": "u-2"}}, CTX, V210)
    private, out = tenant_commands.create_keypair(CTX, wanted)
    assert private is None and out.key == "keypair:u-2:my key_1" and out.topic == "tenant.events"
    assert (out.record.fingerprint, out.record.key_type, out.record.public_key) == (RSA_MD5, "ssh", RSA_PUBLIC_KEY)


def test_an_invalid_public_key_is_400() -> None:
    wanted = tenant_commands.parse_keypair({"keypair": {"name": "k", "public_key": "ssh-rsa nonsense"}}, CTX, V22)
    with pytest.raises(BadRequest, match="Keypair data is invalid"):
        tenant_commands.create_keypair(CTX, wanted)


@pytest.mark.parametrize(
    "body",
    [{"server_group": {"name": "g", "policies": ["soft-affinity"]}}, {"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}},
     {"server_group": {"name": "g"}}, {"server_group": {"policies": ["affinity"]}}, {"server_group": {"name": "g", "policies": ["affinity"], "policy": "x"}}],
    ids=["soft-before-2.15", "two-policies", "no-policies", "no-name", "unknown-field"],
)
def test_nova_refuses_these_server_group_requests(body: dict) -> None:
    with pytest.raises(BadRequest):
        tenant_commands.create_server_group(CTX, body)


def test_a_server_create_names_one_of_the_callers_key_pairs_and_a_group_of_the_project() -> None:
    tenant_rows = {
        "keypair:u-1:mine": build_keypair_state("mine"),
        "keypair:u-2:theirs": build_keypair_state("theirs", "u-2"),
        "keypair:u-1:gone": build_keypair_state("gone", deleted=True),
        "server_group:g-1": build_server_group_state(rules={"max_server_per_host": "2"}),
        "server_group:g-2": build_server_group_state("g-2", project_id="p-2"),
    }
    rows = [build_instance_state("i-2", server_group="g-1"), build_instance_state("i-1", server_group="g-1"),
            build_instance_state("i-3", server_group="g-1", vm_state="deleted"), build_instance_state("i-4")]
    lookups = SimpleNamespace(keypair=lambda user, name: tenant_rows.get(f"keypair:{user}:{name}"),
                              server_group=lambda group: tenant_rows.get(f"server_group:{group}"))
    checks = lambda key_name, hints: tenant_commands.server_create_checks(lookups, rows, CTX, key_name, hints)  # noqa: E731
    assert checks("mine", {}) is None
    for key_name in ("theirs", "gone", "nope", 3):
        with pytest.raises(BadRequest, match="Invalid key_name provided."):
            checks(key_name, {})
    # Members: the live instances of the group (i-3 was deleted, i-4 is in none).
    assert checks(None, {"group": ["g-1"]}) == InstanceGroup("g-1", "anti-affinity", ["i-1", "i-2"], {"max_server_per_host": "2"})
    for group in (["g-2"], ["g-9"], ["g-1", "g-1"]):
        with pytest.raises(BadRequest, match="Invalid server group"):
            checks(None, {"group": group})


# --- views, validated with tempest's schemas for the version ---


def valid(schema: dict, body: dict | None, status: int) -> dict | None:
    return check(httpx.Response(status, json=body) if body is not None else httpx.Response(status), schema)


@pytest.mark.parametrize(("version", "schemas", "created"), [(V21, keypairs_v21, 200), (V22, keypairs_v22, 201), (V210, keypairs_v22, 201), (V211, keypairs_v22, 201)], ids=str)
def test_key_pair_views_fit_tempests_schemas(version: Version, schemas, created: int) -> None:
    row = build_keypair_state(key_type="x509")
    body = valid(schemas.create_keypair, tenant_views.keypair_created(row, "-----BEGIN RSA PRIVATE KEY-----", version), created)
    assert ("type" in body["keypair"]) is (version >= V22)
    valid(schemas.create_keypair, tenant_views.keypair_created(row, None, version), created)
    valid(schemas.list_keypairs, tenant_views.keypair_list([row, build_keypair_state("key-2")], version), 200)
    shown = valid(schemas.get_keypair, tenant_views.keypair_detail(row, version), 200)
    assert shown["keypair"]["id"] == 7 and shown["keypair"]["created_at"] == "2024-01-01T12:00:00.000000"
    with pytest.raises(Exception):  # the 2.2 shape is not the 2.1 one, and the other way round
        valid((keypairs_v22 if version < V22 else keypairs_v21).get_keypair, tenant_views.keypair_detail(row, version), 200)


def test_a_server_group_view_fits_tempests_schema_below_2_13() -> None:
    group = {"server_group": tenant_views.server_group(build_server_group_state(), ["i-1"])}
    assert valid(groups_v21.create_show_server_group, group, 200)["server_group"]["policies"] == ["anti-affinity"]
    valid(groups_v21.list_server_groups, {"server_groups": [group["server_group"]]}, 200)


# --- placement with a group ---


def scheduler(*hosts: str) -> Scheduler:
    rows = [build_host_state(h) for h in hosts]
    options = SchedulerOptions(enabled_filters=("ComputeFilter", "RamFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"))
    return Scheduler("s1", lambda: rows, options, 60.0, random.Random(0), clock=lambda: NOW)


def build(instance_id: str, group: InstanceGroup, instance_ids: list[str] | None = None) -> InstanceBuildRequested:
    return InstanceBuildRequested(
        envelope=Envelope.new(InstanceBuildRequested, "api", event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, instance_id)), occurred_at=NOW),
        instance_id=instance_id, name=instance_id, project_id="p", user_id="u", flavor=build_flavor(ram=512), image_ref="img",
        scheduler_hints={"group": [group.id]}, instance_ids=instance_ids or [], instance_group=group,
    )


def hosts_of(outs) -> list[str]:
    assert all(isinstance(o.record, PlacementProposed) for o in outs), [o.record for o in outs]
    return [o.record.host for o in outs]


def test_anti_affinity_puts_each_member_of_a_multi_create_on_its_own_host_and_fails_a_third() -> None:
    group = InstanceGroup("g", "anti-affinity")
    placed = hosts_of(scheduler("h1", "h2").handle(build("a", group, ["a", "b"])))
    assert sorted(placed) == ["h1", "h2"]
    failed = scheduler("h1", "h2").handle(build("a", group, ["a", "b", "c"]))
    assert {type(o.record) for o in failed} == {InstanceSchedulingFailed}
    assert "ServerGroupAntiAffinityFilter: 2 -> 0" in failed[0].record.fault.message


def test_anti_affinity_counts_members_placed_by_earlier_requests() -> None:
    s = scheduler("h1", "h2", "h3")
    first = hosts_of(s.handle(build("a", InstanceGroup("g", "anti-affinity"))))
    second = hosts_of(s.handle(build("b", InstanceGroup("g", "anti-affinity", ["a"]))))
    third = hosts_of(s.handle(build("c", InstanceGroup("g", "anti-affinity", ["a", "b"]))))
    assert len(set(first + second + third)) == 3


def test_affinity_follows_the_first_member_and_ignores_members_without_a_host() -> None:
    s = scheduler("h1", "h2")
    # "ghost" is a member that never got a host (it failed): it must not make every host fail.
    group = InstanceGroup("g", "affinity", ["ghost"])
    placed = hosts_of(s.handle(build("a", group, ["a", "b", "c"])))
    assert len(set(placed)) == 1
    (later,) = hosts_of(s.handle(build("d", replace(group, members=["a", "ghost"]))))
    assert later == placed[0]


@pytest.mark.parametrize(("caller", "owner", "row"), [
    ("alice", "alice", "user:alice"),  # the caller's own
    ("admin", "bob", "user:bob"),  # an admin's for bob (2.10's user_id): bob's count
], ids=["own", "for another user"])
def test_a_key_pair_create_asks_its_users_quota_row_with_the_projects_limit(caller: str, owner: str, row: str) -> None:
    from novalog.api.compute import commands

    ctx = RequestContext(user_id=caller, project_id="demo", roles=("member",), request_id="req-1")
    _, created = tenant_commands.create_keypair(ctx, tenant_commands.KeypairRequest(owner, "k", "ssh", None))
    asked = commands.request_quota_gated(ctx, created.record, {"key_pairs": 3})
    assert (asked.key, asked.record.project_id, asked.record.keypair.user_id) == (row, row, owner)
    assert asked.record.default_limits["key_pairs"] == 3
    # A server group still counts against the caller's project.
    group = tenant_commands.create_server_group(ctx, {"server_group": {"name": "g", "policies": ["affinity"]}})
    assert commands.request_quota_gated(ctx, group.record, {}).key == "demo"
