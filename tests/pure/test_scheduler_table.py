"""The scheduler's host table keeps each row compacted: the same values, fewer objects."""

from __future__ import annotations

from dataclasses import fields

from builders import build_claim, build_host_state
from novalog.events.codec import decode, encode
from novalog.scheduler.table import compact


def decoded(**fields_):
    # Through the codec, as the table reads rows: every string, number and container its own object.
    return decode(encode(build_host_state(**fields_)))


def test_a_compacted_row_equals_the_row_field_by_field_with_the_same_types() -> None:
    row = decoded(host="cn1", hypervisor_hostname="cn1", ram_allocation_ratio=1.5, memory_mb=131072, claims=[build_claim()])

    compacted = compact(row)

    assert compacted == row
    assert [type(getattr(compacted, f.name)) for f in fields(row)] == [type(getattr(row, f.name)) for f in fields(row)]
    assert compacted.claims == row.claims


def test_rows_share_their_repeated_strings_numbers_and_empty_containers() -> None:
    first, second = compact(decoded(host="cn1", hypervisor_hostname="cn1")), compact(decoded(host="cn2", hypervisor_hostname="cn2"))

    assert first.hypervisor_hostname is first.host  # the node name is the host's own string
    assert first.hypervisor_type is second.hypervisor_type and first.cpu_info is second.cpu_info
    assert first.memory_mb is second.memory_mb and first.ram_allocation_ratio is second.ram_allocation_ratio
    assert first.claims is second.claims and first.stats is second.stats  # the shared empties


def test_an_int_and_a_float_of_equal_value_are_not_shared_across_fields() -> None:
    # 1 == 1.0 and they hash alike: sharing by value alone would put an int in a float field.
    row = compact(decoded(vcpus=4, cpu_allocation_ratio=4.0))

    assert (type(row.vcpus), type(row.cpu_allocation_ratio)) == (int, float)
