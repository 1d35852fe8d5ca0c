"""The network table: one writer per network decides fixed IPs in log order, as the host-state table decides claims.

Tables of single decisions (the arithmetic in the comments), then a property:
several writers' port requests and deletes in any interleaving never give an
address twice, lose none, refuse exhaustion cleanly and replay the same.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import (
    NOW,
    build_network_created,
    build_network_deleted,
    build_port_allocated,
    build_port_deleted,
    build_port_refused,
    build_port_requested,
    build_security_group_created,
    build_security_group_rule,
    build_security_group_rule_created,
    build_subnet,
    build_subnet_created,
    build_subnet_deleted,
)
from novalog.events.network import network_key
from novalog.events.outbound import Outbound
from novalog.events.records import AllocationPool, FixedIp
from novalog.events.state import NetworkState, SecurityGroupState
from novalog.events.types import (
    NetworkUpdated,
    PortAllocated,
    PortAllocationRefused,
    PortDeleted,
    PortRequested,
    SecurityGroupDeleted,
    SecurityGroupRuleDeleted,
)
from novalog.projections.addresses import MAC_PREFIX, mac_for
from novalog.projections.networks import handle
from novalog.projections.registry import BY_TABLE


def fold(events: list[Any], rows: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Outbound]]:
    """Every row after the events, each event folded under its network's (or group's) key, at its log offset."""
    rows = dict(rows or {})
    outs: list[Outbound] = []
    for offset, event in enumerate(events):
        key = getattr(event, "network_id", None) or getattr(event, "security_group_id")
        row, out = handle(rows.get(key), event, offset)
        if row is not None:
            rows[key] = row
        outs += out
    return rows, outs


def network_with(*subnets: Any) -> list[Any]:
    return [build_network_created(), *(build_subnet_created(s) for s in subnets)]


def decisions(outs: list[Outbound]) -> list[tuple[str, str]]:
    """Each decision as (port, what): its addresses joined, or its fault type."""
    found = []
    for out in outs:
        match out.record:
            case PortAllocated():
                found.append((out.record.port_id, ",".join(str(ip.ip_address) for ip in out.record.fixed_ips)))
            case PortAllocationRefused():
                found.append((out.record.port_id, out.record.error_type))
    return found


def requests(n: int, **fields: Any) -> list[PortRequested]:
    return [build_port_requested(f"port-{i}", **fields) for i in range(1, n + 1)]


GATEWAYED = build_subnet(gateway_ip="10.20.0.1")
POOLED = build_subnet(cidr="10.20.0.0/24", gateway_ip="10.20.0.1", allocation_pools=[AllocationPool("10.20.0.10", "10.20.0.12")])
# 10.20.0.0/29: 0 is the network, 7 the broadcast, 1 the gateway: 2..6 are five addresses.
SMALL = build_subnet(cidr="10.20.0.0/29", gateway_ip="10.20.0.1")


# --- single decisions ---


@pytest.mark.parametrize(
    ("subnet", "count", "expected"),
    [
        # gateway .1, network .0: the lowest free are .2 then .3
        (GATEWAYED, 2, [("port-1", "10.20.0.2"), ("port-2", "10.20.0.3")]),
        # the pool is .10-.12: three addresses, the fourth request is refused
        (POOLED, 4, [("port-1", "10.20.0.10"), ("port-2", "10.20.0.11"), ("port-3", "10.20.0.12"), ("port-4", "IpAddressGenerationFailure")]),
        # /29 with gateway .1: .2 .. .6, then exhaustion (never .7, the broadcast)
        (SMALL, 6, [*((f"port-{i}", f"10.20.0.{i + 1}") for i in range(1, 6)), ("port-6", "IpAddressGenerationFailure")]),
        # no gateway: .1 is given too
        (build_subnet(cidr="10.20.0.0/30"), 3, [("port-1", "10.20.0.1"), ("port-2", "10.20.0.2"), ("port-3", "IpAddressGenerationFailure")]),
        # IPv6 with the gateway at ::1: ::0 (subnet-router anycast) and ::1 are skipped
        (build_subnet(cidr="2001:db8::/64", gateway_ip="2001:db8::1"), 2, [("port-1", "2001:db8::2"), ("port-2", "2001:db8::3")]),
    ],
    ids=["lowest-free-skips-gateway", "pools-then-exhausted", "slash-29", "no-gateway", "ipv6"],
)
def test_a_request_gets_the_lowest_free_address_of_the_pools(subnet, count, expected) -> None:
    _, outs = fold([*network_with(subnet), *requests(count)])

    assert decisions(outs) == expected


def test_exhaustion_is_a_refusal_with_a_reason_and_the_row_remembers_it() -> None:
    rows, outs = fold([*network_with(POOLED), *requests(4)])

    refused = outs[-1].record
    assert isinstance(refused, PortAllocationRefused)
    assert (refused.error_type, refused.reason) == ("IpAddressGenerationFailure", "No free IPv4 address is left on network net-1.")
    assert rows["net-1"].refused == {"port-4": ["IpAddressGenerationFailure", refused.reason]}
    assert [p.port_id for p in rows["net-1"].ports] == ["port-1", "port-2", "port-3"]


def test_a_deleted_port_gives_its_address_back_to_the_next_request() -> None:
    # .10 .11 .12 taken; port-2 (.11) deleted; port-4 gets .11, port-5 is refused
    events = [*network_with(POOLED), *requests(3), build_port_deleted("port-2"), build_port_requested("port-4"), build_port_requested("port-5")]

    rows, outs = fold(events)

    assert decisions(outs)[3:] == [("port-4", "10.20.0.11"), ("port-5", "IpAddressGenerationFailure")]
    assert {p.port_id: p.fixed_ips[0].ip_address for p in rows["net-1"].ports} == {"port-1": "10.20.0.10", "port-3": "10.20.0.12", "port-4": "10.20.0.11"}


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ([FixedIp(ip_address="10.20.0.50")], "10.20.0.50"),
        ([FixedIp("sub-1", "10.20.0.200")], "10.20.0.200"),  # outside the pool but in the subnet: honoured
        ([FixedIp(subnet_id="sub-1")], "10.20.0.11"),  # .10 is port-1's
        ([FixedIp(ip_address="10.20.0.10")], "IpAddressAlreadyAllocated"),  # port-1's
        ([FixedIp(ip_address="10.20.0.1")], "IpAddressAlreadyAllocated"),  # the gateway
        ([FixedIp(ip_address="10.20.0.255")], "InvalidIpForSubnet"),  # the broadcast address
        ([FixedIp("sub-1", "10.30.0.5")], "InvalidIpForSubnet"),
        ([FixedIp(ip_address="10.30.0.5")], "InvalidIpForNetwork"),
        ([FixedIp(subnet_id="sub-9")], "InvalidInput"),
        ([FixedIp(ip_address="not-an-ip")], "InvalidInput"),
        ([FixedIp()], "InvalidInput"),
        # two entries never get one address
        ([FixedIp(ip_address="10.20.0.50"), FixedIp(ip_address="10.20.0.50")], "IpAddressAlreadyAllocated"),
        ([FixedIp(ip_address="10.20.0.11"), FixedIp(subnet_id="sub-1")], "10.20.0.11,10.20.0.12"),
    ],
    ids=["address", "address-outside-pool", "subnet", "taken", "gateway", "broadcast", "not-in-subnet", "not-in-network", "unknown-subnet",
         "garbage", "empty", "twice", "address-then-subnet"],
)
def test_a_requested_fixed_ip_is_honoured_if_free_and_in_its_subnet(wanted, expected) -> None:
    events = [*network_with(POOLED), build_port_requested("port-1"), build_port_requested("port-2", fixed_ips=wanted)]

    _, outs = fold(events)

    assert decisions(outs)[1] == ("port-2", expected)


def test_a_dual_stack_network_gives_one_address_of_each_version() -> None:
    v4 = build_subnet("sub-4", cidr="10.20.0.0/24", gateway_ip="10.20.0.1")
    v6 = build_subnet("sub-6", cidr="2001:db8::/64", gateway_ip="2001:db8::1")

    rows, _ = fold([*network_with(v4, v6), build_port_requested("port-1")])

    assert rows["net-1"].ports[0].fixed_ips == [FixedIp("sub-4", "10.20.0.2"), FixedIp("sub-6", "2001:db8::2")]


def test_a_full_subnet_is_passed_over_for_the_next_one_of_its_version() -> None:
    tiny = build_subnet("sub-a", cidr="10.20.0.0/30", gateway_ip="10.20.0.1")  # only .2
    second = build_subnet("sub-b", cidr="10.21.0.0/24", gateway_ip="10.21.0.1")

    _, outs = fold([*network_with(tiny, second), *requests(2)])

    assert decisions(outs) == [("port-1", "10.20.0.2"), ("port-2", "10.21.0.2")]


def test_a_network_without_subnets_gives_a_port_no_address() -> None:
    rows, outs = fold([build_network_created(), build_port_requested()])

    assert decisions(outs) == [("port-1", "")]
    assert rows["net-1"].ports[0].fixed_ips == []


def test_macs_are_derived_from_the_port_id_under_the_openstack_prefix_and_differ() -> None:
    rows, _ = fold([*network_with(GATEWAYED), *requests(3)])
    macs = [p.mac_address for p in rows["net-1"].ports]

    assert all(m.startswith(MAC_PREFIX + ":") and len(m) == 17 for m in macs)
    assert len(set(macs)) == 3
    assert macs == [mac_for(f"port-{i}", set()) for i in (1, 2, 3)]  # the same in any replay


def test_a_mac_in_use_is_rehashed_for_a_derived_one_and_refused_for_a_requested_one() -> None:
    taken = mac_for("port-2", set())
    first = build_port_requested("port-1", mac_address=taken.upper())
    rows, outs = fold([*network_with(GATEWAYED), first, build_port_requested("port-2"), build_port_requested("port-3", mac_address=taken)])

    assert [p.mac_address for p in rows["net-1"].ports] == [taken, mac_for("port-2", {taken})]
    assert mac_for("port-2", {taken}) != taken
    assert decisions(outs)[2] == ("port-3", "MacAddressInUse")


def test_the_decision_travels_keyed_by_its_network_with_an_id_derived_from_the_request() -> None:
    request = build_port_requested(device_id="instance-1")
    _, outs = fold([*network_with(GATEWAYED), request])

    (out,) = outs
    assert (out.key, out.topic) == (network_key("net-1"), "network.events")
    assert out.record == PortAllocated(
        envelope=request.envelope.caused(PortAllocated, "novalog-projections", occurred_at=request.envelope.occurred_at),
        port_id="port-1", network_id="net-1", project_id="p-1", mac_address=mac_for("port-1", set()),
        fixed_ips=[FixedIp("sub-1", "10.20.0.2")], device_id="instance-1",
    )


def test_a_redelivered_request_gets_the_same_answer_and_changes_nothing() -> None:
    rows, outs = fold([*network_with(POOLED), *requests(4)])

    again, outs_again = fold([build_port_requested("port-2"), build_port_requested("port-4")], rows)

    assert [o.record for o in outs_again] == [outs[1].record, outs[3].record]
    assert [p.fixed_ips for p in again["net-1"].ports] == [p.fixed_ips for p in rows["net-1"].ports]


def test_a_request_redelivered_after_its_port_was_deleted_gets_nothing() -> None:
    rows, _ = fold([*network_with(POOLED), *requests(1), build_port_deleted("port-1")])

    again, outs = fold([build_port_requested("port-1")], rows)

    assert (outs, again["net-1"].ports, again["net-1"].released) == ([], [], ["port-1"])


def test_reading_back_the_writers_own_decisions_changes_nothing() -> None:
    rows, _ = fold([*network_with(GATEWAYED), *requests(1)])
    stranger = build_port_allocated("port-9", fixed_ips=[FixedIp("sub-1", "10.20.0.99")])

    again, outs = fold([build_port_allocated("port-1"), build_port_refused("port-2"), stranger], rows)

    assert (again["net-1"].ports, again["net-1"].refused, outs) == (rows["net-1"].ports, {}, [])


def test_a_request_on_an_unknown_or_deleted_network_is_refused_as_not_found() -> None:
    _, unknown = fold([build_port_requested(network_id="net-9")])
    rows, deleted = fold([*network_with(GATEWAYED), build_port_requested("port-1"), build_network_deleted(), build_port_requested("port-2")])

    assert decisions(unknown) == [("port-1", "NetworkNotFound")]
    assert decisions(deleted)[1] == ("port-2", "NetworkNotFound")
    assert (rows["net-1"].deleted, rows["net-1"].ports, rows["net-1"].subnets, rows["net-1"].released) == (True, [], [], ["port-1"])


def test_a_deleted_subnet_takes_its_addresses_off_the_ports() -> None:
    v4 = build_subnet("sub-4", cidr="10.20.0.0/24", gateway_ip="10.20.0.1")
    v6 = build_subnet("sub-6", cidr="2001:db8::/64")

    rows, _ = fold([*network_with(v4, v6), build_port_requested(), build_subnet_deleted("sub-4")])

    assert [s.subnet_id for s in rows["net-1"].subnets] == ["sub-6"]
    assert rows["net-1"].ports[0].fixed_ips == [FixedIp("sub-6", "2001:db8::1")]


def test_the_port_row_keeps_what_was_asked() -> None:
    request = build_port_requested(name="p", device_id="instance-1", device_owner="compute:nova", admin_state_up=False, security_groups=["sg-1"], description="d")

    rows, _ = fold([*network_with(GATEWAYED), request])

    (port,) = rows["net-1"].ports
    assert (port.name, port.device_id, port.device_owner, port.admin_state_up, port.security_groups, port.description, port.created_at) == (
        "p", "instance-1", "compute:nova", False, ["sg-1"], "d", NOW,
    )


def test_a_network_update_changes_only_the_fields_it_names_and_ids_are_never_reused() -> None:
    update = NetworkUpdated(envelope=build_network_created().envelope, network_id="net-1", name="renamed", mtu=1400)

    rows, _ = fold([build_network_created(description="kept"), update, build_network_created(name="second-create")])

    net: NetworkState = rows["net-1"]
    assert (net.name, net.mtu, net.description, net.admin_state_up, net.offset) == ("renamed", 1400, "kept", True, 2)


def test_security_group_rules_are_added_once_and_deleted_and_go_with_their_group() -> None:
    ssh = build_security_group_rule("rule-ssh", protocol="tcp", port_range_min=22, port_range_max=22)
    icmp = build_security_group_rule("rule-icmp", protocol="icmp")
    created = build_security_group_created()
    events = [created, build_security_group_rule_created(ssh), build_security_group_rule_created(ssh), build_security_group_rule_created(icmp)]

    rows, outs = fold(events)
    after_delete, _ = fold([SecurityGroupRuleDeleted(envelope=created.envelope, security_group_id="sg-1", security_group_rule_id="rule-ssh")], rows)
    gone, _ = fold([SecurityGroupDeleted(envelope=created.envelope, security_group_id="sg-1"), build_security_group_rule_created(ssh)], after_delete)

    group: SecurityGroupState = rows["sg-1"]
    assert ([r.security_group_rule_id for r in group.rules], outs) == (["rule-ssh", "rule-icmp"], [])
    assert [r.security_group_rule_id for r in after_delete["sg-1"].rules] == ["rule-icmp"]
    assert (gone["sg-1"].deleted, gone["sg-1"].rules) == (True, [])


def test_the_table_is_declared_on_network_events() -> None:
    projection = BY_TABLE["networks"]

    assert (projection.sources, projection.state_topic) == (("network.events",), "state.networks")
    assert PortRequested in projection.accepts and SecurityGroupDeleted in projection.accepts


# --- several writers racing for one network ---

# 10.20.0.0/28 with gateway .1 and pool .2-.9: eight addresses for up to twelve ports.
RACE_SUBNET = build_subnet(cidr="10.20.0.0/28", gateway_ip="10.20.0.1", allocation_pools=[AllocationPool("10.20.0.2", "10.20.0.9")])
POOL = {ipaddress.ip_address(f"10.20.0.{i}") for i in range(2, 10)}
PINNABLE = {ipaddress.ip_address(f"10.20.0.{i}") for i in range(2, 13)}  # the pool, and .10-.12 outside it that a request may name
UNUSABLE = {ipaddress.ip_address(f"10.20.0.{i}") for i in (0, 1, 15)}  # network, gateway, broadcast
WRITERS = ("api-1", "api-2", "api-3")


@st.composite
def races(draw: st.DrawFn) -> list[Any]:
    """Each writer's own requests and deletes, in its order, merged in any interleaving (as the partition would)."""
    queues: list[list[Any]] = []
    for writer in WRITERS:
        queue: list[Any] = []
        for i in range(draw(st.integers(0, 6))):
            port_id = f"{writer}-port-{i}"
            pinned = draw(st.one_of(st.none(), st.integers(2, 12)))
            wanted = [] if pinned is None else [FixedIp(ip_address=f"10.20.0.{pinned}")]
            queue.append(build_port_requested(port_id, fixed_ips=wanted))
            if draw(st.booleans()):
                queue.append(build_port_requested(port_id, fixed_ips=wanted))  # redelivered
            if draw(st.integers(0, 2)) == 0:
                queue.append(build_port_deleted(port_id))
        queues.append(queue)
    merged: list[Any] = []
    while any(queues):
        queue = draw(st.sampled_from([q for q in queues if q]))
        merged.append(queue.pop(0))
    return [*network_with(RACE_SUBNET), *merged]


