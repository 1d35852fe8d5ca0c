"""The capacity formula, the one place the scheduler's filters and the claim check share.

Room on a host = total x allocation ratio - reserved - the sum of accepted
claims. Works on plain numbers and elementwise on numpy arrays alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from novalog.events.records import Resources

if TYPE_CHECKING:  # the row type in annotations only: importing it costs ~30 ms, the explain path needs none
    from novalog.events.state import HostState

N = TypeVar("N", bound="Quantity")


class Quantity(Protocol):
    """What `room` computes with: a plain number, or a numpy array of one per host."""

    def __mul__(self: N, other: N, /) -> N: ...

    def __sub__(self: N, other: N, /) -> N: ...


def room(total: N, ratio: N, reserved: N, used: N) -> N:
    """What is left to claim of one resource (negative when over)."""
    return total * ratio - reserved - used


def used_by_claims(state: HostState) -> Resources:
    """The sum of the host's accepted, unreleased claims."""
    return Resources(
        vcpus=sum(c.vcpus for c in state.claims),
        memory_mb=sum(c.memory_mb for c in state.claims),
        disk_gb=sum(c.disk_gb for c in state.claims),
    )


def shortfall(state: HostState, used: Resources, request: Resources) -> str | None:
    """None when the request fits on the host; otherwise which resource is short, and by how much.

    A request larger than the host's physical total never fits, whatever the
    ratio (Nova's Liberty+ rule), and a host that has reported nothing has no room.
    """
    checks = (
        ("vcpus", state.vcpus, state.cpu_allocation_ratio, state.reserved_vcpus, used.vcpus, request.vcpus),
        ("memory_mb", state.memory_mb, state.ram_allocation_ratio, state.reserved_memory_mb, used.memory_mb, request.memory_mb),
        ("disk_gb", state.disk_gb, state.disk_allocation_ratio, state.reserved_disk_gb, used.disk_gb, request.disk_gb),
    )
    for name, total, ratio, reserved, in_use, wanted in checks:
        if wanted > total:
            return f"{name}: requested {wanted} exceeds the host's total {total}"
        left = room(total, ratio, reserved, in_use)
        if left < wanted:
            return f"{name}: requested {wanted}, room {left:g} ({total} x {ratio:g} - {reserved} reserved - {in_use} claimed)"
    return None
