"""Instance names: Nova's instance_name_template over a number made of the build request's place in the log."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import murmur2 as kafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from novalog.events.instance_names import (
    DEFAULT_TEMPLATE,
    PARTITION_SPACE,
    InstanceNaming,
    instance_name,
    instance_number,
    murmur2,
    partition_of,
)
from novalog.settings import Settings


@given(st.binary(max_size=64))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data) & 0xFFFFFFFF


@pytest.mark.parametrize(("key", "hashed"), [
    # Kafka's own test vectors (UtilsTest.testMurmur2), as unsigned 32-bit values.
    (b"21", -973932308 & 0xFFFFFFFF),
    (b"foobar", -790332482 & 0xFFFFFFFF),
    (b"a-little-bit-long-string", -985981536 & 0xFFFFFFFF),
    (b"a-little-bit-longer-string", -1486304829 & 0xFFFFFFFF),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 & 0xFFFFFFFF),
    (b"abc", 479470107),
])
def test_murmur2_vectors(key: bytes, hashed: int) -> None:
    assert murmur2(key) == hashed


@pytest.mark.parametrize(("build_offset", "partition", "number", "name"), [
    # number = build_offset * 256 + partition; the default template is Nova's instance-%08x
    (0, 0, 0, "instance-00000000"),
    (0, 7, 7, "instance-00000007"),
    (1, 0, 256, "instance-00000100"),
    (42, 5, 42 * 256 + 5, "instance-00002a05"),
    (2**24, 3, 2**32 + 3, "instance-100000003"),  # past 8 digits the name grows, as Nova's does past id 0xffffffff
], ids=["first", "other partition", "second offset", "42@5", "wide"])
def test_the_number_is_the_offset_beside_the_partition(build_offset: int, partition: int, number: int, name: str) -> None:
    instance_id = next(f"i-{n}" for n in range(10_000) if partition_of(f"i-{n}", 8) == partition)
    assert instance_number(instance_id, build_offset, 8) == number
    assert instance_name(DEFAULT_TEMPLATE, number) == name
    assert InstanceNaming(DEFAULT_TEMPLATE, 8).name(instance_id, build_offset) == name


def test_a_row_from_before_the_table_kept_offsets_has_no_number() -> None:
    assert instance_number("i-1", -1, 8) is None
    assert InstanceNaming().name("i-1", -1) is None


@given(st.lists(st.tuples(st.uuids().map(str), st.integers(0, 10_000)), max_size=200), st.integers(1, PARTITION_SPACE))
def test_numbers_are_unique_in_a_deployment(builds: list[tuple[str, int]], partitions: int) -> None:
    # Within one partition offsets are unique; a log holds each (partition, offset) once.
    placed = {(partition_of(iid, partitions), offset): iid for iid, offset in builds}
    numbers = [instance_number(iid, offset, partitions) for (_, offset), iid in placed.items()]
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(("template", "expected"), [
    ("instance-%08x", "instance-0000002a"),
    ("vm-%d", "vm-42"),
    ("%(uuid)s", "6f1f4e4e-0000-4000-8000-000000000001"),
    ("srv-%(id)d-%(display_name)s", "srv-42-web"),
], ids=["nova default", "decimal", "uuid", "named"])
def test_templates_fill_as_novas(template: str, expected: str) -> None:
    fields = {"uuid": "6f1f4e4e-0000-4000-8000-000000000001", "display_name": "web"}
    assert instance_name(template, 42, fields) == expected


@pytest.mark.parametrize("template", ["%(nope)s", "%s-%s", "%q"], ids=["unknown field", "two numbers", "bad conversion"])
def test_a_template_that_does_not_fill_is_refused_by_the_settings(template: str) -> None:
    with pytest.raises(ValueError, match="instance_name_template"):
        Settings(instance_name_template=template)


def test_the_settings_default_is_novas_and_partitions_fit_the_space() -> None:
    assert Settings().instance_name_template == "instance-%08x"
    with pytest.raises(ValueError):
        Settings(partitions=PARTITION_SPACE + 1)
