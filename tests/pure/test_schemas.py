"""The published schemas: they agree with the code, their ids are permanent, and versions stay FULL_TRANSITIVE.

schemas/*.avsc is the contract with every other reader of the log; the
manifest pins each id to one schema by its CRC-64-AVRO fingerprint.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import defaultdict
from itertools import permutations
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.repository.flat_dict import FlatDictRepository
from fastavro.schema import load_schema, parse_schema
from fastavro.utils import generate_many

from novalog.events.avro_shapes import COMMON_RECORDS, full_name, schema_of
from novalog.events.codec import SCHEMAS_DIR, ManifestEntry, read_manifest, schema_fingerprint
from novalog.events.schema_tool import publish
from novalog.events.state import STATE_TYPES
from novalog.events.types import EVENT_TYPES

MANIFEST = read_manifest()
RECORD_TYPES = (*EVENT_TYPES, *STATE_TYPES)
CLASSES = {full_name(cls): cls for cls in (*COMMON_RECORDS, *RECORD_TYPES)}

# What has been published: an id, once given, keeps its name, version and schema forever.
# Append here when you append to the manifest; never edit a line.
PUBLISHED = [
    (1, "novalog.instance.InstanceBuildRequested", 1, "71aed1330c4eb2a2"),
    (2, "novalog.instance.InstanceDeleteRequested", 1, "8cf467a252d8fb4a"),
    (3, "novalog.instance.InstanceSchedulingFailed", 1, "5dd4d595d27e27d6"),
    (4, "novalog.instance.InstanceSpawned", 1, "8d4e119f6c687064"),
    (5, "novalog.instance.InstanceSpawnFailed", 1, "1e3fff54ded18a95"),
    (6, "novalog.instance.InstancePowerStateChanged", 1, "57e2d1bf40603247"),
    (7, "novalog.instance.InstanceDeleted", 1, "1ca14d6f17285af2"),
    (8, "novalog.placement.PlacementProposed", 1, "57811e4159753375"),
    (9, "novalog.placement.ClaimAccepted", 1, "161880c947f7ab86"),
    (10, "novalog.placement.ClaimRejected", 1, "70ea5f04181b2b04"),
    (11, "novalog.placement.ClaimReleased", 1, "05929472c6c6043e"),
    (12, "novalog.host.HostCapacityReported", 1, "dcb207e5ae9942f1"),
    (13, "novalog.host.HostHeartbeatReported", 1, "e017cfa4eb233d19"),
    (14, "novalog.catalog.FlavorCreated", 1, "d6dfdcdb1fb90015"),
    (15, "novalog.catalog.FlavorDeleted", 1, "f5cbcd0742a23dc8"),
    (16, "novalog.agent.InstanceSpawnOrdered", 1, "ecfba34d54c41a63"),
    (17, "novalog.agent.InstanceDeleteOrdered", 1, "3f23dba4bffeddc8"),
    (18, "novalog.state.HostState", 1, "61285a8843e98ada"),
    (19, "novalog.state.InstanceState", 1, "532872beca68461d"),
    (20, "novalog.state.FlavorState", 1, "8f00b55b740f3797"),
    (21, "novalog.instance.InstanceActionRequested", 1, "d5cadf56469d8a73"),
    (22, "novalog.instance.InstanceActionFailed", 1, "da340401aba95528"),
    (23, "novalog.agent.InstanceActionOrdered", 1, "e3d60c91f8bb2fe0"),
    (24, "novalog.host.HostServiceUpdated", 1, "df927ec09d581864"),
    (25, "novalog.catalog.FlavorExtraSpecsSet", 1, "acaeff984a40d8eb"),
    (26, "novalog.catalog.FlavorExtraSpecDeleted", 1, "18a4dae222436584"),
    (27, "novalog.placement.PlacementProposed", 2, "4642fdfb523fcfc5"),
    (28, "novalog.placement.ClaimAccepted", 2, "bf305cdd78875741"),
    (29, "novalog.placement.ClaimRejected", 2, "80bb3dec89890e47"),
    (30, "novalog.instance.InstanceMoveRequested", 1, "eaf99b8e03ffd9a0"),
    (31, "novalog.instance.InstanceMoveProgressed", 1, "da30bb9a11b2652a"),
    (32, "novalog.instance.InstanceMoveFailed", 1, "6479749fe4042c9d"),
    (33, "novalog.agent.InstanceMoveOrdered", 1, "d4f9ce446302f75d"),
    (34, "novalog.state.InstanceState", 2, "40f956270aabedac"),
    (35, "novalog.instance.InstanceBuildRequested", 2, "eae476b1c6b0b5b7"),
    (36, "novalog.state.InstanceState", 3, "bd60cac6fa1e425e"),
    (37, "novalog.identity.ProjectCreated", 1, "1c7ef8d162b9ab73"),
    (38, "novalog.identity.UserCreated", 1, "e6a6ff27c550d537"),
    (39, "novalog.identity.UserPasswordChanged", 1, "aecdd7c494cb6764"),
    (40, "novalog.identity.RoleAssigned", 1, "58fe69902fbaa65b"),
    (41, "novalog.identity.RoleUnassigned", 1, "6767c7e5440e2f8b"),
    (42, "novalog.state.ProjectState", 1, "f5409f33381c20b7"),
    (43, "novalog.state.UserState", 1, "0ac86ff4354ff4af"),
    (44, "novalog.quota.ServersRequested", 1, "d0c512d0f2c70e25"),
    (45, "novalog.quota.QuotaUpdated", 1, "06b274bd0e6d538e"),
    (46, "novalog.quota.QuotaUsageReleased", 1, "a1a418a73e860fd8"),
    (47, "novalog.state.QuotaState", 1, "8c0c0eb382440dd0"),
    (48, "novalog.quota.ServersRequested", 2, "364f4e001f4a5ece"),
    (49, "novalog.instance.InstanceBuildRequested", 3, "9f9ef07b1f2898f5"),
    (50, "novalog.agent.InstanceSpawnOrdered", 2, "1610ce12aef36c2f"),
    (51, "novalog.agent.InstanceMoveOrdered", 2, "607ac66a6fb58d53"),
    (52, "novalog.image.ImageCreated", 1, "d7f2d3a11ba7302e"),
    (53, "novalog.image.ImageUploaded", 1, "9f236eefceaf659f"),
    (54, "novalog.image.ImageUpdated", 1, "3ec51bf43bcce19b"),
    (55, "novalog.image.ImageDeleted", 1, "54ff2ec50d70d63d"),
    (56, "novalog.state.InstanceState", 4, "60d93b7bc164e7c3"),
    (57, "novalog.state.ImageState", 1, "47cccb70197367d3"),
    (58, "novalog.tenant.KeypairCreated", 1, "3193581b582c0fc6"),
    (59, "novalog.tenant.KeypairDeleted", 1, "7185c703c852ed35"),
    (60, "novalog.tenant.ServerGroupCreated", 1, "21b3f56c5e9fdd67"),
    (61, "novalog.tenant.ServerGroupDeleted", 1, "9122b904412ec123"),
    (62, "novalog.state.KeypairState", 1, "f1fa176ee6e6bee3"),
    (63, "novalog.state.ServerGroupState", 1, "e1d14481ff90aad6"),
    (64, "novalog.aggregate.AggregateCreated", 1, "ccd192881b926beb"),
    (65, "novalog.aggregate.AggregateUpdated", 1, "8703d5ed19d2102a"),
    (66, "novalog.aggregate.AggregateDeleted", 1, "1426c995f33ff7fd"),
    (67, "novalog.aggregate.AggregateHostAdded", 1, "abeb2b71d9717d4c"),
    (68, "novalog.aggregate.AggregateHostRemoved", 1, "873bcae5ecce5965"),
    (69, "novalog.aggregate.AggregateMetadataSet", 1, "563d8a2c5085cbce"),
    (70, "novalog.state.AggregatesState", 1, "78882c5d4af63d9b"),
    (71, "novalog.catalog.FlavorAccessAdded", 1, "042ad43854c8620a"),
    (72, "novalog.catalog.FlavorAccessRemoved", 1, "5bdccdebe9cd175e"),
    (73, "novalog.state.FlavorState", 2, "9787bd40a2ed86a4"),
    (74, "novalog.state.QuotaState", 2, "1420651ca876b9d1"),
    (75, "novalog.quota.KeypairRequested", 1, "b807fc2c428c7a6b"),
    (76, "novalog.quota.ServerGroupRequested", 1, "c1151cee26c23b55"),
    (77, "novalog.quota.TenantQuotaReleased", 1, "954025ac091a42ec"),
    (78, "novalog.tenant.KeypairCreated", 2, "8bc69734fd45d8f8"),
    (79, "novalog.tenant.ServerGroupCreated", 2, "515b517173ebf94a"),
    (80, "novalog.state.QuotaState", 3, "8d8cb57f9c030138"),
    (81, "novalog.state.KeypairState", 2, "f52ae13e145334f6"),
    (82, "novalog.state.ServerGroupState", 2, "757d66d010ae4461"),
    (83, "novalog.quota.ServersRequested", 3, "297fd0ffc9e7c3f4"),
    (84, "novalog.instance.InstanceBuildRequested", 4, "c5fc19b65d9b2712"),
    (107, "novalog.instance.InstanceMetadataSet", 1, "1b2e4fea3c01be02"),
    (108, "novalog.instance.InstanceMetadataDeleted", 1, "4b013d2ca9fbd7ec"),
    (109, "novalog.instance.InstanceLocked", 1, "d53c38fc456744e5"),
    (110, "novalog.instance.InstanceUnlocked", 1, "1565710ad6dafa8c"),
    (111, "novalog.instance.InstanceConsoleRequested", 1, "73848f68f738db4f"),
    (112, "novalog.instance.InstanceConsoleReported", 1, "7acad1710b4fa75d"),
    (113, "novalog.agent.InstanceConsoleOrdered", 1, "f06f64bf0744f3a1"),
    (114, "novalog.state.InstanceState", 8, "b9bc4baa6a75d3de"),
    (119, "novalog.network.NetworkCreated", 1, "48651491763ec357"),
    (120, "novalog.network.NetworkUpdated", 1, "2f55fb77871e50e9"),
    (121, "novalog.network.NetworkDeleted", 1, "1eb1498edd458c3b"),
    (122, "novalog.network.SubnetCreated", 1, "947f5519e65274f0"),
    (123, "novalog.network.SubnetDeleted", 1, "417d9037483d973e"),
    (124, "novalog.network.PortRequested", 1, "761b3cca790fe051"),
    (125, "novalog.network.PortAllocated", 1, "2290390f369999d1"),
    (126, "novalog.network.PortAllocationRefused", 1, "27956b018f31ec0e"),
    (127, "novalog.network.PortDeleted", 1, "6e95ed75d4492823"),
    (128, "novalog.network.SecurityGroupCreated", 1, "92f539cf1517c6cd"),
    (129, "novalog.network.SecurityGroupDeleted", 1, "2dc883c712d23253"),
    (130, "novalog.network.SecurityGroupRuleCreated", 1, "d0bcf2da7a2c489a"),
    (131, "novalog.network.SecurityGroupRuleDeleted", 1, "ddb7b5bd5bc04d9e"),
    (132, "novalog.state.NetworkState", 1, "30c162e47c28c889"),
    (133, "novalog.state.SecurityGroupState", 1, "5a6f6ebbe0f306c4"),
]


def entry_id(entry: ManifestEntry) -> str:
    return f"{entry.id}-{entry.name.rpartition('.')[2]}-v{entry.version}"


def raw_schema(file: str) -> dict[str, Any]:
    return json.loads((SCHEMAS_DIR / file).read_text())


def load(schemas_dir: Path, file: str) -> Any:
    """A manifest file parsed with its named references resolved from schemas_dir (also for history/ files)."""
    return load_schema(str(Path(file).with_suffix("")), repo=FlatDictRepository(str(schemas_dir)))


# --- the code and the published schemas agree ---


def test_every_schema_file_is_a_record_of_the_code() -> None:
    assert sorted(p.stem for p in SCHEMAS_DIR.glob("*.avsc")) == sorted(CLASSES)


@pytest.mark.parametrize("cls", CLASSES.values(), ids=list(CLASSES))
def test_the_schema_file_is_what_the_class_implies(cls) -> None:
    assert raw_schema(f"{full_name(cls)}.avsc") == schema_of(cls)


def test_every_event_and_row_type_is_in_the_manifest_and_nothing_else() -> None:
    # the shared records (Envelope, Flavor...) are only referenced, never framed on their own
    assert sorted({e.name for e in MANIFEST}) == sorted(full_name(cls) for cls in RECORD_TYPES)


@pytest.mark.parametrize("entry", MANIFEST, ids=entry_id)
def test_the_entry_names_its_file_and_the_file_its_record(entry) -> None:
    latest = max(e.version for e in MANIFEST if e.name == entry.name)
    expected_file = f"{entry.name}.avsc" if entry.version == latest else f"history/{entry.name}.v{entry.version}.avsc"
    schema = raw_schema(entry.file)

    assert entry.file == expected_file
    assert f"{schema['namespace']}.{schema['name']}" == entry.name


# --- ids are permanent ---


@pytest.mark.parametrize("entry", MANIFEST, ids=entry_id)
def test_the_fingerprint_pins_the_schema(entry) -> None:
    assert schema_fingerprint(SCHEMAS_DIR / entry.file) == entry.fingerprint


def test_a_change_in_a_shared_record_changes_the_fingerprint_of_every_event_using_it(tmp_path: Path) -> None:
    """The canonical form inlines Envelope, so an Envelope edit cannot slip in under the events' ids."""
    shutil.copytree(SCHEMAS_DIR, tmp_path, dirs_exist_ok=True)
    envelope = raw_schema("novalog.common.Envelope.avsc")
    envelope["fields"].append({"name": "tenant", "type": ["null", "string"], "default": None})
    (tmp_path / "novalog.common.Envelope.avsc").write_text(json.dumps(envelope))
    events = [e for e in MANIFEST if e.name.rpartition(".")[0] != "novalog.state"]

    changed = {e.name for e in events if schema_fingerprint(tmp_path / e.file) != e.fingerprint}

    assert changed == {e.name for e in events}


