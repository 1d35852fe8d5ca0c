"""The network table: networks with their subnets and ports, and security groups with their rules, a pure fold over network.events.

The table's owner of a network's partition is the single writer of its
addresses, as the host-state processor is of a host's claims: a PortRequested
is decided here (decide_port) against the network's row and the decision is
folded in at once, so racing requests are judged one after another in log
order and no address is given twice. The decision is appended on the same
key; read back, it changes nothing (the row already holds it).
"""

from __future__ import annotations

from typing import assert_never

from novalog.events.evolve import replace
from novalog.events.network import network_key
from novalog.events.outbound import Outbound
from novalog.events.records import Port
from novalog.events.state import NetworkState, SecurityGroupState
from novalog.events.types.network import (
    NetworkCreated,
    NetworkDeleted,
    NetworkEvent,
    NetworkUpdated,
    PortAllocated,
    PortAllocationRefused,
    PortDeleted,
    PortRequested,
    SecurityGroupCreated,
    SecurityGroupDeleted,
    SecurityGroupRuleCreated,
    SecurityGroupRuleDeleted,
    SubnetCreated,
    SubnetDeleted,
)
from novalog.projections.addresses import MAC_IN_USE, NETWORK_NOT_FOUND, Refusal, allocate, mac_for

Row = NetworkState | SecurityGroupState
NetworkFolded = NetworkCreated | NetworkUpdated | NetworkDeleted | SubnetCreated | SubnetDeleted | PortRequested | PortAllocated | PortAllocationRefused | PortDeleted
GroupFolded = SecurityGroupCreated | SecurityGroupDeleted | SecurityGroupRuleCreated | SecurityGroupRuleDeleted

PRODUCER = "novalog-projections"
# Refused and deleted port ids kept per network, so a redelivered request gets the same answer;
# far more than can be in flight for one network at once.
SETTLED_KEEP = 512


def handle(state: Row | None, event: NetworkEvent, offset: int) -> tuple[Row | None, list[Outbound]]:
    """The declared fold (projections/registry.py): `fold`, the row stamped with the event's log offset."""
    new, outs = fold(state, event)
    return (None if new is None else replace(new, offset=offset)), outs


def fold(state: Row | None, event: NetworkEvent) -> tuple[Row | None, list[Outbound]]:
    """The row after the event, and the decision a port request asks to append."""
    match event:
        case SecurityGroupCreated() | SecurityGroupDeleted() | SecurityGroupRuleCreated() | SecurityGroupRuleDeleted():
            group = state if isinstance(state, SecurityGroupState) else None
            return apply_group(group, event), []
        case PortRequested():
            network = state if isinstance(state, NetworkState) else None
            decision = decide_port(network, event)
            if decision is None:
                return network, []
            return _fold_decision(network, event, decision), [Outbound.event(network_key(event.network_id), decision)]
        case _:
            return apply_network(state if isinstance(state, NetworkState) else None, event), []


def decide_port(network: NetworkState | None, request: PortRequested) -> PortAllocated | PortAllocationRefused | None:
    """Give the requested port its addresses and MAC, or refuse it with Neutron's fault type and why.

    A request already decided gets the same answer again (redelivery); one
    whose port was since deleted gets none.
    """
    if network is not None and request.port_id in network.released:
        return None
    port = None if network is None else next((p for p in network.ports if p.port_id == request.port_id), None)
    if port is not None:
        return _allocated(request, port.mac_address, port)
    if network is not None and request.port_id in network.refused:
        error_type, reason = network.refused[request.port_id]
        return _refused(request, Refusal(error_type, reason))
    if network is None or network.deleted:
        return _refused(request, Refusal(NETWORK_NOT_FOUND, f"Network {request.network_id} could not be found."))
    macs = {p.mac_address for p in network.ports}
    if request.mac_address is not None and request.mac_address.lower() in macs:
        return _refused(request, Refusal(MAC_IN_USE, f"MAC address {request.mac_address} on network {network.network_id} is already in use."))
    given = allocate(network, request.fixed_ips)
    if isinstance(given, Refusal):
        return _refused(request, given)
    mac = request.mac_address.lower() if request.mac_address is not None else mac_for(request.port_id, macs)
    return _allocated(request, mac, Port(request.port_id, request.project_id, mac, given))


def _allocated(request: PortRequested, mac: str, port: Port) -> PortAllocated:
    return PortAllocated(
        envelope=request.envelope.caused(PortAllocated, PRODUCER, occurred_at=request.envelope.occurred_at),
        port_id=request.port_id, network_id=request.network_id, project_id=request.project_id,
        mac_address=mac, fixed_ips=port.fixed_ips, device_id=request.device_id,
    )


