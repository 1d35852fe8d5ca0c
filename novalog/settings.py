"""One settings model: NOVALOG_* environment variables over an optional TOML file.

The file is named by NOVALOG_CONFIG (or passed explicitly); environment
variables win over it, and the defaults are the embedded local stack.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from novalog.events.instance_names import DEFAULT_TEMPLATE, PARTITION_SPACE, check_template

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOVALOG_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers; the local broker by default")
    topic_prefix: str = Field("novalog", description="prefix of every topic name (tests isolate runs with it)")
    partitions: int = Field(8, ge=1, le=PARTITION_SPACE, description="partition count of the keyed event topics")
    instance_name_template: str = Field(
        DEFAULT_TEMPLATE, description="Nova's option: an instance's name (OS-EXT-SRV-ATTR:instance_name) from its number, or %(uuid)s"
    )
    state_dir: Path = Field(PROJECT_ROOT / ".state", description="project-local state: broker data, RocksDB tables")
    hosts_file: Path = Field(PROJECT_ROOT / "deploy" / "local-hosts.toml", description="the local stack's simulated hosts")

    api_host: str = "127.0.0.1"
    api_port: int = 8774
    api_write_wait: float = Field(5.0, description="seconds a write waits for its effect in the read cache")

    schema_registry_host: str = "127.0.0.1"
    schema_registry_port: int = Field(8081, description="the read-only Schema Registry subset (Confluent's usual port)")
    schema_registry_url: str | None = Field(None, description="an external Schema Registry that `novalog schemas publish` writes to")

    auth_strategy: Literal["keystone", "noauth2"] = Field(
        "keystone", description="keystone: only tokens from POST /identity/v3/auth/tokens; noauth2 (development): also trust 'user:project'"
    )
    token_key_dir: Path | None = Field(None, description="the Fernet token key repository (configuration); <state_dir>/token-keys when unset")
    token_expiration: int = Field(3600, ge=1, description="seconds a token is valid (Keystone's [token] expiration)")
    image_store_dir: Path | None = Field(None, description="where the API keeps uploaded image files; <state_dir>/images when unset")
    image_size_cap: int = Field(1 << 40, ge=1, description="largest image upload in bytes (Glance's image_size_cap); larger is 413")
    token_max_active_keys: int = Field(3, ge=2, description="keys kept by a rotation, the primary included (Keystone's max_active_keys)")

    heartbeat_interval: float = Field(10.0, gt=0, description="Nova's report_interval")
    service_down_time: float = Field(20.0, gt=0, description="a host is down when its last heartbeat is older")
    capacity_report_interval: float = Field(60.0, gt=0)

    max_attempts: int = Field(3, ge=1, description="placement attempts per instance (Nova's max_attempts)")
    scheduler_options_file: Path | None = Field(None, description="scheduler options JSON, reloaded when it changes")
    quota_defaults: dict[str, int] = Field(
        default_factory=dict, description="Nova's [quota] defaults to change, e.g. {\"instances\": 20}; -1 is unlimited"
    )
    policy_file: Path | None = Field(None, description="policy overrides (YAML or JSON, Nova's rule names); re-read when changed")
    allow_resize_to_same_host: bool = Field(False, description="Nova's option: a resize may stay on its host")
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0

    kafka_heap: str = "512m"
    kafka_version: str = "4.1.2"

    @field_validator("instance_name_template")
    @classmethod
    def _fills(cls, template: str) -> str:
        try:
            return check_template(template)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"instance_name_template {template!r} does not fill with a number or %(uuid)s: {exc}") from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("NOVALOG_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    def topic(self, name: str) -> str:
        """The full name of a topic: `host.events` -> `novalog.host.events`."""
        return f"{self.topic_prefix}.{name}"

    def token_keys(self) -> Path:
        """Where the token keys are: token_key_dir, or the state folder's token-keys/."""
        return Path(self.token_key_dir) if self.token_key_dir else Path(self.state_dir) / "token-keys"

    def image_store(self) -> Path:
        """Where image files are: image_store_dir, or the state folder's images/."""
        return Path(self.image_store_dir) if self.image_store_dir else Path(self.state_dir) / "images"

    def agent_topic(self, host: str) -> str:
        return f"{self.topic_prefix}.agent.{host}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
