"""`novalog schemas publish` against a registry that records what it is asked (no broker needed).

The stand-in answers the calls publishing makes the way Confluent's registry
does: its own ids in READWRITE mode (from 100001, as a registry holding
other schemas would), the given ids only in IMPORT mode, 409 for a refused
schema, 404 for what it does not serve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from builders import build_claim_accepted
from novalog.events.codec import encode
from novalog.events.registry import RegistryIndex

SCHEMAS = RegistryIndex.from_manifest().registrations()
SUBJECTS = list(dict.fromkeys(s.subject for s in SCHEMAS))


class RecordingRegistry:
    """Every request as (method, path, query, body); schemas kept by id, versions counted per subject."""

    def __init__(self, refuse: str | None = None) -> None:
        self.requests: list[tuple[str, str, str, Any]] = []
        self.modes: dict[str, str] = {}
        self.schemas: dict[int, str] = {}
        self.versions: dict[str, dict[int, int]] = {}  # subject -> version -> id
        self.refuse = refuse
        self._next_id = 100_001
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((method, path, query, body))
            parts = path.strip("/").split("/")
            if method == "PUT" and parts[0] in ("config", "mode") and len(parts) == 2:
                if parts[0] == "mode":
                    self.modes[parts[1]] = body["mode"]
                return 200, body
            if method == "POST" and len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                return self._register(parts[1], body)
            if method == "GET" and parts[:2] == ["schemas", "ids"] and int(parts[2]) in self.schemas:
                return 200, {"schema": self.schemas[int(parts[2])]}
            return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}

    def _register(self, subject: str, body: dict[str, Any]) -> tuple[int, Any]:
        if subject == self.refuse:
            return 409, {"error_code": 409, "message": "Schema being registered is incompatible with an earlier schema"}
        versions = self.versions.setdefault(subject, {})
        if self.modes.get(subject) == "IMPORT":
            if "id" not in body or "version" not in body:
                return 422, {"error_code": 42205, "message": "an import needs the id and the version"}
            schema_id, version = body["id"], body["version"]
        elif "id" in body:
            return 422, {"error_code": 42205, "message": "Schema id provided in non-import mode"}
        else:
            same = [i for i, text in self.schemas.items() if text == body["schema"]]
            if same and same[0] in versions.values():
                return 200, {"id": same[0]}
            if same:
                schema_id = same[0]  # one id per schema, under every subject that registers it
            else:
                schema_id, self._next_id = self._next_id, self._next_id + 1
            version = max(versions, default=0) + 1
        self.schemas[schema_id] = body["schema"]
        versions[version] = schema_id
        return 200, {"id": schema_id}


@pytest.fixture
def registry() -> Iterator[tuple[RecordingRegistry, str]]:
    yield from _serve(RecordingRegistry())


@pytest.fixture
def refusing_registry() -> Iterator[tuple[RecordingRegistry, str]]:
    yield from _serve(RecordingRegistry(refuse="novalog.placement.ClaimAccepted"))


def _serve(recorder: RecordingRegistry) -> Iterator[tuple[RecordingRegistry, str]]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = recorder.answer(self.command, unquote(url.path), url.query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def publish(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NOVALOG_SCHEMA_REGISTRY_URL"}
    if url:
        env["NOVALOG_SCHEMA_REGISTRY_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "novalog", "schemas", "publish", *args], env=env, capture_output=True, text=True, timeout=120,
    )


def posts(recorder: RecordingRegistry) -> list[tuple[str, Any]]:
    return [(path, body) for method, path, _, body in recorder.requests if method == "POST"]


def test_publish_registers_every_version_in_id_order_and_says_the_registry_renumbered_them(registry) -> None:
    recorder, url = registry

    done = publish(url=url)  # the URL from NOVALOG_SCHEMA_REGISTRY_URL

    assert done.returncode == 0, done.stderr
    assert posts(recorder) == [(f"/subjects/{s.subject}/versions", {"schema": s.schema}) for s in SCHEMAS]
    # the registry's versions are the manifest's, its ids its own (100001 for novalog's id 1)
    assert {subject: sorted(v) for subject, v in recorder.versions.items()} == {
        subject: [s.version for s in SCHEMAS if s.subject == subject] for subject in SUBJECTS
    }
    assert "novalog.instance.InstanceBuildRequested v1: id 1 (the registry's id: 100001)" in done.stdout
    assert f"{len(SCHEMAS)} schemas registered at {url}, each subject FULL_TRANSITIVE" in done.stdout
    assert f"the registry gave {len(SCHEMAS)} schemas ids of its own" in done.stderr


def test_each_subject_is_made_full_transitive_before_its_first_version(registry) -> None:
    recorder, url = registry

    assert publish("--url", url).returncode == 0

    paths = [(method, path) for method, path, _, _ in recorder.requests]
    for subject in SUBJECTS:
        config = paths.index(("PUT", f"/config/{subject}"))
        assert config < paths.index(("POST", f"/subjects/{subject}/versions"))
    configs = [body for method, path, _, body in recorder.requests if path.startswith("/config/")]
    assert configs == [{"compatibility": "FULL_TRANSITIVE"}] * len(SUBJECTS)


def test_publishing_again_changes_nothing(registry) -> None:
    recorder, url = registry
    assert publish("--url", url).returncode == 0
    first = (dict(recorder.schemas), json.loads(json.dumps(recorder.versions)))

    again = publish("--url", url)

    assert again.returncode == 0, again.stderr
    assert (recorder.schemas, json.loads(json.dumps(recorder.versions))) == first


def test_keep_ids_imports_novalogs_ids_so_a_stock_deserializer_reads_the_wire_through_that_registry(registry) -> None:
    recorder, url = registry

    done = publish("--url", url, "--keep-ids")

    assert done.returncode == 0, done.stderr
    assert posts(recorder) == [
        (f"/subjects/{s.subject}/versions", {"schema": s.schema, "id": s.id, "version": s.version}) for s in SCHEMAS
    ]
    assert recorder.schemas == {s.id: s.schema for s in SCHEMAS}
    modes = [(path, body["mode"], query) for method, path, query, body in recorder.requests if path.startswith("/mode/")]
    assert modes == [(f"/mode/{s}", "IMPORT", "force=true") for s in SUBJECTS] + [(f"/mode/{s}", "READWRITE", "") for s in SUBJECTS]
    assert "(the registry's id" not in done.stdout and "warning" not in done.stderr
    # a record as novalog writes it, resolved at the loaded registry by a stock client
    record = build_claim_accepted()
    decoded = AvroDeserializer(SchemaRegistryClient({"url": url}))(
        encode(record), SerializationContext("novalog.instance.events", MessageField.VALUE)
    )
    assert (decoded["claim_id"], decoded["host"], decoded["envelope"]["event_id"]) == (
        record.claim_id, record.host, record.envelope.event_id,
    )


def test_without_a_registry_configured_publish_says_how_to_configure_one() -> None:
    done = publish()

    assert done.returncode == 1
    assert "set NOVALOG_SCHEMA_REGISTRY_URL or pass --url" in done.stderr


def test_a_refusal_stops_publishing_and_names_the_subject_and_the_registrys_answer(refusing_registry) -> None:
    recorder, url = refusing_registry

    done = publish("--url", url)

    assert done.returncode == 1
    assert "/subjects/novalog.placement.ClaimAccepted/versions: HTTP 409" in done.stderr
    assert "incompatible with an earlier schema" in done.stderr
    assert posts(recorder)[-1][0] == "/subjects/novalog.placement.ClaimAccepted/versions"
