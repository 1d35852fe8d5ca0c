"""The Schema Registry subset: subjects, versions and ids from the manifest, each schema self-contained.

What a stock registry client needs from it is checked end to end in
tests/integration/test_schema_registry.py; here, the answers themselves and
their HTTP shapes (Confluent's bodies, error codes and media type).
"""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from fastapi.testclient import TestClient
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from builders import build_build_requested, build_host_state
from novalog.api.schema_registry import MEDIA_TYPE, create_registry_app
from novalog.events.codec import HEADER, encode, load_entry_schema, read_manifest
from novalog.events.registry import (
    InvalidSchema,
    InvalidVersion,
    RegistryIndex,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)

MANIFEST = read_manifest()
INDEX = RegistryIndex.from_manifest()
BUILD = "novalog.instance.InstanceBuildRequested"


def test_there_is_one_subject_per_framed_record_named_after_it_in_order_of_first_id() -> None:
    first_ids: dict[str, int] = {}
    for e in MANIFEST:
        first_ids.setdefault(e.name, e.id)

    assert INDEX.subjects() == sorted(first_ids, key=first_ids.__getitem__)
    assert INDEX.subjects()[0] == BUILD  # id 1


def test_a_prefix_narrows_the_subjects() -> None:
    assert INDEX.subjects("novalog.placement.") == [
        "novalog.placement.PlacementProposed", "novalog.placement.ClaimAccepted",
        "novalog.placement.ClaimRejected", "novalog.placement.ClaimReleased",
    ]


def test_the_versions_of_a_subject_are_the_manifests_with_their_ids() -> None:
    # InstanceBuildRequested was published as ids 1, 35, 49, 84 and 88 (each later version appends one)
    assert INDEX.versions(BUILD)[:5] == [1, 2, 3, 4, 5]
    assert [INDEX.version(BUILD, v).id for v in ("1", "2", "3", "4", "5")] == [1, 35, 49, 84, 88]


@pytest.mark.parametrize("latest", ["latest", "-1", -1])
def test_latest_is_the_highest_version(latest) -> None:
    last = max((e for e in MANIFEST if e.name == BUILD), key=lambda e: e.version)
    assert (INDEX.version(BUILD, latest).version, INDEX.version(BUILD, latest).id) == (last.version, last.id)


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: f"{e.id}-{e.name.rpartition('.')[2]}-v{e.version}")
def test_every_id_serves_a_schema_that_parses_alone_and_is_the_one_its_fingerprint_pins(entry) -> None:
    served = INDEX.by_id(entry.id)
    schema = parse_schema(json.loads(served.schema))  # no repository: the named common records are inside

    assert (served.subject, served.version, served.id) == (entry.subject, entry.version, entry.id)
    assert schema["name"] == entry.name
    assert fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO") == entry.fingerprint


@pytest.mark.parametrize("record", [build_build_requested(), build_host_state()], ids=lambda r: type(r).__name__)
def test_a_served_schema_reads_what_the_codec_writes_as_the_codecs_own_schema_does(record) -> None:
    data = encode(record)
    _, schema_id = HEADER.unpack_from(data)
    (entry,) = [e for e in MANIFEST if e.id == schema_id]

    def read(writer):
        body = io.BytesIO(data[HEADER.size:])
        value = fastavro.schemaless_reader(body, writer, None)
        assert body.read() == b""
        return value

    assert read(parse_schema(json.loads(INDEX.by_id(schema_id).schema))) == read(load_entry_schema(entry.file))


@pytest.mark.parametrize(
    ("ask", "error", "code"),
    [
        pytest.param(lambda: INDEX.versions("novalog.instance.Nope"), SubjectNotFound, 40401, id="unknown-subject"),
        pytest.param(lambda: INDEX.version("novalog.instance.events-value", "1"), SubjectNotFound, 40401, id="topic-subject"),
        pytest.param(lambda: INDEX.version(BUILD, "99"), VersionNotFound, 40402, id="unknown-version"),
        pytest.param(lambda: INDEX.version(BUILD, "first"), InvalidVersion, 42202, id="not-a-version"),
        pytest.param(lambda: INDEX.version(BUILD, "0"), InvalidVersion, 42202, id="version-zero"),
        pytest.param(lambda: INDEX.by_id(0), SchemaNotFound, 40403, id="id-zero"),
        pytest.param(lambda: INDEX.by_id(10_000), SchemaNotFound, 40403, id="unknown-id"),
        pytest.param(lambda: INDEX.by_id("x"), SchemaNotFound, 40403, id="not-an-id"),
    ],
)
def test_what_the_registry_does_not_have_is_an_error_with_confluents_code(ask, error, code) -> None:
    with pytest.raises(error) as raised:
        ask()

    assert raised.value.error_code == code