def test_ids_are_unique_positive_and_only_appended() -> None:
    ids = [e.id for e in MANIFEST]

    assert ids == sorted(set(ids))
    assert ids[0] >= 1


def test_a_subject_has_each_version_once() -> None:
    pairs = [(e.subject, e.version) for e in MANIFEST]

    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(("schema_id", "name", "version", "fingerprint"), PUBLISHED, ids=[f"{p[0]}-{p[1].rpartition('.')[2]}" for p in PUBLISHED])
def test_a_published_id_keeps_its_schema(schema_id, name, version, fingerprint) -> None:
    (entry,) = [e for e in MANIFEST if e.id == schema_id]

    assert (entry.name, entry.version, entry.fingerprint) == (name, version, fingerprint)


@pytest.mark.parametrize("entry", MANIFEST, ids=entry_id)
def test_the_subject_is_the_record_full_name(entry) -> None:
    # RecordNameStrategy: "novalog.placement.PlacementProposed", whatever the topic prefix and whichever
    # topic carries it (agent commands travel on one topic per host, novalog.agent.<host>)
    assert entry.subject == entry.name


def test_versions_of_a_name_count_up_from_one_with_growing_ids() -> None:
    by_name: dict[str, list[ManifestEntry]] = defaultdict(list)
    for e in MANIFEST:
        by_name[e.name].append(e)

    for name, entries in by_name.items():
        by_version = sorted(entries, key=lambda e: e.version)
        assert [e.version for e in by_version] == list(range(1, len(entries) + 1)), name
        assert [e.id for e in by_version] == sorted(e.id for e in entries), name


