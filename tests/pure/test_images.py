"""The image catalog, pure: the fold, the create and patch commands, who sees what, list paging, the boot image,
and the QEMU domain booting an image's kernel."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from builders import (
    NOW,
    build_image_created,
    build_image_deleted,
    build_image_files,
    build_image_state,
    build_image_updated,
    build_image_uploaded,
)
from driver_contract import guest_spec
from novalog.agent.node import GuestImage, domain_xml
from novalog.api.context import RequestContext
from novalog.api.faults import ApiFault
from novalog.api.image import catalog as image_catalog
from novalog.api.image import commands as image_commands
from novalog.events.records import ImageFiles
from novalog.projections import catalog

LATER = NOW + timedelta(minutes=5)
OWNER = RequestContext("user-1", "project-1", ("member", "reader"), "req-1")
OTHER = RequestContext("user-2", "project-2", ("member", "reader"), "req-2")
ADMIN = RequestContext("admin", "admin", ("admin", "member", "reader"), "req-3")


# --- the fold ---


def test_a_created_image_is_queued_without_bits() -> None:
    row = catalog.apply(None, build_image_created(properties={"architecture": "x86_64"}, at=NOW))

    assert row == build_image_state(properties={"architecture": "x86_64"})
    assert (row.status, row.size, row.location) == ("queued", None, None)


def test_an_upload_makes_the_image_active_with_its_size_hashes_and_location() -> None:
    row = catalog.apply(build_image_state(), build_image_uploaded(at=LATER))

    assert row == replace(
        build_image_state(), status="active", updated_at=LATER, size=3, checksum="900150983cd24fb0d6963f7d28e17f72",
        os_hash_algo="sha512", os_hash_value="ddaf35a193617aba", location="/store/image-1",
    )


@pytest.mark.parametrize("status", ["active", "deleted"])
def test_bits_arrive_only_once_and_only_on_a_queued_image(status: str) -> None:
    row = build_image_state(status=status, size=9, location="/store/first")

    assert catalog.apply(row, build_image_uploaded(at=LATER)) == row


def test_a_redelivered_create_changes_nothing() -> None:
    row = build_image_state(status="active", offset=4)

    assert catalog.apply(row, build_image_created(name="other", at=LATER)) == row


def test_an_update_replaces_the_mutable_fields() -> None:
    row = build_image_state(properties={"a": "1"}, tags=["x"])
    event = build_image_updated(name="renamed", visibility="public", min_ram=64, properties={"b": "2"}, tags=[], at=LATER)

    assert catalog.apply(row, event) == replace(row, name="renamed", visibility="public", min_ram=64, properties={"b": "2"}, tags=[], updated_at=LATER)


def test_a_deleted_image_stays_a_tombstone_that_nothing_changes() -> None:
    deleted = catalog.apply(build_image_state(status="active", location="/store/image-1"), build_image_deleted(at=LATER))

    assert (deleted.status, deleted.location, deleted.updated_at) == ("deleted", None, LATER)
    assert catalog.apply(deleted, build_image_updated(name="back")) == deleted
    assert catalog.apply(deleted, build_image_deleted()) == deleted


def test_image_events_travel_under_the_image_key_and_fold_beside_flavors() -> None:
    assert catalog.key_of(build_image_uploaded("image-7")) == "image:image-7"
    # A flavor row under an image key (impossible on the topic) is not taken for an image.
    assert catalog.apply(None, build_image_updated()) is None


# --- the create and patch commands ---


def test_a_create_body_splits_core_fields_from_string_properties() -> None:
    image_id, fields = image_commands.parse_create(
        {"name": "cirros", "disk_format": "qcow2", "container_format": "bare", "min_ram": 64, "architecture": "x86_64", "tags": ["a", "a"]}
    )

    assert len(image_id) == 36
    assert fields == image_commands.ImageFields(
        name="cirros", disk_format="qcow2", container_format="bare", min_ram=64, properties={"architecture": "x86_64"}, tags=["a"]
    )
    assert fields.visibility == "shared"  # Glance's default


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "active"}, 403),
        ({"size": 1}, 403),
        ({"owner": "project-2"}, 403),
        ({"disk_format": "floppy"}, 400),
        ({"visibility": "everyone"}, 400),
        ({"min_disk": -1}, 400),
        ({"protected": "yes"}, 400),
        ({"architecture": 64}, 400),
        ({"id": "not-a-uuid"}, 400),
    ],
    ids=["status", "size", "owner", "disk_format", "visibility", "min_disk", "protected", "property-not-string", "id"],
)
def test_a_bad_create_body_is_refused_with_glances_status(body: dict, status: int) -> None:
    with pytest.raises(ApiFault) as refused:
        image_commands.parse_create(body)

    assert refused.value.status == status


def test_a_patch_adds_replaces_and_removes_properties_and_renames() -> None:
    row = build_image_state(properties={"architecture": "x86_64", "old": "1"})
    ops = [
        {"op": "replace", "path": "/name", "value": "cirros-2"},
        {"op": "add", "path": "/hypervisor_type", "value": "qemu"},
        {"op": "replace", "path": "/architecture", "value": "aarch64"},
        {"op": "remove", "path": "/old"},
        {"op": "add", "path": "/a~1b", "value": "slash"},
    ]

    fields = image_commands.apply_patch(row, ops)

    assert fields.name == "cirros-2"
    assert fields.properties == {"architecture": "aarch64", "hypervisor_type": "qemu", "a/b": "slash"}


@pytest.mark.parametrize(
    ("ops", "status"),
    [
        ([{"op": "remove", "path": "/missing"}], 409),
        ([{"op": "replace", "path": "/missing", "value": "x"}], 409),
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "move", "path": "/name", "value": "x"}], 400),
        ([{"op": "add", "path": "name", "value": "x"}], 400),
        ({"op": "add"}, 400),
    ],
    ids=["remove-missing", "replace-missing", "read-only", "remove-core", "unknown-op", "bad-pointer", "not-a-list"],
)
def test_a_bad_patch_is_refused_with_glances_status(ops, status: int) -> None:
    with pytest.raises(ApiFault) as refused:
        image_commands.apply_patch(build_image_state(), ops)

    assert refused.value.status == status


def test_formats_change_only_while_queued() -> None:
    ops = [{"op": "replace", "path": "/disk_format", "value": "raw"}]

    assert image_commands.apply_patch(build_image_state(), ops).disk_format == "raw"
    with pytest.raises(ApiFault) as refused:
        image_commands.apply_patch(build_image_state(status="active"), ops)
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("row", "status"),
    [(build_image_state(status="active"), 409), (build_image_state(disk_format=None), 400)],
    ids=["not-queued", "no-disk-format"],
)
def test_bits_go_only_to_a_queued_image_with_formats(row, status: int) -> None:
    with pytest.raises(ApiFault) as refused:
        image_commands.check_uploadable(row)

    assert refused.value.status == status


def test_a_protected_image_cannot_be_deleted() -> None:
    with pytest.raises(ApiFault) as refused:
        image_commands.delete_image(OWNER, build_image_state(protected=True))

    assert refused.value.status == 403


# --- who sees what, lists ---


@pytest.mark.parametrize(
    ("visibility", "owner_sees", "other_sees", "admin_sees", "other_lists"),
    [
        ("private", True, False, True, False),
        ("shared", True, False, True, False),
        ("public", True, True, True, True),
        ("community", True, True, True, False),
    ],
)
def test_visibility(visibility: str, owner_sees: bool, other_sees: bool, admin_sees: bool, other_lists: bool) -> None:
    row = build_image_state(visibility=visibility)

    assert [image_catalog.visible(row, ctx) for ctx in (OWNER, OTHER, ADMIN)] == [owner_sees, other_sees, admin_sees]
    assert image_catalog.listed(row, OTHER, None) == other_lists
    assert image_catalog.listed(row, OTHER, visibility) == other_sees


def test_a_deleted_image_is_seen_by_nobody() -> None:
    row = build_image_state(status="deleted", visibility="public")

    assert not any(image_catalog.visible(row, ctx) for ctx in (OWNER, OTHER, ADMIN))


def _rows(count: int) -> list:
    # image-0 is the oldest; the list is newest first.
    return [build_image_state(f"image-{i}", created_at=NOW + timedelta(seconds=i), visibility="public") for i in range(count)]


def test_a_list_filters_and_sorts_newest_first() -> None:
    rows = [*_rows(3), build_image_state("mine", name="other", created_at=NOW - timedelta(seconds=1)), build_image_state("hidden", owner="project-9")]

    assert [r.image_id for r in image_catalog.select_images(rows, {}, OWNER)] == ["image-2", "image-1", "image-0", "mine"]
    assert [r.image_id for r in image_catalog.select_images(rows, {"name": "other"}, OWNER)] == ["mine"]
    assert [r.image_id for r in image_catalog.select_images(rows, {"visibility": "private"}, OWNER)] == ["mine"]
    assert [r.image_id for r in image_catalog.select_images(rows, {"id": "in:image-0,mine"}, OWNER)] == ["image-0", "mine"]
    assert [r.image_id for r in image_catalog.select_images(rows, {"owner": "project-9"}, ADMIN)] == ["hidden"]


def test_pages_follow_the_marker_with_a_next_link_until_the_last() -> None:
    rows = image_catalog.select_images(_rows(5), {}, OWNER)  # image-4 ... image-0

    first, link = image_catalog.page(rows, {"limit": "2"})
    second, link2 = image_catalog.page(rows, {"limit": "2", "marker": "image-3"})
    last, link3 = image_catalog.page(rows, {"limit": "2", "marker": "image-1"})

    assert ([r.image_id for r in first], link) == (["image-4", "image-3"], "/v2/images?limit=2&marker=image-3")
    assert ([r.image_id for r in second], link2) == (["image-2", "image-1"], "/v2/images?limit=2&marker=image-1")
    assert ([r.image_id for r in last], link3) == (["image-0"], None)
    with pytest.raises(ApiFault):
        image_catalog.page(rows, {"marker": "unknown"})


def test_the_view_has_glances_fields_and_properties_at_the_top() -> None:
    view = image_catalog.image_view(build_image_state(properties={"architecture": "x86_64"}))

    assert view["architecture"] == "x86_64"
    assert view["self"] == "/v2/images/image-1" and view["file"] == "/v2/images/image-1/file"
    assert view["created_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {"id", "name", "status", "visibility", "protected", "checksum", "os_hash_algo", "os_hash_value", "size", "disk_format",
            "container_format", "min_disk", "min_ram", "owner", "tags", "updated_at", "schema"} <= set(view)


# --- the image a server boots ---


def _catalog(*rows) -> SimpleNamespace:
    """The image lookup of a read model holding these rows."""
    return SimpleNamespace(image={r.image_id: r for r in rows}.get)


def test_a_boot_image_gives_its_properties_and_files_with_its_kernel_and_ramdisk() -> None:
    kernel = build_image_state("k-1", status="active", disk_format="aki", location="/store/k-1")
    ramdisk = build_image_state("r-1", status="active", disk_format="ari", location="/store/r-1")
    disk = build_image_state(
        "d-1", status="active", location="/store/d-1", properties={"kernel_id": "k-1", "ramdisk_id": "r-1", "architecture": "x86_64"}
    )

    boot = image_catalog.boot_image(_catalog(kernel, ramdisk, disk), "http://api/image/v2/images/d-1", OWNER, accept_unknown=False)

    assert boot == image_catalog.BootImage(
        properties={"kernel_id": "k-1", "ramdisk_id": "r-1", "architecture": "x86_64"},
        files=ImageFiles(disk="/store/d-1", disk_format="qcow2", kernel="/store/k-1", ramdisk="/store/r-1"),
    )


@pytest.mark.parametrize(
    ("rows", "ref", "accept_unknown", "message"),
    [
        ((), "nothing", False, "Image nothing could not be found."),
        ((build_image_state(owner="project-9", status="active"),), "image-1", True, "Image image-1 could not be found."),
        ((build_image_state(),), "image-1", True, "Image image-1 is not active."),
        ((build_image_state(status="active", properties={"kernel_id": "gone"}),), "image-1", False, "Image gone could not be found."),
    ],
    ids=["unknown", "another-projects-private", "queued", "missing-kernel"],
)
def test_a_server_cannot_boot_an_image_it_cannot_use(rows, ref: str, accept_unknown: bool, message: str) -> None:
    with pytest.raises(ApiFault) as refused:
        image_catalog.boot_image(_catalog(*rows), ref, OWNER, accept_unknown)

    assert (refused.value.status, refused.value.message) == (400, message)


def test_only_development_mode_boots_a_ref_that_names_no_image() -> None:
    assert image_catalog.boot_image(_catalog(), "cirros", OWNER, accept_unknown=True) is None


def test_a_qemu_guest_boots_its_images_kernel_and_ramdisk_else_the_hosts() -> None:
    host = GuestImage("/g/vmlinux", "/g/initrd.gz", "/g/base.qcow2", "/g/instances")
    own = replace(guest_spec("i-1"), image_files=build_image_files(kernel="/c/k-1", ramdisk="/c/r-1"))
    plain = replace(guest_spec("i-2"), image_files=build_image_files())

    booted = [ET.fromstring(domain_xml(spec, "qemu", host="cn1", image=host)) for spec in (own, plain)]

    assert [(d.findtext("os/kernel"), d.findtext("os/initrd")) for d in booted] == [("/c/k-1", "/c/r-1"), ("/g/vmlinux", "/g/initrd.gz")]
