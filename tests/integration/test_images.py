"""The image catalog end to end: the Glance v2 subset through the API, the bits in the store, images booting servers.

One noauth2 stack (tokens `user:project`; `admin` is admin) with
ImagePropertiesFilter enabled and a 1 MiB upload cap serves the API tests;
a keystone-mode stack serves the `openstack` CLI, which finds images by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from identity_harness import Identity, keystone_stack
from image_harness import image_client, register_image
from novalog.events import topics
from novalog.events.types import InstanceBuildRequested
from stack_harness import SMALL_FLAVOR, RunningStack, stack_settings

HOSTS = [("img1", 4, 8192, 80), ("img2", 4, 8192, 80)]
CAP = 1 << 20
FILTERS = ["ComputeFilter", "RetryFilter", "RamFilter", "CoreFilter", "DiskFilter", "ImagePropertiesFilter"]
BIN = Path(sys.executable).parent
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("images")
    options = tmp / "scheduler.json"
    options.write_text(json.dumps({"enabled_filters": FILTERS}))
    settings = stack_settings(kafka_bootstrap, tmp, HOSTS, scheduler_options_file=options, image_size_cap=CAP)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def images(stack: RunningStack, token: str = "admin:admin") -> httpx.Client:
    return image_client(stack.stack.api_url, token)


def test_an_image_is_created_queued_uploaded_active_downloaded_and_deleted_with_its_file(stack: RunningStack) -> None:
    data = os.urandom(300_000)
    with images(stack, "ann:alpha") as http:
        created = http.post("/images", json={"name": "life", "disk_format": "raw", "container_format": "bare", "architecture": "x86_64"})
        assert created.status_code == 201, created.text
        image = created.json()
        assert (image["status"], image["owner"], image["visibility"], image["size"], image["architecture"]) == ("queued", "alpha", "shared", None, "x86_64")
        assert created.headers["Location"].endswith(f"/image/v2/images/{image['id']}")

        assert http.put(f"/images/{image['id']}/file", content=data, headers=OCTETS).status_code == 204
        shown = http.get(f"/images/{image['id']}").json()
        assert (shown["status"], shown["size"]) == ("active", len(data))
        assert shown["checksum"] == hashlib.md5(data).hexdigest()
        assert (shown["os_hash_algo"], shown["os_hash_value"]) == ("sha512", hashlib.sha512(data).hexdigest())
        stored = stack.settings.image_store() / image["id"]
        assert stored.read_bytes() == data

        download = http.get(f"/images/{image['id']}/file")
        assert download.status_code == 200 and download.content == data
        assert download.headers["content-type"] == "application/octet-stream"

        assert http.put(f"/images/{image['id']}/file", content=b"again", headers=OCTETS).status_code == 409
        assert http.delete(f"/images/{image['id']}").status_code == 204
        assert http.get(f"/images/{image['id']}").status_code == 404
        assert http.get(f"/images/{image['id']}/file").status_code == 404
        assert not stored.exists()
        assert image["id"] not in {i["id"] for i in http.get("/images").json()["images"]}


def test_lists_filter_and_page_with_glances_next_link(stack: RunningStack) -> None:
    with images(stack, "lister:listing") as http:
        made = [register_image(http, f"page-{i}")["id"] for i in range(5)]
        queued = http.post("/images", json={"name": "page-queued"}).json()["id"]

        by_name = http.get("/images", params={"name": "page-3"}).json()
        assert [i["id"] for i in by_name["images"]] == [made[3]]
        assert (by_name["first"], by_name["schema"]) == ("/v2/images", "/v2/schemas/images")
        assert [i["id"] for i in http.get("/images", params={"status": "queued", "owner": "listing"}).json()["images"]] == [queued]

        seen, url, pages = [], "/images?limit=2&owner=listing", 0
        while url:
            page = http.get(url).json()
            seen += [i["id"] for i in page["images"]]
            url = page.get("next", "").removeprefix("/v2")
            pages += 1
        assert pages == 3  # 6 images, 2 a page, newest first
        assert seen == [queued, *reversed(made)]
        assert http.get("/images", params={"marker": "no-such-image"}).status_code == 400
        assert http.get("/images", params={"limit": "many"}).status_code == 400


def test_a_patch_adds_replaces_and_removes_properties_and_renames(stack: RunningStack) -> None:
    with images(stack, "pat:patching") as http:
        image = register_image(http, "patchme", hypervisor_type="qemu", scratch="1")
        ops = [
            {"op": "replace", "path": "/name", "value": "patched"},
            {"op": "add", "path": "/architecture", "value": "x86_64"},
            {"op": "replace", "path": "/hypervisor_type", "value": "kvm"},
            {"op": "remove", "path": "/scratch"},
        ]
        resp = http.patch(f"/images/{image['id']}", content=json.dumps(ops), headers=PATCH)
        assert resp.status_code == 200, resp.text
        after = http.get(f"/images/{image['id']}").json()
        assert (after["name"], after["architecture"], after["hypervisor_type"]) == ("patched", "x86_64", "kvm")
        assert "scratch" not in after

        missing = [{"op": "remove", "path": "/scratch"}]
        assert http.patch(f"/images/{image['id']}", content=json.dumps(missing), headers=PATCH).status_code == 409
        read_only = [{"op": "replace", "path": "/status", "value": "queued"}]
        assert http.patch(f"/images/{image['id']}", content=json.dumps(read_only), headers=PATCH).status_code == 403
        assert http.patch(f"/images/{image['id']}", json=ops, headers={"Content-Type": "application/json"}).status_code == 415


def test_private_images_are_their_projects_and_public_ones_need_an_admin(stack: RunningStack) -> None:
    with images(stack, "amy:red") as red, images(stack, "bob:blue") as blue, images(stack) as admin:
        private = register_image(red, "red-private", visibility="private")
        assert red.post("/images", json={"name": "red-public", "visibility": "public"}).status_code == 403
        public = register_image(admin, "everyones", visibility="public")

        assert blue.get(f"/images/{private['id']}").status_code == 404
        assert blue.get(f"/images/{private['id']}/file").status_code == 404
        assert blue.delete(f"/images/{private['id']}").status_code == 404
        listed = {i["id"] for i in blue.get("/images").json()["images"]}
        assert public["id"] in listed and private["id"] not in listed
        assert blue.get(f"/images/{public['id']}/file").content == admin.get(f"/images/{public['id']}/file").content
        assert blue.delete(f"/images/{public['id']}").status_code == 403
        assert admin.get(f"/images/{private['id']}").status_code == 200
        publicize = [{"op": "replace", "path": "/visibility", "value": "public"}]
        assert red.patch(f"/images/{private['id']}", content=json.dumps(publicize), headers=PATCH).status_code == 403

        boot = {"server": {"name": "stolen", "flavorRef": SMALL_FLAVOR["id"], "imageRef": private["id"]}}
        refused = httpx.post(f"{stack.stack.api_url}/v2.1/servers", json=boot, headers={"X-Auth-Token": "bob:blue"}, timeout=30)
        assert refused.status_code == 400
        assert refused.json() == {"badRequest": {"code": 400, "message": f"Image {private['id']} could not be found."}}


def test_errors_keep_glances_statuses(stack: RunningStack) -> None:
    with images(stack, "err:errors") as http:
        assert http.get("/images/no-such-image").status_code == 404
        assert http.post("/images", json={"name": "x", "status": "active"}).status_code == 403
        assert http.post("/images", json={"name": "x", "disk_format": "floppy"}).status_code == 400
        assert http.get("/images").status_code == 200
        assert httpx.get(f"{stack.stack.api_url}/image/v2/images", timeout=10).status_code == 401

        no_formats = http.post("/images", json={"name": "formatless"}).json()
        assert http.put(f"/images/{no_formats['id']}/file", content=b"x", headers=OCTETS).status_code == 400
        big = http.post("/images", json={"name": "too-big", "disk_format": "raw", "container_format": "bare"}).json()
        too_big = http.put(f"/images/{big['id']}/file", content=b"\0" * (CAP + 1), headers=OCTETS)
        assert too_big.status_code == 413
        # Streamed without a length, the cap is found while writing.
        chunks = (b"\0" * 65536 for _ in range(CAP // 65536 + 1))
        assert http.put(f"/images/{big['id']}/file", content=chunks, headers=OCTETS).status_code == 413
        assert http.get(f"/images/{big['id']}").json()["status"] == "queued"
        assert not (stack.settings.image_store() / big["id"]).exists()
        queued = {"server": {"name": "early", "flavorRef": SMALL_FLAVOR["id"], "imageRef": big["id"]}}
        assert stack.client.http.post("/servers", json=queued).status_code == 400


def test_image_properties_reach_the_scheduler(stack: RunningStack) -> None:
    """ImagePropertiesFilter against hosts reporting x86_64/qemu: an aarch64 image has nowhere to go."""
    with images(stack) as http:
        arm = register_image(http, "arm-only", architecture="aarch64")
        x86 = register_image(http, "x86-only", architecture="x86_64")
    arm_server = stack.client.boot("arm", SMALL_FLAVOR["id"], image=arm["id"])
    x86_server = stack.client.boot("x86", SMALL_FLAVOR["id"], image=x86["id"])

    settled = stack.client.wait_settled([arm_server, x86_server], 60)

    assert settled[arm_server]["status"] == "ERROR"
    assert settled[arm_server]["fault"]["message"].startswith("No valid host was found.")
    assert "ImagePropertiesFilter: 2 -> 0" in settled[arm_server]["fault"]["message"]
    assert settled[x86_server]["status"] == "ACTIVE"
    assert settled[x86_server]["image"]["id"] == x86["id"]
    builds = {r.instance_id: r for _, r in stack.records(topics.INSTANCE_EVENTS) if isinstance(r, InstanceBuildRequested)}
    assert builds[arm_server].image_properties == {"architecture": "aarch64"}
    files = builds[x86_server].image_files
    assert (files.disk, files.disk_format) == (str(stack.settings.image_store() / x86["id"]), "qcow2")


@pytest.fixture(scope="module")
def identity(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    with keystone_stack(kafka_bootstrap, tmp_path_factory.mktemp("images-cli"), [("imgcli1", 4, 8192, 80)]) as env:
        yield env


def openstack(identity: Identity, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(identity.clouds_yaml())}
    return subprocess.run([str(BIN / "openstack"), "--os-cloud", "novalog", *args], env=env, capture_output=True, text=True, timeout=180)


def test_the_openstack_cli_creates_lists_and_boots_an_image_by_name(identity: Identity, tmp_path: Path) -> None:
    disk = tmp_path / "tiny.qcow2"
    disk.write_bytes(os.urandom(4096))

    created = openstack(identity, "image", "create", "--file", str(disk), "--disk-format", "qcow2", "--container-format", "bare", "-f", "json", "alice-image")
    assert created.returncode == 0, created.stderr[-3000:]
    image = json.loads(created.stdout)
    listed = openstack(identity, "image", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert {(i["Name"], i["Status"]) for i in json.loads(listed.stdout)} >= {("alice-image", "active"), ("cirros", "active")}

    server = openstack(identity, "server", "create", "--image", "alice-image", "--flavor", SMALL_FLAVOR["name"], "--wait", "-f", "json", "cli-imaged")
    assert server.returncode == 0, server.stderr[-3000:]
    booted = json.loads(server.stdout)
    assert booted["status"] == "ACTIVE"
    assert image["id"] in str(booted["image"])

    unknown = openstack(identity, "server", "create", "--image", "no-such-image", "--flavor", SMALL_FLAVOR["name"], "nothing")
    assert unknown.returncode != 0 and "No Image found for no-such-image" in unknown.stderr
    # In keystone mode a compute request naming no image is refused (development mode lets it through).
    resp = httpx.post(
        f"{identity.url}/v2.1/servers", headers={"X-Auth-Token": identity.token()}, timeout=30,
        json={"server": {"name": "raw-ref", "flavorRef": SMALL_FLAVOR["id"], "imageRef": "cirros"}},
    )
    assert resp.status_code == 400 and resp.json()["badRequest"]["message"] == "Image cirros could not be found."
    # `server set --name`: PUT /servers/{id}, then the server answers to its new name.
    renamed = openstack(identity, "server", "set", "--name", "cli-renamed", "cli-imaged")
    assert renamed.returncode == 0, renamed.stderr[-3000:]
    shown = openstack(identity, "server", "show", "-f", "json", "cli-renamed")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == booted["id"], shown.stderr[-3000:]
    assert openstack(identity, "server", "delete", "--wait", "cli-renamed").returncode == 0