# --- union and default rules ---


def _fields(schema: Any, where: str):
    """Every (place, field) of the record schemas in a schema, at any depth."""
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            name = f"{schema.get('namespace', where)}.{schema['name']}"
            for f in schema["fields"]:
                yield name, f
                yield from _fields(f["type"], name)
        else:
            for key in ("items", "values"):
                if key in schema:
                    yield from _fields(schema[key], where)
    elif isinstance(schema, list):
        for branch in schema:
            yield from _fields(branch, where)


ALL_FIELDS = [
    (f"{record}.{f['name']}", f)
    for path in sorted(SCHEMAS_DIR.glob("**/*.avsc"))
    for record, f in _fields(json.loads(path.read_text()), "")
]


def _branch_type(branch: Any) -> str:
    return branch if isinstance(branch, str) else branch["type"]


def test_unions_with_a_null_default_list_null_first() -> None:
    wrong = [place for place, f in ALL_FIELDS if isinstance(f["type"], list) and "default" in f and f["default"] is None and f["type"][0] != "null"]

    assert wrong == []


def test_nullable_fields_have_a_default_so_versions_may_add_or_drop_them() -> None:
    no_default = [place for place, f in ALL_FIELDS if isinstance(f["type"], list) and "null" in f["type"] and "default" not in f]

    assert no_default == []


