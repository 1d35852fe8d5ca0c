"""What a Schema Registry says about novalog's schemas, read from the manifest.

Subjects are record full names (RecordNameStrategy), a subject's versions
are the manifest's versions of that record, and ids are the manifest's ids,
the ones in the wire framing. Every schema is given self-contained: the
shared `novalog.common.*` records are written out at their first use and
named after that, so a reader needs no other schema (no registry
references) to parse it. Its parsing canonical form is the one the
manifest's fingerprint pins.

The errors carry Confluent's error codes, so the HTTP shell only maps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from fastavro.schema import parse_schema, to_parsing_canonical_form

from novalog.events.codec import SCHEMAS_DIR, ManifestEntry, load_entry_schema, read_manifest

LATEST = "latest"
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"  # what Confluent's registry answers and accepts


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One version of one subject, as Confluent's registry answers it."""

    subject: str
    version: int
    id: int
    schema: str  # the Avro schema as JSON text, self-contained


class RegistryError(LookupError):
    """A question the registry cannot answer; `error_code` and `status` are Confluent's."""

    error_code: ClassVar[int]
    status: ClassVar[int] = 404


class SubjectNotFound(RegistryError):
    error_code = 40401


class VersionNotFound(RegistryError):
    error_code = 40402


class SchemaNotFound(RegistryError):
    error_code = 40403


class InvalidVersion(RegistryError):
    error_code = 42202
    status = 422


class InvalidSchema(RegistryError):
    error_code = 42201
    status = 422


def self_contained(entry: ManifestEntry, schemas_dir: Path = SCHEMAS_DIR) -> str:
    """The entry's schema as compact JSON with every named type it uses written out once."""
    return json.dumps(load_entry_schema(entry.file, schemas_dir), separators=(",", ":"))


def canonical_form(schema_text: str) -> str:
    """Avro's parsing canonical form of a schema given as JSON text (what identifies it, docs and defaults aside)."""
    try:
        return to_parsing_canonical_form(parse_schema(json.loads(schema_text)))
    except Exception as exc:  # json.JSONDecodeError, fastavro's SchemaParseException, UnknownType...
        raise InvalidSchema(f"Invalid schema: {exc}") from exc


class RegistryIndex:
    """Subjects, versions and ids of the manifest, answering the registry's read questions."""

    def __init__(self, schemas: list[RegisteredSchema]) -> None:
        self._by_id = {s.id: s for s in sorted(schemas, key=lambda s: s.id)}
        self._by_subject: dict[str, dict[int, RegisteredSchema]] = {}
        for s in self._by_id.values():
            self._by_subject.setdefault(s.subject, {})[s.version] = s
        self._canonical = {s.id: canonical_form(s.schema) for s in self._by_id.values()}

    @classmethod
    def from_manifest(cls, schemas_dir: Path = SCHEMAS_DIR) -> RegistryIndex:
        return cls([
            RegisteredSchema(e.subject, e.version, e.id, self_contained(e, schemas_dir)) for e in read_manifest(schemas_dir)
        ])

    def subjects(self, prefix: str = "") -> list[str]:
        """Every subject, in the order of its first id (as a registry lists them)."""
        return [s for s in self._by_subject if s.startswith(prefix)]

    def versions(self, subject: str) -> list[int]:
        return sorted(self._subject(subject))

    def version(self, subject: str, version: str | int) -> RegisteredSchema:
        """A version by number, or `latest` (also Confluent's `-1`)."""
        versions = self._subject(subject)
        if str(version) in (LATEST, "-1"):
            return versions[max(versions)]
        try:
            number = int(version)
        except ValueError:
            raise InvalidVersion(f"The specified version '{version}' is not a valid version id. "
                                 "Allowed values are between [1, 2^31-1] and the string \"latest\"") from None
        if number < 1:
            raise InvalidVersion(f"The specified version '{version}' is not a valid version id.")
        if number not in versions:
            raise VersionNotFound(f"Version {number} not found.")
        return versions[number]

    def by_id(self, schema_id: int | str) -> RegisteredSchema:
        try:
            return self._by_id[int(schema_id)]
        except (KeyError, ValueError):
            raise SchemaNotFound(f"Schema {schema_id} not found") from None

    def lookup(self, subject: str, schema_text: str) -> RegisteredSchema:
        """The version of `subject` whose schema is this one (same canonical form), as `POST /subjects/{s}` finds it."""
        versions = self._subject(subject)
        wanted = canonical_form(schema_text)
        for s in versions.values():
            if self._canonical[s.id] == wanted:
                return s
        raise SchemaNotFound("Schema not found")

    def registrations(self) -> list[RegisteredSchema]:
        """Every version of every subject in id order: the order to register them elsewhere."""
        return list(self._by_id.values())

    def _subject(self, subject: str) -> dict[int, RegisteredSchema]:
        try:
            return self._by_subject[subject]
        except KeyError:
            raise SubjectNotFound(f"Subject '{subject}' not found.") from None
