"""Fixed IP arithmetic for one network's writer: which addresses a port request gets, or why it gets none.

Pure functions of the network's row, so the decision is a function of the
log: the lowest free address of a subnet's allocation pools (never its
network or broadcast address, never its gateway), a requested address if it
is free and in its subnet, and MACs derived from the port id.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from novalog.events.records import FixedIp, Subnet
from novalog.events.state import NetworkState

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Neutron's fault types, carried by a refusal so the API can answer with Neutron's fault body.
IP_EXHAUSTED = "IpAddressGenerationFailure"  # 409
IP_IN_USE = "IpAddressAlreadyAllocated"  # 409
IP_NOT_IN_SUBNET = "InvalidIpForSubnet"  # 400
IP_NOT_IN_NETWORK = "InvalidIpForNetwork"  # 400
INVALID_INPUT = "InvalidInput"  # 400
MAC_IN_USE = "MacAddressInUse"  # 409
NETWORK_NOT_FOUND = "NetworkNotFound"  # 404

# OpenStack's MAC prefix (Neutron's default base_mac), so guests' NICs look as they would there.
MAC_PREFIX = "fa:16:3e"


@dataclass(frozen=True, slots=True)
class Refusal:
    error_type: str
    reason: str


def mac_for(port_id: str, used: set[str]) -> str:
    """The port's MAC: MAC_PREFIX and three bytes of a hash of its id, rehashed until no port of the network holds it."""
    attempt = 0
    while True:
        digest = hashlib.sha256(f"{port_id}#{attempt}".encode()).digest()
        mac = f"{MAC_PREFIX}:{digest[0]:02x}:{digest[1]:02x}:{digest[2]:02x}"
        if mac not in used:
            return mac
        attempt += 1


def taken_addresses(network: NetworkState) -> dict[str, set[Address]]:
    """Per subnet id, the addresses its ports hold."""
    taken: dict[str, set[Address]] = {s.subnet_id: set() for s in network.subnets}
    for port in network.ports:
        for ip in port.fixed_ips:
            if ip.subnet_id is not None and ip.ip_address is not None:
                taken.setdefault(ip.subnet_id, set()).add(ipaddress.ip_address(ip.ip_address))
    return taken


def _reserved(subnet: Subnet) -> set[Address]:
    """What no port gets: the gateway, and in IPv4 the network and broadcast addresses."""
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    reserved: set[Address] = set()
    if subnet.gateway_ip:
        reserved.add(ipaddress.ip_address(subnet.gateway_ip))
    if net.version == 4 and net.num_addresses > 2:
        reserved |= {net.network_address, net.broadcast_address}
    if net.version == 6:
        reserved.add(net.network_address)  # the subnet-router anycast address
    return reserved


def _pools(subnet: Subnet) -> Iterator[tuple[int, int]]:
    """The allocation pools as integer ranges, lowest first; no pools means the whole subnet."""
    if not subnet.allocation_pools:
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        yield int(net.network_address), int(net.broadcast_address)
        return
    ranges = ((int(ipaddress.ip_address(p.start)), int(ipaddress.ip_address(p.end))) for p in subnet.allocation_pools)
    yield from sorted(ranges)


def lowest_free(subnet: Subnet, taken: set[Address]) -> Address | None:
    """The lowest address of the subnet's pools that is neither reserved nor taken, or None when the pools are full."""
    unusable = {int(a) for a in taken | _reserved(subnet)}
    make = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    for start, end in _pools(subnet):
        candidate = start
        while candidate <= end:
            if candidate not in unusable:
                return make(candidate)
            candidate += 1
    return None


def _requested_address(network: NetworkState, want: FixedIp, taken: dict[str, set[Address]]) -> FixedIp | Refusal:
    """One asked-for address (with or without its subnet): given if it is in the subnet and free."""
    assert want.ip_address is not None
    try:
        address = ipaddress.ip_address(want.ip_address)
    except ValueError:
        return Refusal(INVALID_INPUT, f"{want.ip_address!r} is not an IP address.")
    subnets = [s for s in network.subnets if want.subnet_id in (None, s.subnet_id)]
    holding = [s for s in subnets if address in ipaddress.ip_network(s.cidr, strict=False)]
    if not holding:
        if want.subnet_id is None:
            return Refusal(IP_NOT_IN_NETWORK, f"IP address {address} is on no subnet of network {network.network_id}.")
        return Refusal(IP_NOT_IN_SUBNET, f"IP address {address} is not a valid IP for subnet {want.subnet_id}.")
    subnet = holding[0]
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    if net.version == 4 and net.num_addresses > 2 and address in (net.network_address, net.broadcast_address):
        return Refusal(IP_NOT_IN_SUBNET, f"IP address {address} is the network or broadcast address of subnet {subnet.subnet_id}.")
    if address in taken[subnet.subnet_id] or (subnet.gateway_ip and address == ipaddress.ip_address(subnet.gateway_ip)):
        return Refusal(IP_IN_USE, f"IP address {address} on network {network.network_id} is already in use.")
    return FixedIp(subnet.subnet_id, str(address))


def _any_address(network: NetworkState, subnet_id: str, taken: dict[str, set[Address]]) -> FixedIp | Refusal:
    """The lowest free address of one named subnet of the network."""
    subnet = next((s for s in network.subnets if s.subnet_id == subnet_id), None)
    if subnet is None:
        return Refusal(INVALID_INPUT, f"Subnet {subnet_id} is not a subnet of network {network.network_id}.")
    address = lowest_free(subnet, taken[subnet_id])
    if address is None:
        return Refusal(IP_EXHAUSTED, f"No free IP address is left on subnet {subnet_id} of network {network.network_id}.")
    return FixedIp(subnet_id, str(address))


def _default_addresses(network: NetworkState, taken: dict[str, set[Address]]) -> list[FixedIp] | Refusal:
    """No address asked for: one from the first subnet with room, per IP version the network has."""
    chosen: list[FixedIp] = []
    for version in dict.fromkeys(s.ip_version for s in network.subnets):
        found = next(
            ((s, a) for s in network.subnets if s.ip_version == version and (a := lowest_free(s, taken[s.subnet_id])) is not None),
            None,
        )
        if found is None:
            return Refusal(IP_EXHAUSTED, f"No free IPv{version} address is left on network {network.network_id}.")
        subnet, address = found
        chosen.append(FixedIp(subnet.subnet_id, str(address)))
    return chosen


def allocate(network: NetworkState, wanted: list[FixedIp]) -> list[FixedIp] | Refusal:
    """The addresses a port request gets on this network, in the order asked, or why it gets none.

    Each entry may name a subnet, an address or both; every entry must be met
    or the whole request is refused, and no two entries get the same address.
    """
    taken = taken_addresses(network)
    if not wanted:
        return _default_addresses(network, taken)
    given: list[FixedIp] = []
    for want in wanted:
        if want.ip_address is not None:
            got = _requested_address(network, want, taken)
        elif want.subnet_id is not None:
            got = _any_address(network, want.subnet_id, taken)
        else:
            got = Refusal(INVALID_INPUT, "A fixed IP names neither a subnet nor an address.")
        if isinstance(got, Refusal):
            return got
        assert got.subnet_id is not None and got.ip_address is not None
        taken[got.subnet_id].add(ipaddress.ip_address(got.ip_address))
        given.append(got)
    return given