def _matches(branch: Any, value: Any) -> bool:
    kind = _branch_type(branch)
    checks = {
        "null": value is None,
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, (int, float)) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "map": isinstance(value, dict),
    }
    return checks.get(kind, isinstance(value, dict))


def test_a_union_default_is_a_value_of_its_first_branch() -> None:
    """The Avro specification's rule, enforced by Java Avro before 1.12 (AVRO-3649 relaxed it) and
    so by Schema Registry builds on Avro 1.11: ["null", "string"] cannot default to "scheduling"."""
    wrong = [
        f"{place}: {f['type']} default {f['default']!r}"
        for place, f in ALL_FIELDS
        if isinstance(f["type"], list) and "default" in f and not _matches(f["type"][0], f["default"])
    ]

    assert wrong == []


def test_every_default_is_valid_for_its_type() -> None:
    wrong = [
        f"{place}: {f['type']} default {f['default']!r}"
        for place, f in ALL_FIELDS
        if "default" in f and not any(_matches(b, f["default"]) for b in (f["type"] if isinstance(f["type"], list) else [f["type"]]))
    ]

    assert wrong == []


# --- FULL_TRANSITIVE: every version reads every other version's data ---


def resolution_failures(writer: Any, reader: Any, samples: int = 20) -> list[str]:
    """Why data written with `writer` cannot be read with `reader` (empty when it can)."""
    failures = []
    for datum in generate_many(writer, samples):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer, datum)
        buf.seek(0)
        try:
            fastavro.schemaless_reader(buf, writer, reader)
        except Exception as exc:  # SchemaResolutionError and kin
            failures.append(f"{type(exc).__name__}: {exc}")
    return sorted(set(failures))