def test_a_lookup_finds_the_version_with_the_same_canonical_form() -> None:
    v2 = INDEX.version(BUILD, "2")
    # the same schema, reformatted and with its docs dropped, is still version 2
    reformatted = json.dumps(_without_docs(json.loads(v2.schema)), indent=4)

    assert INDEX.lookup(BUILD, reformatted) == v2


def test_a_lookup_of_another_records_schema_or_of_nonsense_finds_nothing() -> None:
    other = INDEX.version("novalog.state.HostState", "latest").schema

    with pytest.raises(SchemaNotFound):
        INDEX.lookup(BUILD, other)
    with pytest.raises(InvalidSchema):
        INDEX.lookup(BUILD, "{not json")
    with pytest.raises(SubjectNotFound):
        INDEX.lookup("novalog.instance.Nope", other)


def test_registrations_are_every_id_in_order() -> None:
    assert [(r.id, r.subject, r.version) for r in INDEX.registrations()] == [(e.id, e.subject, e.version) for e in MANIFEST]


def _without_docs(schema):
    if isinstance(schema, dict):
        return {k: _without_docs(v) for k, v in schema.items() if k != "doc"}
    if isinstance(schema, list):
        return [_without_docs(v) for v in schema]
    return schema


# --- over HTTP, in Confluent's shapes ---

HTTP = TestClient(create_registry_app(INDEX))


def test_http_lists_subjects_and_versions() -> None:
    subjects = HTTP.get("/subjects")
    versions = HTTP.get(f"/subjects/{BUILD}/versions")

    assert (subjects.status_code, subjects.headers["content-type"]) == (200, MEDIA_TYPE)
    assert subjects.json() == INDEX.subjects()
    assert versions.json() == INDEX.versions(BUILD) and versions.json()[:5] == [1, 2, 3, 4, 5]


def test_http_serves_a_version_without_schema_type_for_avro() -> None:
    body = HTTP.get(f"/subjects/{BUILD}/versions/latest").json()

    last = INDEX.version(BUILD, "latest")
    assert body == {"subject": BUILD, "version": last.version, "id": last.id, "schema": INDEX.by_id(last.id).schema}
    assert last.version >= 5
    assert json.loads(HTTP.get(f"/subjects/{BUILD}/versions/2/schema").text) == json.loads(INDEX.by_id(35).schema)


def test_http_serves_an_id_whatever_subject_the_client_names() -> None:
    plain = HTTP.get("/schemas/ids/35")
    # Confluent's deserializer asks with the TopicNameStrategy subject of the topic it reads
    named = HTTP.get("/schemas/ids/35", params={"subject": "novalog.instance.events-value"})

    assert plain.json() == named.json() == {"schema": INDEX.by_id(35).schema}


def test_http_lookup_answers_the_registered_version() -> None:
    found = HTTP.post(f"/subjects/{BUILD}", json={"schema": INDEX.by_id(49).schema})
    missing = HTTP.post(f"/subjects/{BUILD}", json={"schema": INDEX.by_id(12).schema})
    wrong_type = HTTP.post(f"/subjects/{BUILD}", json={"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"})

    assert found.json() == {"subject": BUILD, "version": 3, "id": 49, "schema": INDEX.by_id(49).schema}
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40403)
    assert (wrong_type.status_code, wrong_type.json()["error_code"]) == (422, 42201)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("get", "/subjects/novalog.instance.Nope/versions", 404, 40401, id="unknown-subject"),
        pytest.param("get", f"/subjects/{BUILD}/versions/99", 404, 40402, id="unknown-version"),
        pytest.param("get", f"/subjects/{BUILD}/versions/newest", 422, 42202, id="bad-version"),
        pytest.param("get", "/schemas/ids/999", 404, 40403, id="unknown-id"),
        # the stock deserializer's association lookup: a 404 means "no association"
        pytest.param("get", "/associations/resources/-/novalog.instance.events", 404, 404, id="associations"),
        pytest.param("get", "/config", 404, 404, id="config"),
        pytest.param("get", "/docs", 404, 404, id="no-docs-page"),
        pytest.param("get", "/openapi.json", 404, 404, id="no-openapi"),
        # read-only: registering is not served
        pytest.param("post", f"/subjects/{BUILD}/versions", 405, 405, id="register"),
        pytest.param("delete", f"/subjects/{BUILD}", 405, 405, id="delete"),
    ],
)
def test_http_errors_are_confluent_bodies(method, path, status, code) -> None:
    resp = getattr(HTTP, method)(path)

    assert (resp.status_code, resp.headers["content-type"]) == (status, MEDIA_TYPE)
    assert resp.json()["error_code"] == code
    assert resp.json()["message"]
