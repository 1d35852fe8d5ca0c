"""Nova's instance names (`instance_name_template`, `instance-%08x` by default) over a number the log assigns.

Nova fills the template with the instance's database id. Here the number is
made of the instance's place in the log: the offset of its build request in
its partition of instance.events (which the instance table keeps in its row,
`build_offset`: assigned in log order by the table's single writer per
partition) and that partition, which Kafka's default partitioner derives from
the instance id (murmur2 of the key). Offsets are unique within a partition
and never reused, so the number is unique in the deployment, the same after
any replay, and owes nothing to a clock or to the process that asked.

    number = build_offset * PARTITION_SPACE + partition

A deployment has at most PARTITION_SPACE partitions per event topic
(settings), so no two partitions' numbers meet. Numbers are not dense, as
Nova's ids are not once instances are deleted.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_TEMPLATE = "instance-%08x"
PARTITION_SPACE = 256


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (its Java client's `Utils.murmur2`), as an unsigned 32-bit value."""
    mask = 0xFFFFFFFF
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = length - length % 4
    rest = length % 4
    if rest >= 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives a keyed record: the hash's positive part modulo the count."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def instance_number(instance_id: str, build_offset: int, partitions: int) -> int | None:
    """The instance's number in the deployment (Nova's database id), or None for a row from before the table kept offsets."""
    if build_offset < 0:
        return None
    return build_offset * PARTITION_SPACE + partition_of(instance_id, partitions)


def instance_name(template: str, number: int, fields: Mapping[str, object] = {}) -> str:
    """Nova's `Instance.name`: the template over the number (`instance-%08x`), or over the instance's fields by name
    (`%(uuid)s`, `%(id)d`, `%(display_name)s`) when the template names them."""
    try:
        return template % number
    except (KeyError, TypeError):
        return template % {"id": number, **fields}


def check_template(template: str) -> str:
    """A template fills with a number or with named fields; anything else is refused when the settings are read."""
    instance_name(template, 1, {"uuid": "00000000-0000-0000-0000-000000000000", "display_name": "vm", "hostname": "vm"})
    return template


class InstanceNaming:
    """A deployment's way of naming instances: its template and the partition count of its event topics."""

    __slots__ = ("template", "partitions")

    def __init__(self, template: str = DEFAULT_TEMPLATE, partitions: int = 8) -> None:
        self.template = check_template(template)
        self.partitions = partitions

    def name(self, instance_id: str, build_offset: int, display_name: str = "") -> str | None:
        """The instance's name, or None for a row from before the table kept its build's offset."""
        number = instance_number(instance_id, build_offset, self.partitions)
        if number is None:
            return None
        return instance_name(self.template, number, {"uuid": instance_id, "display_name": display_name, "hostname": display_name})
