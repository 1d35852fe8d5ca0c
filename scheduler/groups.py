"""The server group a request carries, as the group filters and weighers must read it.

The API sends the group with the members it knew at the request; the
scheduler adds the other instances of a multi-create (they join together),
and for each pass keeps only the members that hold a claim on some host, in
the table or still in flight: ServerGroupAffinityFilter reads its members as
placed ones, and a member without a host (failed, or not yet placed) must not
make every host fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from novalog.events.records import InstanceGroup, RequestSpec
from novalog.scheduler.columns import HostColumns
from novalog.scheduler.host_state import SchedHost


def joined(group: InstanceGroup | None, instance_ids: Iterable[str]) -> InstanceGroup | None:
    """The group with the instances of one request added to its members."""
    if group is None:
        return None
    return replace(group, members=sorted(set(group.members) | set(instance_ids)))


def placed_only(spec: RequestSpec, hosts: Sequence[SchedHost] | HostColumns) -> RequestSpec:
    """The spec with its group's members narrowed to those some host counts now."""
    group = spec.instance_group
    if group is None or not group.members:
        return spec
    wanted = set(group.members)
    if isinstance(hosts, HostColumns):
        # Only the hosts that count instances, without a view per host.
        on_hosts = {iid for _, ids in hosts.instance_ids() for iid in wanted.intersection(ids)}
    else:
        on_hosts = {iid for host in hosts for iid in host.instances.keys() & wanted}
    return replace(spec, instance_group=replace(group, members=sorted(on_hosts)))