def _refused(request: PortRequested, refusal: Refusal) -> PortAllocationRefused:
    return PortAllocationRefused(
        envelope=request.envelope.caused(PortAllocationRefused, PRODUCER, occurred_at=request.envelope.occurred_at),
        port_id=request.port_id, network_id=request.network_id, error_type=refusal.error_type,
        reason=refusal.reason, device_id=request.device_id,
    )


def _fold_decision(network: NetworkState | None, request: PortRequested, decision: PortAllocated | PortAllocationRefused) -> NetworkState | None:
    """The row with the decision in it: a new port, or a remembered refusal (an unknown or deleted network keeps none)."""
    if network is None or network.deleted or any(p.port_id == request.port_id for p in network.ports):
        return network
    match decision:
        case PortAllocated():
            port = Port(
                port_id=request.port_id, project_id=request.project_id, mac_address=decision.mac_address, fixed_ips=decision.fixed_ips,
                name=request.name, device_id=request.device_id, device_owner=request.device_owner, admin_state_up=request.admin_state_up,
                security_groups=request.security_groups, description=request.description, created_at=request.envelope.occurred_at,
            )
            return replace(network, ports=[*network.ports, port])
        case PortAllocationRefused():
            refused = {**network.refused, request.port_id: [decision.error_type, decision.reason]}
            return replace(network, refused=dict(list(refused.items())[-SETTLED_KEEP:]))
        case _:
            assert_never(decision)


def _released(network: NetworkState, port_ids: list[str]) -> list[str]:
    kept = [*network.released, *(p for p in port_ids if p not in network.released)]
    return kept[-SETTLED_KEEP:]


def apply_network(state: NetworkState | None, event: NetworkFolded) -> NetworkState | None:
    """A network's row after an event other than a port request (those are decided in `fold`)."""
    if isinstance(event, NetworkCreated):
        if state is not None:
            return state  # network ids are never reused
        return NetworkState(
            network_id=event.network_id, project_id=event.project_id, name=event.name, created_at=event.envelope.occurred_at,
            admin_state_up=event.admin_state_up, shared=event.shared, mtu=event.mtu,
            port_security_enabled=event.port_security_enabled, description=event.description,
        )
    if isinstance(event, PortRequested | PortAllocated | PortAllocationRefused):
        return state  # decided by this writer when the request was folded: the row already holds it
    if state is None or state.deleted:
        return state
    match event:
        case NetworkUpdated():
            changes = {name: getattr(event, name) for name in ("name", "admin_state_up", "shared", "mtu", "port_security_enabled", "description")}
            return replace(state, **{k: v for k, v in changes.items() if v is not None})
        case NetworkDeleted():
            return replace(state, deleted=True, subnets=[], ports=[], released=_released(state, [p.port_id for p in state.ports]))
        case SubnetCreated():
            if any(s.subnet_id == event.subnet.subnet_id for s in state.subnets):
                return state
            return replace(state, subnets=[*state.subnets, event.subnet])
        case SubnetDeleted():
            ports = [replace(p, fixed_ips=[ip for ip in p.fixed_ips if ip.subnet_id != event.subnet_id]) for p in state.ports]
            return replace(state, subnets=[s for s in state.subnets if s.subnet_id != event.subnet_id], ports=ports)
        case PortDeleted():
            return replace(state, ports=[p for p in state.ports if p.port_id != event.port_id], released=_released(state, [event.port_id]))
        case _:
            assert_never(event)


def apply_group(state: SecurityGroupState | None, event: GroupFolded) -> SecurityGroupState | None:
    """A security group's row after the event: a rule id is added once, a deleted group takes no more rules."""
    if isinstance(event, SecurityGroupCreated):
        if state is not None:
            return state  # group ids are never reused
        return SecurityGroupState(
            security_group_id=event.security_group_id, project_id=event.project_id, name=event.name,
            created_at=event.envelope.occurred_at, description=event.description, stateful=event.stateful,
        )
    if state is None or state.deleted:
        return state
    match event:
        case SecurityGroupDeleted():
            return replace(state, deleted=True, rules=[])
        case SecurityGroupRuleCreated():
            if any(r.security_group_rule_id == event.rule.security_group_rule_id for r in state.rules):
                return state
            return replace(state, rules=[*state.rules, event.rule])
        case SecurityGroupRuleDeleted():
            return replace(state, rules=[r for r in state.rules if r.security_group_rule_id != event.security_group_rule_id])
        case _:
            assert_never(event)
