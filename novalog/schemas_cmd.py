"""`novalog serve schema-registry` and `novalog schemas`: novalog's schemas for any Kafka consumer."""

from __future__ import annotations

import click

from novalog.settings import get_settings


@click.group()
def schemas() -> None:
    """novalog's Avro schemas (schemas/manifest.json) and the registries that serve them."""


@click.command("schema-registry")
def serve_schema_registry() -> None:
    """The read-only Schema Registry subset on NOVALOG_SCHEMA_REGISTRY_HOST:NOVALOG_SCHEMA_REGISTRY_PORT (8081)."""
    from novalog.services import serve_schema_registry as run

    run(get_settings())