def field_rule_failures(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """FULL's field rule: a field may be added or removed only if it has a default."""
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    added = [f"added without a default: {n}" for n in new_fields.keys() - old_fields.keys() if "default" not in new_fields[n]]
    removed = [f"removed without a default: {n}" for n in old_fields.keys() - new_fields.keys() if "default" not in old_fields[n]]
    return sorted(added + removed)


def full_transitive_failures(entries: list[ManifestEntry], schemas_dir: Path) -> dict[str, list[str]]:
    """For every ordered pair of versions of one name: what goes wrong reading one's data with the other."""
    failures: dict[str, list[str]] = {}
    for a, b in permutations(entries, 2):
        if a.name != b.name:
            continue
        found = resolution_failures(load(schemas_dir, a.file), load(schemas_dir, b.file))
        if a.version < b.version:
            found += field_rule_failures(
                json.loads((schemas_dir / a.file).read_text()), json.loads((schemas_dir / b.file).read_text())
            )
        if found:
            failures[f"{a.name} v{a.version} -> v{b.version}"] = found
    return failures


def test_every_version_reads_every_other_versions_data() -> None:
    names = {e.name for e in MANIFEST}
    pairs = [(a, b) for a, b in permutations(MANIFEST, 2) if a.name == b.name]

    if not pairs:
        # Nothing has evolved yet: each name has exactly one entry, version 1.
        assert sorted((e.name, e.version) for e in MANIFEST) == sorted((n, 1) for n in names)
    assert full_transitive_failures(MANIFEST, SCHEMAS_DIR) == {}


V1 = {"type": "record", "name": "Probe", "namespace": "novalog.test", "fields": [{"name": "a", "type": "string"}]}


@pytest.mark.parametrize(
    ("v2_fields", "failing"),
    [
        pytest.param([{"name": "a", "type": "string"}, {"name": "b", "type": "long", "default": 0}], [], id="add-with-default"),
        pytest.param([{"name": "a", "type": "string"}, {"name": "b", "type": ["null", "string"], "default": None}], [], id="add-nullable"),
        # v1 data has no b and v2 has no default for it
        pytest.param([{"name": "a", "type": "string"}, {"name": "b", "type": "long"}], ["v1 -> v2"], id="add-without-default"),
        # v2 data has no a and v1 has no default for it; and a had no default to be removed with
        pytest.param([], ["v1 -> v2", "v2 -> v1"], id="remove-without-default"),
        pytest.param([{"name": "a", "type": "long"}], ["v1 -> v2", "v2 -> v1"], id="string-to-long"),
    ],
)
def test_the_compatibility_check_catches_what_full_forbids(tmp_path: Path, v2_fields, failing) -> None:
    """The check above has found nothing to compare yet; here it is shown to tell good pairs from bad."""
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "novalog.test.Probe.v1.avsc").write_text(json.dumps(V1))
    (tmp_path / "novalog.test.Probe.avsc").write_text(json.dumps(dict(V1, fields=v2_fields)))
    entries = [
        ManifestEntry(1, "t-novalog.test.Probe", "novalog.test.Probe", 1, "history/novalog.test.Probe.v1.avsc", ""),
        ManifestEntry(2, "t-novalog.test.Probe", "novalog.test.Probe", 2, "novalog.test.Probe.avsc", ""),
    ]

    found = full_transitive_failures(entries, tmp_path)

    assert sorted(k.removeprefix("novalog.test.Probe ") for k in found) == failing


def test_the_publishing_tool_finds_nothing_to_publish(tmp_path: Path) -> None:
    """schemas/ is what `python -m novalog.events.schema_tool` makes of the code: nothing left to append."""
    shutil.copytree(SCHEMAS_DIR, tmp_path, dirs_exist_ok=True)

    assert publish(tmp_path) == []
    assert (tmp_path / "manifest.json").read_text() == (SCHEMAS_DIR / "manifest.json").read_text()


def test_every_schema_parses() -> None:
    for entry in MANIFEST:
        assert parse_schema(load(SCHEMAS_DIR, entry.file))["name"] == entry.name
