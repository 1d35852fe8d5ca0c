"""The analytics example's report (examples/analytics/utilisation.py): per-host claims against capacity, per-project sums.

The rows are fed as the stock Avro deserializer hands them over: dicts with
the schema's field names, which are the rows' field names, so the builders'
rows dumped to dicts stand in for them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from builders import build_claim, build_flavor, build_host_state, build_instance_state

_PATH = Path(__file__).resolve().parents[2] / "examples" / "analytics" / "utilisation.py"
_SPEC = importlib.util.spec_from_file_location("analytics_utilisation", _PATH)
utilisation = sys.modules.setdefault(_SPEC.name, importlib.util.module_from_spec(_SPEC))
_SPEC.loader.exec_module(utilisation)  # a script, not a package: loaded by path (its dataclass needs it in sys.modules)


def row(value: Any) -> dict[str, Any]:
    return TypeAdapter(type(value)).dump_python(value)


def test_a_host_shows_its_claims_against_total_times_ratio_minus_reserved() -> None:
    report = utilisation.UtilisationReport()
    host = build_host_state(
        "cn1", vcpus=4, memory_mb=8192, disk_gb=80, cpu_allocation_ratio=4.0, ram_allocation_ratio=1.5,
        reserved_vcpus=1, reserved_memory_mb=512,
        claims=[build_claim("c1"), build_claim("c2", vcpus=2, memory_mb=2048, disk_gb=20)],
    )

    report.apply(utilisation.HOSTS_TOPIC, "cn1", row(host))

    assert report.by_host() == {"cn1": {
        "instances": 2,
        "vcpus": {"claimed": 3, "capacity": 15.0},  # 1 + 2 of 4 x 4.0 - 1
        "memory_mb": {"claimed": 2560, "capacity": 11776.0},  # 512 + 2048 of 8192 x 1.5 - 512
        "disk_gb": {"claimed": 21, "capacity": 80.0},  # 1 + 20 of 80 x 1.0 - 0
    }}


def test_the_latest_row_of_a_host_counts_and_a_tombstone_removes_it() -> None:
    report = utilisation.UtilisationReport()
    report.apply(utilisation.HOSTS_TOPIC, "cn1", row(build_host_state("cn1", claims=[build_claim("c1")])))
    report.apply(utilisation.HOSTS_TOPIC, "cn2", row(build_host_state("cn2", claims=[build_claim("c2")])))

    report.apply(utilisation.HOSTS_TOPIC, "cn1", row(build_host_state("cn1")))
    report.apply(utilisation.HOSTS_TOPIC, "cn2", None)

    assert {name: h["instances"] for name, h in report.by_host().items()} == {"cn1": 0}


def test_a_project_sums_the_flavors_of_its_instances_that_are_not_deleted() -> None:
    report = utilisation.UtilisationReport()
    small = build_flavor(id="2", vcpus=1, ram=2048, disk=20)
    large = build_flavor(id="4", vcpus=4, ram=8192, disk=80)
    rows = [
        build_instance_state("i1", project_id="p-a", flavor=small, vm_state="active"),
        build_instance_state("i2", project_id="p-a", flavor=large, vm_state="stopped"),
        build_instance_state("i3", project_id="p-a", flavor=large, vm_state="deleted"),
        build_instance_state("i4", project_id="p-b", flavor=small, vm_state="building"),
    ]
    for r in rows:
        report.apply(utilisation.INSTANCES_TOPIC, r.instance_id, row(r))

    assert report.by_project() == {
        "p-a": {"instances": 2, "vcpus": 5, "memory_mb": 10240, "disk_gb": 100},  # small + large; i3 is deleted
        "p-b": {"instances": 1, "vcpus": 1, "memory_mb": 2048, "disk_gb": 20},
    }


def test_the_text_report_has_a_line_per_host_and_project() -> None:
    report = utilisation.UtilisationReport()
    report.apply(utilisation.HOSTS_TOPIC, "cn1", row(build_host_state("cn1", claims=[build_claim("c1")])))
    report.apply(utilisation.INSTANCES_TOPIC, "i1", row(build_instance_state("i1", project_id="p-a")))

    text = utilisation.as_text(report.as_dict()).splitlines()

    assert text[1].split() == ["cn1", "1", "1/16", "(6%)", "512/8192", "(6%)", "1/80", "(1%)"]
    assert text[-1].split() == ["p-a", "1", "1", "512", "1"]
