"""The bodies of POST /servers and POST /servers/{id}/action, as Nova's 2.1 to 2.15 schemas take them.

Keys and types are checked here, before a route runs; what needs the read
cache (a flavor that exists, an image the caller may boot, a known zone) is
checked by the route. An action body is one key naming the action; names
the API does not know are refused by the route as Nova refuses them
("There is no such action"), so the action body takes any key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from novalog.api.bodies import Body, Flag, Name, OpenBody, Reference, WholeNumber
from novalog.api.compute import formats
from novalog.api.compute.body_types import Boolean
from novalog.api.faults import BadRequest

MAX_COUNT = 100  # instances in one multi-create (until quotas bound it)
Count = Annotated[WholeNumber, Field(ge=1, le=MAX_COUNT)]
Metadata = dict[Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(max_length=255)]]


class SecurityGroupRef(Body):
    name: Name


class ServerSpec(Body):
    """The `server` object of a create."""

    name: Name
    flavorRef: Reference
    imageRef: str | None = None
    adminPass: str | None = None
    metadata: Metadata = Field(default_factory=dict)
    networks: Literal["auto", "none"] | list[dict[str, Any]] | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: formats.IPv4 | None = None
    accessIPv6: formats.IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    availability_zone: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    key_name: Name | None = None
    block_device_mapping: list[dict[str, Any]] | None = None
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    config_drive: Boolean | Literal[""] | None = None
    security_groups: list[SecurityGroupRef] | None = None
    user_data: str | None = None
    min_count: Count = 1
    max_count: Count | None = None
    return_reservation_id: Boolean = False

    @field_validator("name")
    @classmethod
    def _no_outer_spaces(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("name must not be blank")
        return name

    @field_validator("accessIPv4", "accessIPv6")
    @classmethod
    def _not_null(cls, value: str | None) -> str | None:
        """Nova's addresses are strings: a null given is refused (left out, there is none)."""
        if value is None:
            raise ValueError("None is not of type 'string'")
        return value

    @field_validator("user_data")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        """Nova's rule: a base64 string of at most 65535 bytes."""
        if value is None:
            return value
        if len(value) > 65535:
            raise ValueError("must be base64 encoded, at most 65535 bytes.")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64 encoded, at most 65535 bytes.") from None
        return value

    def counts(self) -> tuple[int, int]:
        """min_count and max_count (max defaults to min), min <= max as Nova checks them."""
        top = self.max_count if self.max_count is not None else self.min_count
        if self.min_count > top:
            raise BadRequest("min_count must be <= max_count")
        return self.min_count, top


class ServerChanges(Body):
    """The `server` object of an update (PUT /servers/{id}): Nova's update schema below 2.19 (no description)."""

    name: formats.Name | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: formats.IPv4 | None = None
    accessIPv6: formats.IPv6 | None = None

    @field_validator("name", "accessIPv4", "accessIPv6")
    @classmethod
    def _not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("None is not of type 'string'")
        return value


class ServerUpdate(Body):
    server: ServerChanges


class ServerCreate(Body):
    server: ServerSpec
    hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")
    legacy_hints: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")

    def hint_lists(self) -> dict[str, list[str]]:
        """The scheduler hints, each as a list of strings (as the filters read them)."""
        hints = self.hints or self.legacy_hints or {}
        return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in hints.items()}


class Reboot(Body):
    type: Literal["SOFT", "HARD", "soft", "hard"]


class Resize(Body):
    flavorRef: Reference
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class LiveMigrate(Body):
    block_migration: Flag | Literal["auto"]
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    disk_over_commit: Flag | None = None


class Evacuate(Body):
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    onSharedStorage: Flag | None = None  # below 2.14 only
    adminPass: str | None = None


class Rebuild(Body):
    """Nova's rebuild, as its schema takes it up to 2.15 (personality until 2.57)."""

    imageRef: Annotated[str, Field(min_length=1)]
    name: formats.Name | None = None
    adminPass: str | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: Flag | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: formats.IPv4 | None = None
    accessIPv6: formats.IPv6 | None = None
    personality: list[dict[str, Any]] | None = None

    @field_validator("name", "accessIPv4", "accessIPv6")
    @classmethod
    def _not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("None is not of type 'string'")
        return value


class CreateImage(Body):
    name: Name
    metadata: Metadata | None = None


class Rescue(Body):
    adminPass: str | None = None
    rescue_image_ref: str | None = None


class ServerAction(OpenBody):
    """One action; the known ones with their arguments (the route refuses unknown names and more than one)."""

    reboot: Reboot | None = None
    os_start: dict[str, Any] | None = Field(None, alias="os-start")
    os_stop: dict[str, Any] | None = Field(None, alias="os-stop")
    pause: dict[str, Any] | None = None
    unpause: dict[str, Any] | None = None
    suspend: dict[str, Any] | None = None
    resume: dict[str, Any] | None = None
    resize: Resize | None = None
    confirmResize: None = None
    revertResize: None = None
    migrate: None = None
    os_migrateLive: LiveMigrate | None = Field(None, alias="os-migrateLive")
    evacuate: Evacuate | None = None
    rebuild: Rebuild | None = None
    createImage: CreateImage | None = None
    rescue: Rescue | None = None
    unrescue: None = None
    # Nova's 2.1 schemas take anything for these two (`lock` a `locked_reason` from 2.73).
    lock: Any = None
    unlock: Any = None
    # Checked by the route (extra_actions.console_length): Nova's length is an integer or its digits, or null.
    os_getConsoleOutput: dict[str, Any] | None = Field(None, alias="os-getConsoleOutput")
