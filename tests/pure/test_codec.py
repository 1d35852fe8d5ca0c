"""Framed Avro: every record comes back equal; anything else is refused with a DecodeError that says why.

Framing (Schema Registry wire format): byte 0 is 0, bytes 1-4 the schema id
(big-endian, from schemas/manifest.json), then the Avro body.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import struct
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.repository.flat_dict import FlatDictRepository
from fastavro.schema import load_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import (
    NOW,
    build_action_failed,
    build_action_ordered,
    build_action_requested,
    build_build_requested,
    build_capacity_report,
    build_claim,
    build_claim_accepted,
    build_claim_rejected,
    build_claim_released,
    build_delete_ordered,
    build_delete_requested,
    build_deleted,
    build_envelope,
    build_extra_spec_deleted,
    build_extra_specs_set,
    build_fault,
    build_flavor,
    build_flavor_created,
    build_flavor_deleted,
    build_flavor_state,
    build_heartbeat,
    build_host_state,
    build_image_created,
    build_image_deleted,
    build_image_files,
    build_image_state,
    build_image_updated,
    build_image_uploaded,
    build_instance_state,
    build_instance_updated,
    build_keypair_created,
    build_keypair_deleted,
    build_keypair_state,
    build_migration,
    build_move_failed,
    build_move_ordered,
    build_move_progressed,
    build_move_requested,
    build_network_created,
    build_network_deleted,
    build_network_state,
    build_password_changed,
    build_port,
    build_port_allocated,
    build_port_deleted,
    build_port_refused,
    build_port_requested,
    build_power_state_changed,
    build_project_created,
    build_project_state,
    build_proposal,
    build_quota_updated,
    build_rebuild_ordered,
    build_rebuild_requested,
    build_rebuilt,
    build_rescue_ordered,
    build_rescue_requested,
    build_rescued,
    build_role_assigned,
    build_role_unassigned,
    build_scheduling_failed,
    build_security_group_created,
    build_security_group_rule,
    build_security_group_rule_created,
    build_security_group_state,
    build_server_group_created,
    build_server_group_deleted,
    build_server_group_state,
    build_servers_requested,
    build_service_updated,
    build_snapshot_ordered,
    build_snapshot_progressed,
    build_snapshot_requested,
    build_snapshotted,
    build_spawn_failed,
    build_spawn_ordered,
    build_spawned,
    build_spec,
    build_subnet,
    build_subnet_created,
    build_subnet_deleted,
    build_token_revoked,
    build_trace,
    build_usage_released,
    build_user_created,
    build_user_state,
)
from novalog.events.avro_shapes import full_name
from novalog.events.codec import SCHEMAS_DIR, Codec, DecodeError, decode, encode, read_manifest
from novalog.events.records import (
    ActionEvent,
    AllocationPool,
    Claim,
    Envelope,
    FilterCount,
    FixedIp,
    Flavor,
    HostAggregate,
    InstanceAction,
    InstanceGroup,
    PlacementTrace,
    RequestSpec,
    Resources,
    WeighedHost,
)
from novalog.events.state import STATE_TYPES, AggregatesState, HostState, QuotaState
from novalog.events.types import (
    EVENT_TYPES,
    AggregateCreated,
    AggregateDeleted,
    AggregateHostAdded,
    AggregateHostRemoved,
    AggregateMetadataSet,
    AggregateUpdated,
    FlavorAccessAdded,
    FlavorAccessRemoved,
    HostCapacityReported,
    InstanceBuildRequested,
    InstanceConsoleOrdered,
    InstanceConsoleReported,
    InstanceConsoleRequested,
    InstanceDeleted,
    InstanceLocked,
    InstanceMetadataDeleted,
    InstanceMetadataSet,
    InstanceUnlocked,
    KeypairRequested,
    NetworkUpdated,
    PlacementProposed,
    SecurityGroupDeleted,
    SecurityGroupRuleDeleted,
    ServerGroupRequested,
    TenantQuotaReleased,
)

RECORD_TYPES = (*EVENT_TYPES, *STATE_TYPES)
MANIFEST_IDS = {entry.name: entry.id for entry in read_manifest()}
LATER = datetime(2024, 1, 1, 12, 5, 0, 123_000, tzinfo=UTC)

# Nested values with every optional field set, so "set" really means set all the way down.
ENVELOPE = build_envelope(event_type="Example", causation_id="event-0", schema_version=2)
FLAVOR = build_flavor(
    ephemeral=10, swap=1024, rxtx_factor=2.0, is_public=False, description="for tests",
    extra_specs={"hw:cpu_policy": "dedicated", "ünïcödé": "✓"},
)
SPEC = build_spec(
    FLAVOR, availability_zone="nova", scheduler_hints={"group": ["g-1"], "different_host": ["a", "b"]},
    num_attempts=2, retry_hosts=["host-2"], image_properties={"hw_architecture": "x86_64"},
    instance_group=InstanceGroup("group-1", "anti-affinity", ["instance-0"], {"max_server_per_host": "2"}),
    force_hosts=["host-1"], force_nodes=["node-1"], ignore_hosts=["host-3"], num_instances=3,
    migration_id="migration-1", requested_host="host-2", retry_nodes=["node-2"],
)
MIGRATION = build_migration(
    old_flavor=FLAVOR, new_flavor=FLAVOR, status="finished", dest_host="host-2", dest_claim_id="claim-2", was_running=False, vm_state_before="stopped", created_at=LATER,
)
FAULT = build_fault(details="Traceback (most recent call last): ...")
IMAGE_FILES = build_image_files(kernel="/store/kernel-1", ramdisk="/store/ramdisk-1")
TRACE = build_trace(top=[WeighedHost("host-1", 1.5, {"RAMWeigher": 1.0, "CPUWeigher": 0.5})])

FULL_BUILD = build_build_requested(
    envelope=ENVELOPE, flavor=FLAVOR, availability_zone="nova", metadata={"role": "web"},
    scheduler_hints={"group": ["g-1"]}, key_name="key-1", reservation_id="r-1",
    instance_ids=["instance-1", "instance-2"], min_count=2, user_data="I2Nsb3VkLWNvbmZpZw==",
    image_properties={"architecture": "x86_64"}, image_files=IMAGE_FILES,
    instance_group=InstanceGroup("g-1", "anti-affinity", ["instance-0"], {"max_server_per_host": "2"}),
    force_hosts=["host-1"], access_ip_v4="192.0.2.1", access_ip_v6="2001:db8::1",
)

SUBNET = build_subnet(
    name="sub1", gateway_ip="10.20.0.1", allocation_pools=[AllocationPool("10.20.0.10", "10.20.0.20")], enable_dhcp=False,
    dns_nameservers=["192.0.2.53"], description="the first subnet",
)
PORT = build_port(
    fixed_ips=[FixedIp("sub-1", "10.20.0.10")], name="port1", device_id="instance-1", device_owner="compute:nova", admin_state_up=False,
    security_groups=["sg-1"], description="a port", created_at=NOW,
)
RULE = build_security_group_rule(
    ethertype="IPv6", protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="2001:db8::/64", remote_group_id="sg-2",
    description="ssh",
)
NETWORK_EXAMPLES = (
    build_network_created(envelope=ENVELOPE, name="net1", admin_state_up=False, shared=True, mtu=1450, port_security_enabled=False, description="d"),
    NetworkUpdated(envelope=ENVELOPE, network_id="net-1", name="net2", admin_state_up=False, shared=True, mtu=1400, port_security_enabled=False,
                   description="d2"),
    build_network_deleted(envelope=ENVELOPE),
    build_subnet_created(SUBNET, envelope=ENVELOPE),
    build_subnet_deleted(envelope=ENVELOPE),
    build_port_requested(
        envelope=ENVELOPE, fixed_ips=[FixedIp("sub-1", "10.20.0.10")],
        mac_address="fa:16:3e:aa:bb:cc", name="port1", device_id="instance-1", device_owner="compute:nova", admin_state_up=False,
        security_groups=["sg-1"], description="a port",
    ),
    build_port_allocated(envelope=ENVELOPE, device_id="instance-1"),
    build_port_refused(envelope=ENVELOPE, device_id="instance-1"),
    build_port_deleted(envelope=ENVELOPE),
    build_security_group_created(envelope=ENVELOPE, description="web", stateful=False),
    SecurityGroupDeleted(envelope=ENVELOPE, security_group_id="sg-1"),
    build_security_group_rule_created(RULE, envelope=ENVELOPE),
    SecurityGroupRuleDeleted(envelope=ENVELOPE, security_group_id="sg-1", security_group_rule_id="rule-1"),
    build_network_state(
        admin_state_up=False, shared=True, mtu=1450, port_security_enabled=False, description="d", subnets=[SUBNET], ports=[PORT],
        refused={"port-2": ["IpAddressGenerationFailure", "full"]}, released=["port-0"], deleted=True, offset=8,
    ),
    build_security_group_state(description="web", stateful=False, rules=[RULE], deleted=True, offset=9),
)

# One builder-made example per record type, with every field that has a default set to something else.
EXAMPLES: dict[type, Any] = {
    type(ex): ex
    for ex in (
        FULL_BUILD,
        build_delete_requested(envelope=ENVELOPE),
        build_scheduling_failed(envelope=ENVELOPE, fault=FAULT, trace=TRACE),
        build_spawned(envelope=ENVELOPE),
        build_spawn_failed(envelope=ENVELOPE, fault=FAULT),
        build_power_state_changed(envelope=ENVELOPE),
        build_deleted(envelope=ENVELOPE, host="host-1"),
        build_proposal(envelope=ENVELOPE, spec=SPEC, trace=TRACE),
        build_claim_accepted(envelope=ENVELOPE, spec=SPEC),
        build_claim_rejected(envelope=ENVELOPE, spec=SPEC),
        build_claim_released(envelope=ENVELOPE),
        build_capacity_report(
            envelope=ENVELOPE, reserved_vcpus=1, reserved_memory_mb=512, reserved_disk_gb=5,
            running_vms=2, vcpus_in_use=2, memory_mb_in_use=1024, reported_at=LATER,
            supported_instances=[["x86_64", "qemu", "hvm"]], stats={"cpu_arch": "x86_64"}, trust_level="trusted",
            failed_builds=2,
        ),
        build_heartbeat(envelope=ENVELOPE),
        build_flavor_created(envelope=ENVELOPE, flavor=FLAVOR),
        build_flavor_deleted(envelope=ENVELOPE),
        build_spawn_ordered(envelope=ENVELOPE, flavor=FLAVOR, image_files=IMAGE_FILES, build_offset=41),
        build_delete_ordered(envelope=ENVELOPE, claim_id="claim-1"),
        build_action_requested("reboot", envelope=ENVELOPE, reboot_type="HARD"),
        build_action_failed(envelope=ENVELOPE, fault=FAULT),
        build_rebuild_requested(envelope=ENVELOPE, name="vm-2", metadata={"role": "db"}, image_properties={"os_distro": "debian"}, image_files=IMAGE_FILES,
                                access_ip_v4="192.0.2.7", access_ip_v6="2001:db8::7"),
        build_rebuilt(envelope=ENVELOPE),
        build_snapshot_requested(envelope=ENVELOPE, disk_format="raw"),
        build_snapshotted(envelope=ENVELOPE),
        build_snapshot_progressed(envelope=ENVELOPE),
        build_rescue_requested(envelope=ENVELOPE, image_ref="image-9", image_files=IMAGE_FILES),
        build_rescued(envelope=ENVELOPE),
        build_rebuild_ordered(envelope=ENVELOPE, flavor=FLAVOR, power_on=False, image_files=IMAGE_FILES),
        build_snapshot_ordered(envelope=ENVELOPE, disk_format="raw"),
        build_rescue_ordered(envelope=ENVELOPE, flavor=FLAVOR, rescue_image_ref="image-9", rescue_image_files=IMAGE_FILES, image_files=IMAGE_FILES),
        build_service_updated(envelope=ENVELOPE, disabled_reason="maintenance", forced_down=True),
        build_extra_specs_set(envelope=ENVELOPE),
        build_extra_spec_deleted(envelope=ENVELOPE),
        InstanceMetadataSet(envelope=ENVELOPE, instance_id="instance-1", project_id="project-1", user_id="user-1",
                            metadata={"role": "db"}, replace=True),
        InstanceMetadataDeleted(envelope=ENVELOPE, instance_id="instance-1", project_id="project-1", user_id="user-1", key="role"),
        InstanceLocked(envelope=ENVELOPE, instance_id="instance-1", project_id="project-1", user_id="user-1", locked_by="admin",
                       reason="maintenance"),
        InstanceUnlocked(envelope=ENVELOPE, instance_id="instance-1", project_id="project-1", user_id="user-1"),
        InstanceConsoleRequested(envelope=ENVELOPE, instance_id="instance-1", project_id="project-1", user_id="user-1", length=10),
        InstanceConsoleReported(envelope=ENVELOPE, instance_id="instance-1", ask_id="ask-1", host="host-1", output="login:",
                                error="no console"),
        InstanceConsoleOrdered(envelope=ENVELOPE, instance_id="instance-1", ask_id="ask-1", length=10),
        AggregateCreated(envelope=ENVELOPE, aggregate_uuid="u-1", name="fast", availability_zone="az1"),
        AggregateUpdated(envelope=ENVELOPE, aggregate_uuid="u-1", name="faster", availability_zone="az2"),
        AggregateDeleted(envelope=ENVELOPE, aggregate_uuid="u-1"),
        AggregateHostAdded(envelope=ENVELOPE, aggregate_uuid="u-1", host="host-1"),
        AggregateHostRemoved(envelope=ENVELOPE, aggregate_uuid="u-1", host="host-1"),
        AggregateMetadataSet(envelope=ENVELOPE, aggregate_uuid="u-1", metadata={"ssd": "true", "old": None}),
        AggregatesState(
            aggregates=[HostAggregate(1, "u-1", "fast", NOW, ["host-1"], {"availability_zone": "az1"}, LATER)],
            next_id=2, refusals={"event-9": "Aggregate fast already exists."}, offset=5,
        ),
        build_servers_requested(2, envelope=ENVELOPE, default_limits={"instances": 5}, builds=[FULL_BUILD]),
        build_quota_updated(envelope=ENVELOPE, reset=True),
        build_usage_released(envelope=ENVELOPE, vcpus=2, ram=1024, server_group="g-1"),
        QuotaState("project-1", limits={"instances": 5}, instances={"instance-1": [1, 512]}, decisions={"r-1": ""},
                   accepted={"r-1": ["instance-1"]}, offset=3, groups={"instance-1": "g-1"}, tenant={"keypair:u:k": "key_pairs"},
                   used={"instances": 2, "cores": 3, "ram": 1536}, group_members={"g-1": 1}, released=["instance-0"]),
        build_action_ordered("reboot", envelope=ENVELOPE, reboot_type="SOFT"),
        build_keypair_created(envelope=ENVELOPE, key_type="x509", quota_project="project-1"),
        build_keypair_deleted(envelope=ENVELOPE),
        build_server_group_created(envelope=ENVELOPE, rules={"max_server_per_host": "2"}, counted=True),
        build_server_group_deleted(envelope=ENVELOPE),
        build_keypair_state(key_type="x509", deleted=True, deleted_at=LATER, offset=5, quota_project="project-1"),
        KeypairRequested(envelope=ENVELOPE, project_id="project-1", keypair=build_keypair_created(envelope=ENVELOPE, key_type="x509", quota_project="p"),
                         default_limits={"key_pairs": 3}),
        ServerGroupRequested(envelope=ENVELOPE, project_id="project-1", default_limits={"server_groups": 3},
                             group=build_server_group_created(envelope=ENVELOPE, rules={"max_server_per_host": "2"}, counted=True)),
        TenantQuotaReleased(envelope=ENVELOPE, project_id="project-1", key="keypair:user-1:key-1"),
        build_server_group_state(rules={"max_server_per_host": "2"}, deleted=True, offset=6, counted=True),
        build_move_requested(envelope=ENVELOPE, spec=SPEC),
        build_move_progressed("finish", "host-2", envelope=ENVELOPE),
        build_move_failed("finish", "host-2", envelope=ENVELOPE, fault=FAULT),
        build_instance_updated(envelope=ENVELOPE, name="vm-2", access_ip_v4="192.0.2.2", access_ip_v6="::2"),
        build_move_ordered(envelope=ENVELOPE, flavor=FLAVOR, power_on=False, image_files=IMAGE_FILES, build_offset=41),
        build_image_created(
            envelope=ENVELOPE, disk_format="raw", container_format="ova", min_disk=1, min_ram=64, protected=True,
            properties={"architecture": "x86_64", "kernel_id": "image-2"}, tags=["tiny"],
        ),
        build_image_uploaded(envelope=ENVELOPE),
        build_image_updated(envelope=ENVELOPE, disk_format="raw", container_format="ova", min_disk=1, min_ram=64, protected=True,
                            properties={"hypervisor_type": "qemu"}, tags=["tiny"]),
        build_image_deleted(envelope=ENVELOPE),
        build_image_state(
            status="active", disk_format="raw", container_format="ova", min_disk=1, min_ram=64, protected=True,
            properties={"architecture": "x86_64"}, tags=["tiny"], size=3, checksum="900150983cd24fb0d6963f7d28e17f72",
            os_hash_algo="sha512", os_hash_value="ddaf35a193617aba", location="/store/image-1", offset=9,
        ),
        build_host_state(
            cpu_info='{"model": "Haswell"}', cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5,
            disk_allocation_ratio=2.0, reserved_vcpus=1, reserved_memory_mb=512, reserved_disk_gb=5,
            claims=[build_claim("claim-1", flavor_id="f-1", project_id="p-1"), build_claim("claim-2", vcpus=2, flavor_id="f-2", project_id="p-2")], rejected={"claim-3": "memory_mb: requested 512, room 0"},
            released=["claim-0"], running_vms=2, vcpus_in_use=3, memory_mb_in_use=1024,
            heartbeat_interval_s=10.0, disabled=True, disabled_reason="maintenance",
            supported_instances=[["x86_64", "qemu", "hvm"]], stats={"cpu_arch": "x86_64"}, trust_level="trusted",
            failed_builds=1, forced_down=True,
        ),
        build_instance_state(
            flavor=FLAVOR, vm_state="active", task_state="deleting", power_state=1, availability_zone="nova",
            metadata={"role": "web"}, key_name="key-1", host="host-1", hypervisor_hostname="host-1",
            domain_name="novalog-instance-1", claim_id="claim-1", attempts=2, fault=FAULT, launched_at=NOW,
            terminated_at=LATER, request_id="req-2", offset=42, migration=MIGRATION,
            reservation_id="r-1", launch_index=1, user_data="I2Nsb3VkLWNvbmZpZw==", locked=True,
            image_properties={"architecture": "x86_64"}, image_files=IMAGE_FILES,
            server_group="g-1", quota_counted=[2, 1024], access_ip_v4="192.0.2.1", access_ip_v6="2001:db8::1", build_offset=7,
            locked_by="admin", locked_reason="maintenance",
            console_answers={"ask-1": "login:", "ask-2": ""}, console_errors={"ask-2": "no console"},
            actions=[InstanceAction("stop", "req-2", "user-1", "project-1", NOW, "stopped badly",
                                    [ActionEvent("compute_stop_instance", NOW, LATER, "Error", "Traceback ...")])],
        ),
        build_flavor_state(FLAVOR, deleted=True, offset=7, projects=["project-2"]),
        FlavorAccessAdded(envelope=ENVELOPE, flavor_id="flavor-1", project_id="project-2"),
        FlavorAccessRemoved(envelope=ENVELOPE, flavor_id="flavor-1", project_id="project-2"),
        build_project_created(envelope=ENVELOPE, description="the demo project"),
        build_user_created(envelope=ENVELOPE, default_project_id="p-demo"),
        build_password_changed(envelope=ENVELOPE),
        build_role_assigned("admin", envelope=ENVELOPE),
        build_role_unassigned("admin", envelope=ENVELOPE),
        build_token_revoked(envelope=ENVELOPE),
        build_project_state(description="the demo project", offset=3),
        build_user_state(default_project_id="p-demo", password_changed_at=LATER, roles={"p-demo": ["member"]}, offset=4, revoked={"audit-1": 1700000000000}),
        *NETWORK_EXAMPLES,
    )
}


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def with_defaults(value: Any) -> Any:
    """The same record with every defaulted field, at every depth, left unset."""
    if dataclasses.is_dataclass(value):
        changes = {
            f.name: _default(f) if _has_default(f) else with_defaults(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
        return replace(value, **changes)
    if isinstance(value, list):
        return [with_defaults(item) for item in value]
    return value


def fields_left_at_default(value: Any, path: str) -> list[str]:
    """Where a record (at any depth) still holds a default value."""
    found: list[str] = []
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            inner = getattr(value, f.name)
            if _has_default(f) and inner == _default(f):
                found.append(f"{path}.{f.name}")
            found += fields_left_at_default(inner, f"{path}.{f.name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += fields_left_at_default(item, f"{path}[{i}]")
    return found


def test_there_is_an_example_for_every_record_type() -> None:
    assert sorted(cls.__name__ for cls in EXAMPLES) == sorted(cls.__name__ for cls in RECORD_TYPES)


@pytest.mark.parametrize("example", EXAMPLES.values(), ids=lambda ex: type(ex).__name__)
def test_the_set_example_sets_every_optional_field(example) -> None:
    assert fields_left_at_default(example, type(example).__name__) == []


ROUND_TRIPS = [
    pytest.param(example, id=f"{cls.__name__}-set") for cls, example in EXAMPLES.items()
] + [
    pytest.param(with_defaults(example), id=f"{cls.__name__}-unset") for cls, example in EXAMPLES.items()
]


@pytest.mark.parametrize("record", ROUND_TRIPS)
def test_a_record_round_trips(record) -> None:
    assert decode(encode(record)) == record


@pytest.mark.parametrize("record", EXAMPLES.values(), ids=lambda ex: type(ex).__name__)
def test_the_frame_is_a_zero_byte_and_the_manifest_id_big_endian(record) -> None:
    data = encode(record)

    # e.g. InstanceBuildRequested, id 1: 00 | 00 00 00 01 | body
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == MANIFEST_IDS[full_name(type(record))]
    assert data[5:] != b""


# --- generated values ---

texts = st.text()
longs = st.integers(-(2**63), 2**63 - 1)
doubles = st.floats(allow_nan=False)  # NaN != NaN; infinities are fine in Avro
# timestamp-millis: aware UTC, whole milliseconds, over datetime's whole range
millis = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
string_maps = st.dictionaries(texts, texts, max_size=3)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


envelopes = st.builds(
    Envelope, event_id=texts, event_type=texts, occurred_at=millis, producer=texts,
    request_id=optional(texts), causation_id=optional(texts), schema_version=longs,
)
flavors = st.builds(
    Flavor, id=texts, name=texts, vcpus=longs, ram=longs, disk=longs, ephemeral=longs, swap=longs,
    rxtx_factor=doubles, is_public=st.booleans(), description=optional(texts), extra_specs=string_maps,
)
resources = st.builds(Resources, vcpus=longs, memory_mb=longs, disk_gb=longs)
specs = st.builds(
    RequestSpec, instance_id=texts, project_id=texts, user_id=texts, flavor=flavors, image_ref=texts,
    availability_zone=optional(texts), scheduler_hints=st.dictionaries(texts, st.lists(texts, max_size=3), max_size=3),
    num_attempts=longs, retry_hosts=st.lists(texts, max_size=3), retry_nodes=st.lists(texts, max_size=3),
)
traces = st.builds(
    PlacementTrace,
    hosts_before=longs,
    filters=st.lists(st.builds(FilterCount, name=texts, hosts_after=longs), max_size=3),
    top=st.lists(st.builds(WeighedHost, host=texts, weight=doubles, parts=st.dictionaries(texts, doubles, max_size=3)), max_size=3),
)
claims = st.builds(Claim, claim_id=texts, instance_id=texts, vcpus=longs, memory_mb=longs, disk_gb=longs)

GENERATED = {
    "InstanceBuildRequested": st.builds(
        InstanceBuildRequested, envelope=envelopes, instance_id=texts, name=texts, project_id=texts, user_id=texts,
        flavor=flavors, image_ref=texts, availability_zone=optional(texts), metadata=string_maps,
        scheduler_hints=st.dictionaries(texts, st.lists(texts, max_size=3), max_size=3), key_name=optional(texts),
    ),
    "PlacementProposed": st.builds(
        PlacementProposed, envelope=envelopes, claim_id=texts, instance_id=texts, host=texts, scheduler=texts,
        resources=resources, spec=specs, trace=optional(traces),
    ),
    "HostCapacityReported": st.builds(
        HostCapacityReported, envelope=envelopes, host=texts, hypervisor_type=texts, hypervisor_version=longs,
        hypervisor_hostname=texts, cpu_info=texts, vcpus=longs, memory_mb=longs, disk_gb=longs,
        cpu_allocation_ratio=doubles, ram_allocation_ratio=doubles, disk_allocation_ratio=doubles,
        reserved_vcpus=longs, reserved_memory_mb=longs, reserved_disk_gb=longs, running_vms=longs,
        vcpus_in_use=longs, memory_mb_in_use=longs, reported_at=optional(millis),
    ),
    "HostState": st.builds(
        HostState, host=texts, hypervisor_type=texts, hypervisor_version=longs, hypervisor_hostname=texts,
        cpu_info=texts, vcpus=longs, memory_mb=longs, disk_gb=longs, cpu_allocation_ratio=doubles,
        ram_allocation_ratio=doubles, disk_allocation_ratio=doubles, reserved_vcpus=longs,
        reserved_memory_mb=longs, reserved_disk_gb=longs, claims=st.lists(claims, max_size=3),
        rejected=st.dictionaries(texts, texts, max_size=3), released=st.lists(texts, max_size=3), running_vms=longs,
        vcpus_in_use=longs, memory_mb_in_use=longs, capacity_reported_at=optional(millis),
        last_heartbeat_at=optional(millis), heartbeat_interval_s=doubles, disabled=st.booleans(),
        disabled_reason=optional(texts),
    ),
}


@pytest.mark.parametrize("name", GENERATED)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_generated_records_round_trip(name, data) -> None:
    record = data.draw(GENERATED[name])

    assert decode(encode(record)) == record


# --- garbage ---

FLAVOR_DELETED = encode(build_flavor_deleted())  # id 15, body: envelope, "flavor-1"


def framed(magic: int, schema_id: int, body: bytes = b"") -> bytes:
    return struct.pack(">bI", magic, schema_id) + body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(None, "shorter than the 5-byte header", id="none"),
        pytest.param(b"", "shorter than the 5-byte header", id="empty"),
        pytest.param(b"\x00\x00\x00\x0f", "shorter than the 5-byte header", id="4-byte-header"),
        pytest.param(framed(1, 15, FLAVOR_DELETED[5:]), "not a novalog record: magic byte 1, schema id 15", id="magic-1"),
        pytest.param(b"{" + FLAVOR_DELETED[1:], "not a novalog record: magic byte 123, schema id 15", id="json-brace-magic"),
        pytest.param(framed(0, 999, FLAVOR_DELETED[5:]), "not a novalog record: magic byte 0, schema id 999", id="unknown-id-999"),
        pytest.param(framed(0, 0, FLAVOR_DELETED[5:]), "not a novalog record: magic byte 0, schema id 0", id="unknown-id-0"),
        pytest.param(FLAVOR_DELETED + b"\x00", "novalog.catalog.FlavorDeleted (schema id 15): 1 trailing bytes", id="trailing-1"),
        pytest.param(FLAVOR_DELETED + b"zzz", "novalog.catalog.FlavorDeleted (schema id 15): 3 trailing bytes", id="trailing-3"),
    ],
)
def test_garbage_is_refused_with_the_reason(data, message) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(data)

    assert str(refused.value) == message


HOST_ROW = encode(EXAMPLES[HostState])  # id 18


@pytest.mark.parametrize(
    ("data", "prefix"),
    [
        pytest.param(FLAVOR_DELETED[:-1], "novalog.catalog.FlavorDeleted (schema id 15): EOFError: ", id="last-byte-cut"),
        pytest.param(FLAVOR_DELETED[:-4], "novalog.catalog.FlavorDeleted (schema id 15): EOFError: ", id="four-bytes-cut"),
        pytest.param(FLAVOR_DELETED[:5], "novalog.catalog.FlavorDeleted (schema id 15): EOFError: ", id="header-only"),
        pytest.param(HOST_ROW[:-3], "novalog.state.HostState (schema id 18): EOFError: ", id="row-cut"),
    ],
)
def test_a_truncated_body_is_refused_naming_the_record_and_the_end_of_input(data, prefix) -> None:
    with pytest.raises(DecodeError, match=f"^{re.escape(prefix)}"):
        decode(data)


def _decodes_or_refuses(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError:
        pass  # anything else escapes and fails the test


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_decode_error(data) -> None:
    _decodes_or_refuses(data)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(MANIFEST_IDS.values())), st.binary(max_size=300))
def test_random_bodies_behind_a_valid_header_never_raise_anything_but_decode_error(schema_id, body) -> None:
    _decodes_or_refuses(framed(0, schema_id, body))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(EXAMPLES.values())), st.data())
def test_any_cut_of_a_valid_record_is_refused(record, data) -> None:
    encoded = encode(record)
    cut = data.draw(st.integers(0, len(encoded) - 1))

    with pytest.raises(DecodeError):
        decode(encoded[:cut])


# --- older writer schemas ---


def test_a_record_written_with_an_older_schema_version_still_decodes(tmp_path: Path) -> None:
    """Version 1 of InstanceDeleted lacked `host`: its records decode with host=None (the default).

    Old versions live at schemas/history/<full name>.v<N>.avsc (the manifest's
    rule); they reference the shared records (Envelope) in schemas/.
    """
    shutil.copytree(SCHEMAS_DIR, tmp_path, dirs_exist_ok=True)
    name = "novalog.instance.InstanceDeleted"
    v1 = json.loads((SCHEMAS_DIR / f"{name}.avsc").read_text())
    v1["fields"] = [f for f in v1["fields"] if f["name"] != "host"]
    (tmp_path / "history").mkdir(exist_ok=True)
    (tmp_path / "history" / f"{name}.v1.avsc").write_text(json.dumps(v1))
    manifest = json.loads((SCHEMAS_DIR / "manifest.json").read_text())
    next_id = max(entry["id"] for entry in manifest["schemas"]) + 1
    for entry in manifest["schemas"]:
        if entry["name"] == name:  # id 7 becomes the history file; version 2 is appended with the next id
            entry["file"] = f"history/{name}.v1.avsc"
            current = dict(entry, id=next_id, version=2, file=f"{name}.avsc")
    manifest["schemas"].append(current)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    writer_v1 = load_schema(f"history/{name}.v1", repo=FlatDictRepository(str(tmp_path)))
    old = build_deleted(host="host-1")
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer_v1, {"envelope": dataclasses.asdict(old.envelope), "instance_id": old.instance_id})

    codec = Codec(tmp_path)

    assert codec.decode(framed(0, 7, buf.getvalue())) == InstanceDeleted(envelope=old.envelope, instance_id="instance-1", host=None)
    assert codec.encode(old)[1:5] == next_id.to_bytes(4, "big")
