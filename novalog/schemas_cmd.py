"""`novalog schemas publish` and `novalog serve schema-registry`: novalog's schemas for any Kafka consumer."""

from __future__ import annotations

import click

from novalog.settings import get_settings


@click.group()
def schemas() -> None:
    """novalog's Avro schemas (schemas/manifest.json) and the registries that serve them."""


@schemas.command("publish")
@click.option("--url", default=None, help="the Schema Registry to write to [default: NOVALOG_SCHEMA_REGISTRY_URL]")
@click.option("--keep-ids", is_flag=True,
              help="register with novalog's ids and versions (the registry's IMPORT mode), so it resolves the ids on the wire")
def publish(url: str | None, keep_ids: bool) -> None:
    """Register every schema version, in id order, with an external Schema Registry."""
    from novalog.events.registry import RegistryIndex
    from novalog.schema_publish import PublishError, publish_schemas

    url = url or get_settings().schema_registry_url
    if not url:
        raise click.ClickException("no external Schema Registry is configured: set NOVALOG_SCHEMA_REGISTRY_URL or pass --url")
    try:
        published = publish_schemas(url, RegistryIndex.from_manifest().registrations(), keep_ids=keep_ids)
    except PublishError as exc:
        raise click.ClickException(f"publishing to {url} failed: {exc}") from exc
    for p in published:
        theirs = "" if p.registry_id == p.novalog_id else f" (the registry's id: {p.registry_id})"
        click.echo(f"{p.subject} v{p.version}: id {p.novalog_id}{theirs}")
    renumbered = sum(p.registry_id != p.novalog_id for p in published)
    click.echo(f"{len(published)} schemas registered at {url}, each subject FULL_TRANSITIVE")
    if renumbered:
        click.echo(
            f"warning: the registry gave {renumbered} schemas ids of its own. Records on novalog's topics carry novalog's ids, "
            "so consumers must resolve them at novalog's registry endpoint (novalog serve schema-registry), "
            "or at a registry loaded with `novalog schemas publish --keep-ids`.",
            err=True,
        )


@click.command("schema-registry")
def serve_schema_registry() -> None:
    """The read-only Schema Registry subset on NOVALOG_SCHEMA_REGISTRY_HOST:NOVALOG_SCHEMA_REGISTRY_PORT (8081)."""
    from novalog.services import serve_schema_registry as run

    run(get_settings())
