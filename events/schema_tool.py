"""Publish the schemas the code implies: `python -m novalog.events.schema_tool [--check]`.

The dataclasses are the source; schemas/ is the published contract. Running
this after a change to a record writes the new .avsc files and appends to the
manifest, never rewriting what has been published:

* a new event or row type gets the next id, version 1;
* a type whose schema changed (its own fields, or a shared record it uses)
  gets the next id as its next version; the old version's schema moves to
  `history/<name>.v<N>.avsc`, self-contained (the shared records of the day
  inlined), so the old id keeps decoding exactly the bytes written with it.

Whether the new version may be published at all (FULL_TRANSITIVE) is
tests/pure/test_schemas.py's question. `--check` only reports what would change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form

from novalog.events.avro_shapes import COMMON_RECORDS, full_name, schema_of
from novalog.events.codec import SCHEMAS_DIR, load_entry_schema
from novalog.events.state import STATE_TYPES
from novalog.events.types import EVENT_TYPES


def _fingerprint(schema: Any) -> str:
    return fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")


def _dump(schema: Any) -> str:
    return json.dumps(schema, indent=2) + "\n"


def _named(schema: dict[str, Any]) -> dict[str, Any]:
    """The expanded schema with its top-level name split into namespace and name, as the other files have it."""
    namespace, _, short = schema["name"].rpartition(".")
    rest = {k: v for k, v in schema.items() if k not in ("name", "namespace", "type")}
    return {"type": schema["type"], "name": short, "namespace": schema.get("namespace", namespace), **rest}


def publish(schemas_dir: Path = SCHEMAS_DIR, dry_run: bool = False) -> list[str]:
    """Bring schemas/ in line with the code; return one line per change."""
    manifest_path = schemas_dir / "manifest.json"
    raw = json.loads(manifest_path.read_text())
    entries: list[dict[str, Any]] = raw["schemas"]
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["name"] not in latest or entry["version"] > latest[entry["name"]]["version"]:
            latest[entry["name"]] = entry
    # The published latest versions, expanded while the shared records on disk are still theirs.
    old_expanded = {name: load_entry_schema(e["file"], schemas_dir) for name, e in latest.items()}

    changes: list[str] = []
    wanted = {full_name(cls): schema_of(cls) for cls in (*COMMON_RECORDS, *EVENT_TYPES, *STATE_TYPES)}
    for name, schema in wanted.items():
        path = schemas_dir / f"{name}.avsc"
        if not path.exists() or json.loads(path.read_text()) != schema:
            changes.append(f"write {path.name}")
            if not dry_run:
                path.write_text(_dump(schema))

    next_id = max(e["id"] for e in entries) + 1
    for name in (full_name(cls) for cls in (*EVENT_TYPES, *STATE_TYPES)):
        subject = name  # RecordNameStrategy: one subject per record, whatever topic carries it
        published = latest.get(name)
        if published is None:
            new_fp = "" if dry_run else _fingerprint(load_entry_schema(f"{name}.avsc", schemas_dir))
            entries.append({"id": next_id, "subject": subject, "name": name, "version": 1, "file": f"{name}.avsc", "fingerprint": new_fp})
            changes.append(f"publish {name} v1 as id {next_id}")
            next_id += 1
            continue
        if dry_run:
            continue
        new_fp = _fingerprint(load_entry_schema(f"{name}.avsc", schemas_dir))
        if new_fp == published["fingerprint"]:
            continue
        history = schemas_dir / "history" / f"{name}.v{published['version']}.avsc"
        history.parent.mkdir(exist_ok=True)
        history.write_text(_dump(_named(old_expanded[name])))
        published["file"] = f"history/{history.name}"
        version = published["version"] + 1
        entries.append({"id": next_id, "subject": subject, "name": name, "version": version, "file": f"{name}.avsc", "fingerprint": new_fp})
        changes.append(f"publish {name} v{version} as id {next_id} (v{version - 1} kept in {published['file']})")
        next_id += 1
    if changes and not dry_run:
        manifest_path.write_text(json.dumps(raw, indent=2) + "\n")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report what would change, write nothing")
    args = parser.parse_args(argv)
    changes = publish(dry_run=args.check)
    for line in changes:
        print(line)
    if not changes:
        print("schemas/ matches the code")
    return 1 if args.check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
