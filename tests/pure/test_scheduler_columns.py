"""HostColumns: one array per SchedHost field, aggregate sets deduplicated, rows patched like a rebuild."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from builders import build_claim, build_sched_host
from novalog.events.records import Resources
from novalog.scheduler.columns import BOOL_FIELDS, DERIVED_FIELDS, FLOAT_FIELDS, INT_FIELDS, HostColumns
from novalog.scheduler.host_state import Aggregate, SchedHost, consume

AZ1 = Aggregate("agg-1", "az1", {"availability_zone": "az1"})
SSD = Aggregate("agg-2", "ssd", {"ssd": "true", "cpu_weight_multiplier": "2.0"})


def columns_as_rows(cols: HostColumns) -> list[dict]:
    """Every column read back row by row, to compare with the SchedHost values."""
    return [{name: cols.columns[name][row].item() for name in cols.columns} for row in range(len(cols))]


def expected_row(host: SchedHost) -> dict:
    fields = {name: getattr(host, name) for name in (*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS)}
    ram_room = host.total_usable_ram_mb * host.ram_allocation_ratio - host.reserved_memory_mb - host.ram_claimed_mb
    vcpu_room = host.vcpus_total * host.cpu_allocation_ratio - host.reserved_vcpus - host.vcpus_used
    disk_room = host.total_usable_disk_gb * host.disk_allocation_ratio - host.reserved_disk_gb - host.disk_claimed_gb
    return {
        **fields,
        "ram_claimed_mb": host.ram_claimed_mb,
        "disk_claimed_gb": host.disk_claimed_gb,
        "ram_room_mb": ram_room,
        "vcpu_room": vcpu_room,
        "disk_room_gb": disk_room,
        # The largest request each resource filter lets through.
        "ram_fit_mb": min(float(host.total_usable_ram_mb), ram_room),
        "vcpu_fit": min(float(host.vcpus_total), vcpu_room) if host.vcpus_total > 0 else -math.inf,
        "disk_fit_gb": min(float(host.total_usable_disk_gb), disk_room),
    }


def sample_hosts() -> list[SchedHost]:
    return [
        # 8192 x 1.5 - 512 reserved - 1024 claimed = 10752 MB room; 4 x 4.0 - 1 - 3 = 12 vCPUs room
        replace(
            build_sched_host(host="a", ram_allocation_ratio=1.5, reserved_memory_mb=512, reserved_vcpus=1,
                             claims=[build_claim("a1", vcpus=3, memory_mb=1024, disk_gb=30)]),
            aggregates=(AZ1,),
        ),
        # never reported: all totals 0, service up (it beats), no aggregate
        build_sched_host(host="b", capacity_reported_at=None),
        # disabled, in both aggregates
        replace(build_sched_host(host="c", disabled=True), aggregates=(AZ1, SSD), failed_builds=2, forced_down=True),
    ]


def test_every_column_holds_its_field_row_by_row_with_claimed_and_room_derived() -> None:
    hosts = sample_hosts()

    cols = HostColumns.from_hosts(hosts)

    assert len(cols) == 3
    assert cols.hosts == hosts and cols.names == ["a", "b", "c"]
    assert set(cols.columns) == {*INT_FIELDS, *FLOAT_FIELDS, *BOOL_FIELDS, *DERIVED_FIELDS}
    assert columns_as_rows(cols) == [expected_row(h) for h in hosts]
    assert cols.ram_room_mb[0] == 10752.0 and cols.vcpu_room[0] == 12.0
    assert (cols.free_ram_mb.dtype, cols.ram_allocation_ratio.dtype, cols.disabled.dtype) == (np.int64, np.float64, np.bool_)


def test_no_hosts_gives_empty_columns() -> None:
    cols = HostColumns.from_hosts([])

    assert len(cols) == 0 and cols.agg_sets == [] and cols.agg_key.tolist() == []
    assert all(len(column) == 0 for column in cols.columns.values())


def test_an_unknown_column_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        HostColumns.from_hosts(sample_hosts()).free_ram_gb  # noqa: B018


def test_hosts_in_equal_aggregates_share_one_set_even_when_the_objects_differ() -> None:
    # d's aggregate is a copy of AZ1, equal by value: same key as a.
    # e holds AZ1 and SSD in the other order than c: a set of its own.
    d = replace(build_sched_host(host="d"), aggregates=(Aggregate("agg-1", "az1", {"availability_zone": "az1"}),))
    e = replace(build_sched_host(host="e"), aggregates=(SSD, AZ1))

    cols = HostColumns.from_hosts([*sample_hosts(), d, e])

    assert cols.agg_sets == [(AZ1,), (), (AZ1, SSD), (SSD, AZ1)]
    assert cols.agg_key.tolist() == [0, 1, 2, 0, 3]
    assert all(cols.agg_sets[cols.agg_key[row]] == host.aggregates for row, host in enumerate(cols.hosts))


def test_per_aggregate_set_decides_once_per_set_and_broadcasts() -> None:
    seen = []

    def zone(aggregates):
        seen.append(aggregates)
        return len(aggregates)

    cols = HostColumns.from_hosts([*sample_hosts(), replace(build_sched_host(host="d"), aggregates=(AZ1,))])

    assert cols.per_aggregate_set(zone, dtype=np.int64).tolist() == [1, 0, 2, 1]
    assert seen == [(AZ1,), (), (AZ1, SSD)]


@pytest.mark.parametrize(
    ("names", "rows"),
    [
        pytest.param(["b"], [1], id="one"),
        pytest.param(["c", "b", "nowhere"], [1, 2], id="ascending-unknown-skipped"),
        # two hosts named "a" (rows 0 and 3): both
        pytest.param(["a"], [0, 3], id="duplicate-name"),
        pytest.param([], [], id="none"),
    ],
)
def test_rows_named(names, rows) -> None:
    cols = HostColumns.from_hosts([*sample_hosts(), build_sched_host(host="a")])

    assert cols.rows_named(names).tolist() == rows


def test_consume_patches_one_row_exactly_as_a_rebuild_would() -> None:
    hosts = sample_hosts()
    cols = HostColumns.from_hosts(hosts)
    request = Resources(vcpus=2, memory_mb=1024, disk_gb=10)

    cols.consume(0, request, "new-claim")

    hosts[0] = consume(hosts[0], request, "new-claim")
    assert cols.hosts == hosts
    assert columns_as_rows(cols) == columns_as_rows(HostColumns.from_hosts(hosts))
    # 8192 x 1.5 - 512 - (1024 + 1024) = 9728 MB room
    assert cols.ram_room_mb[0] == 9728.0


def test_consuming_a_claim_already_counted_changes_nothing() -> None:
    cols = HostColumns.from_hosts(sample_hosts())
    before = columns_as_rows(cols)

    cols.consume(0, Resources(vcpus=1, memory_mb=512, disk_gb=1), "a1")

    assert columns_as_rows(cols) == before


def test_update_replaces_a_row_its_name_and_its_aggregate_set() -> None:
    hosts = sample_hosts()
    cols = HostColumns.from_hosts(hosts)
    newer = replace(build_sched_host(host="z", vcpus=16, memory_mb=65536), aggregates=(SSD,))

    cols.update(1, newer)

    hosts[1] = newer
    assert columns_as_rows(cols) == columns_as_rows(HostColumns.from_hosts(hosts))
    assert cols.names == ["a", "z", "c"]
    assert cols.rows_named(["b"]).tolist() == [] and cols.rows_named(["z"]).tolist() == [1]
    assert cols.agg_sets[cols.agg_key[1]] == (SSD,)


def test_a_set_whose_representative_row_moves_to_another_set_gets_another_holder() -> None:
    # rows 0 and 2 hold (AZ1,); row 0 represents it until it leaves for (SSD,)
    hosts = [replace(build_sched_host(host=name), aggregates=(AZ1,)) for name in ("a", "b", "c")]
    hosts[1] = replace(hosts[1], aggregates=())
    cols = HostColumns.from_hosts(hosts)
    assert cols.agg_rep == [0, 1]

    cols.update(0, replace(hosts[0], aggregates=(SSD,)))

    assert cols.agg_rep == [2, 1, 0]
    assert all(cols.agg_key[cols.agg_rep[key]] == key for key in cols.agg_key.tolist())


def test_set_multipliers_asks_each_aggregate_set_once_per_weigher_and_options() -> None:
    from novalog.scheduler.options import SchedulerOptions
    from novalog.scheduler.weights import WEIGHERS

    class Counting(WEIGHERS["CPUWeigher"]):
        asked: list = []

        def weight_multiplier(self, options, host):
            self.asked.append(host.aggregates)
            return super().weight_multiplier(options, host)

    hosts = sample_hosts()
    cols = HostColumns.from_hosts(hosts)
    weigher, options = Counting(), SchedulerOptions()
    expected = [WEIGHERS["CPUWeigher"]().weight_multiplier(options, hosts[row]) for row in cols.agg_rep]

    assert cols.set_multipliers(weigher, options) == expected
    assert cols.set_multipliers(weigher, options) == expected
    assert len(weigher.asked) == len(cols.agg_sets)  # the second pass asked nothing
    assert 2.0 in expected  # the SSD aggregate's own multiplier, per set

    cols.update(0, replace(hosts[0], aggregates=(SSD, SSD)))  # a set never seen: asked for that set alone
    assert len(cols.set_multipliers(weigher, options)) == len(cols.agg_sets) == len(weigher.asked)
    cols.set_multipliers(weigher, replace(options, cpu_weight_multiplier=3.0))  # other options: asked again
    assert len(weigher.asked) == 2 * len(cols.agg_sets)