def held(row: NetworkState) -> list[Any]:
    return [ipaddress.ip_address(ip.ip_address) for p in row.ports for ip in p.fixed_ips]


@settings(max_examples=300, deadline=None)
@given(races())
def test_no_address_is_given_twice_none_is_lost_and_exhaustion_is_refused_by_any_interleaving(events) -> None:
    rows: dict[str, Any] = {}
    for offset, event in enumerate(events):
        before = rows.get("net-1")
        row, outs = handle(before, event, offset)
        rows["net-1"] = row
        addresses = held(row)
        # no address twice, none outside the pool unless a request named it, never the gateway
        assert len(addresses) == len(set(addresses))
        assert set(addresses) <= PINNABLE
        if isinstance(event, PortDeleted):
            # none lost: what the port held is free again
            gone = [ipaddress.ip_address(ip.ip_address) for p in before.ports if p.port_id == event.port_id for ip in p.fixed_ips]
            assert set(gone).isdisjoint(addresses)
        if isinstance(event, PortRequested) and before is not None and event.port_id not in {p.port_id for p in before.ports} | set(before.refused):
            assert_decided_fairly(before, row, event, outs)


def assert_decided_fairly(before: NetworkState, after: NetworkState, request: PortRequested, outs: list[Outbound]) -> None:
    """A fresh request gets exactly one answer; an automatic one is the lowest free address, a refusal only when there is none."""
    if request.port_id in before.released:
        assert outs == []
        return
    (out,) = outs
    free = sorted(POOL - set(held(before)))
    if request.fixed_ips:
        wanted = ipaddress.ip_address(request.fixed_ips[0].ip_address)
        ok = wanted in ipaddress.ip_network(RACE_SUBNET.cidr) and wanted not in set(held(before)) | UNUSABLE
        taken_as = "pinned"
    else:
        ok, wanted, taken_as = bool(free), (free[0] if free else None), "lowest free"
    if ok:
        assert isinstance(out.record, PortAllocated), (taken_as, out.record)
        assert out.record.fixed_ips == [FixedIp(RACE_SUBNET.subnet_id, str(wanted))]
        assert after.ports[-1].fixed_ips == out.record.fixed_ips
    else:
        assert isinstance(out.record, PortAllocationRefused)
        assert after.refused[request.port_id] == [out.record.error_type, out.record.reason]


def test_the_races_include_exhaustion_and_reuse_after_delete() -> None:
    """The property above sees both the refusals and a freed address given again."""
    writer_ports = [build_port_requested(f"api-1-port-{i}") for i in range(9)]
    events = [*network_with(RACE_SUBNET), *writer_ports, build_port_deleted("api-1-port-3"), build_port_requested("api-2-port-0")]

    _, outs = fold(events)

    assert decisions(outs)[8:] == [("api-1-port-8", "IpAddressGenerationFailure"), ("api-2-port-0", "10.20.0.5")]


@settings(max_examples=100, deadline=None)
@given(races(), st.data())
def test_replay_gives_the_same_rows_and_decisions_from_any_cut(events, data) -> None:
    cut = data.draw(st.integers(0, len(events)))

    whole, outs = fold(events)
    prefix, first = fold(events[:cut])
    rest_rows: dict[str, Any] = dict(prefix)
    rest_outs: list[Outbound] = []
    for offset, event in enumerate(events[cut:], start=cut):
        rest_rows["net-1"], out = handle(rest_rows.get("net-1"), event, offset)
        rest_outs += out

    assert rest_rows == whole
    assert first + rest_outs == outs
    assert fold(events) == (whole, outs)
