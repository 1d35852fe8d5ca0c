"""Every operation of /openapi.json reaches its happy path: the fuzzer sends each one an example that should succeed.

The API's own document says what each body may hold; this test adds, on its
side, one example per operation that names real things (a server, a key
pair, an image... made here first), and runs schemathesis over that
document: its examples phase, and its coverage phase for the operations that
take neither parameters nor a body. Each operation must answer at least one
request with a 2xx, and none with a 5xx. schemathesis offers a parameter's
examples to every operation with a parameter of that name, so the deletes
run after the rest, each on things of its own, and the flavor's own delete
last. The errors are the fuzzing test's part (test_api_robustness.py), over
the document as the API serves it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack_harness import SMALL_FLAVOR, RunningStack, assert_log_holds, stack_settings

HOSTS = [("hp1", 8, 16384, 160)]


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    settings = stack_settings(kafka_bootstrap, tmp_path_factory.mktemp("happy"), HOSTS)
    running = RunningStack(settings, [h[0] for h in HOSTS])
    try:
        yield running.start()
    finally:
        running.stop()


def root_of(stack: RunningStack) -> str:
    return str(stack.client.http.base_url).removesuffix("/").removesuffix("/v2.1")


def made(response: httpx.Response, *path: str) -> Any:
    assert response.status_code < 300, response.text
    value = response.json()
    for key in path:
        value = value[key]
    return value


def things(stack: RunningStack, root: str) -> dict[str, Any]:
    """What the examples name: made here, one of each for the operations that delete."""
    http, client = stack.client.http, stack.client
    image = httpx.Client(base_url=f"{root}/image/v2", headers={"X-Auth-Token": "admin:admin"}, timeout=60)
    server, doomed = client.boot("hp-server", SMALL_FLAVOR["id"]), client.boot("hp-doomed", SMALL_FLAVOR["id"])
    client.wait_settled([server, doomed], 60)
    private = made(http.post("/flavors", json={"flavor": {"name": "hp-private", "ram": 64, "vcpus": 1, "disk": 1,
                                                          "os-flavor-access:is_public": False}}), "flavor", "id")
    spare = made(http.post("/flavors", json={"flavor": {"name": "hp-spare", "ram": 64, "vcpus": 1, "disk": 1}}), "flavor", "id")
    made(http.post(f"/flavors/{SMALL_FLAVOR['id']}/os-extra_specs", json={"extra_specs": {"hp:kept": "1", "hp:gone": "1"}}))
    for name in ("hp-key", "hp-key-doomed"):
        made(http.post("/os-keypairs", json={"keypair": {"name": name}}))
    groups = [made(http.post("/os-server-groups", json={"server_group": {"name": n, "policies": ["affinity"]}}), "server_group", "id")
              for n in ("hp-group", "hp-group-doomed")]
    aggregates = [str(made(http.post("/os-aggregates", json={"aggregate": {"name": n}}), "aggregate", "id")) for n in ("hp-agg", "hp-agg-doomed")]
    images = [made(image.post("/images", json={"name": n, "disk_format": "raw", "container_format": "bare"}), "id")
              for n in ("hp-image", "hp-image-doomed", "hp-image-empty")]
    assert image.put(f"/images/{images[0]}/file", content=b"hp", headers={"Content-Type": "application/octet-stream"}).status_code == 204
    # The server's metadata keys are the extra specs' keys: schemathesis offers every `key` example to every operation with a `key`.
    made(http.post(f"/servers/{server}/metadata", json={"metadata": {"hp:kept": "1", "hp:gone": "1"}}))
    made(http.post(f"/servers/{doomed}/metadata", json={"metadata": {"hp:gone": "1"}}))
    return {
        "server": server, "doomed_server": doomed,
        "request": made(http.get(f"/servers/{server}/os-instance-actions"), "instanceActions")[0]["request_id"],
        "hypervisor": str(made(http.get("/os-hypervisors"), "hypervisors")[0]["id"]),
        "private_flavor": private, "spare_flavor": spare,
        "group": groups[0], "doomed_group": groups[1], "aggregate": aggregates[0], "doomed_aggregate": aggregates[1],
        "image": images[0], "doomed_image": images[1], "empty_image": images[2],
    }


def examples(made: dict[str, Any]) -> dict[tuple[str, str], tuple[dict[str, Any], Any]]:
    """(method, path) -> (path parameters, body) of a request that should succeed."""
    small = SMALL_FLAVOR["id"]
    server, image, aggregate = made["server"], made["image"], made["aggregate"]
    return {
        ("POST", "/v2.1/servers"): ({}, {"server": {"name": "hp-example", "flavorRef": small}}),
        ("GET", "/v2.1/servers/{server_id}"): ({"server_id": server}, None),
        ("DELETE", "/v2.1/servers/{server_id}"): ({"server_id": made["doomed_server"]}, None),
        ("POST", "/v2.1/servers/{server_id}/action"): ({"server_id": server}, {"os-stop": None}),
        ("PUT", "/v2.1/servers/{server_id}"): ({"server_id": server}, {"server": {"name": "hp-renamed", "accessIPv4": "192.0.2.10"}}),
        ("GET", "/v2.1/servers/{server_id}/metadata"): ({"server_id": server}, None),
        ("POST", "/v2.1/servers/{server_id}/metadata"): ({"server_id": server}, {"metadata": {"hp:set": "1"}}),
        ("PUT", "/v2.1/servers/{server_id}/metadata"): ({"server_id": server}, {"metadata": {"hp:kept": "1", "hp:gone": "1"}}),
        ("GET", "/v2.1/servers/{server_id}/metadata/{key}"): ({"server_id": server, "key": "hp:kept"}, None),
        ("PUT", "/v2.1/servers/{server_id}/metadata/{key}"): ({"server_id": server, "key": "hp:kept"}, {"meta": {"hp:kept": "2"}}),
        # On the doomed server: the kept one may be rescued by then (the fuzzed actions run before the deletes).
        ("DELETE", "/v2.1/servers/{server_id}/metadata/{key}"): ({"server_id": made["doomed_server"], "key": "hp:gone"}, None),
        ("GET", "/v2.1/servers/{server_id}/os-instance-actions"): ({"server_id": server}, None),
        ("GET", "/v2.1/servers/{server_id}/os-instance-actions/{request_id}"): ({"server_id": server, "request_id": made["request"]}, None),
        ("POST", "/v2.1/flavors"): ({}, {"flavor": {"name": "hp-example", "ram": 64, "vcpus": 1, "disk": 1}}),
        ("GET", "/v2.1/flavors/{flavor_id}"): ({"flavor_id": small}, None),
        ("DELETE", "/v2.1/flavors/{flavor_id}"): ({"flavor_id": made["spare_flavor"]}, None),
        ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs"): ({"flavor_id": small}, None),
        ("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs"): ({"flavor_id": small}, {"extra_specs": {"hp:set": "1"}}),
        ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ({"flavor_id": small, "key": "hp:kept"}, None),
        ("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ({"flavor_id": small, "key": "hp:kept"}, {"hp:kept": "2"}),
        ("DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ({"flavor_id": small, "key": "hp:gone"}, None),
        ("GET", "/v2.1/flavors/{flavor_id}/os-flavor-access"): ({"flavor_id": made["private_flavor"]}, None),
        ("POST", "/v2.1/flavors/{flavor_id}/action"): ({"flavor_id": made["private_flavor"]}, {"addTenantAccess": {"tenant": "hp-project"}}),
        ("PUT", "/v2.1/os-services/{verb}"): ({"verb": "enable"}, {"host": HOSTS[0][0], "binary": "nova-compute"}),
        ("GET", "/v2.1/os-hypervisors/{hypervisor_id}"): ({"hypervisor_id": made["hypervisor"]}, None),
        ("GET", "/v2.1/os-quota-sets/{project_id}"): ({"project_id": "hp-project"}, None),
        ("PUT", "/v2.1/os-quota-sets/{project_id}"): ({"project_id": "hp-project"}, {"quota_set": {"instances": 20}}),
        ("DELETE", "/v2.1/os-quota-sets/{project_id}"): ({"project_id": "hp-other"}, None),
        ("GET", "/v2.1/os-quota-sets/{project_id}/defaults"): ({"project_id": "hp-project"}, None),
        ("GET", "/v2.1/os-quota-sets/{project_id}/detail"): ({"project_id": "hp-project"}, None),
        ("POST", "/v2.1/os-keypairs"): ({}, {"keypair": {"name": "hp-example"}}),
        ("GET", "/v2.1/os-keypairs/{name}"): ({"name": "hp-key"}, None),
        ("DELETE", "/v2.1/os-keypairs/{name}"): ({"name": "hp-key-doomed"}, None),
        ("POST", "/v2.1/os-server-groups"): ({}, {"server_group": {"name": "hp-example", "policies": ["anti-affinity"]}}),
        ("GET", "/v2.1/os-server-groups/{group_id}"): ({"group_id": made["group"]}, None),
        ("DELETE", "/v2.1/os-server-groups/{group_id}"): ({"group_id": made["doomed_group"]}, None),
        ("POST", "/v2.1/os-aggregates"): ({}, {"aggregate": {"name": "hp-example"}}),
        ("GET", "/v2.1/os-aggregates/{aggregate_id}"): ({"aggregate_id": aggregate}, None),
        ("PUT", "/v2.1/os-aggregates/{aggregate_id}"): ({"aggregate_id": aggregate}, {"aggregate": {"name": "hp-agg-renamed"}}),
        ("DELETE", "/v2.1/os-aggregates/{aggregate_id}"): ({"aggregate_id": made["doomed_aggregate"]}, None),
        ("POST", "/v2.1/os-aggregates/{aggregate_id}/action"): ({"aggregate_id": aggregate}, {"set_metadata": {"metadata": {"hp": "1"}}}),
        ("GET", "/v2.1/os-simple-tenant-usage/{tenant_id}"): ({"tenant_id": "admin"}, None),
        ("POST", "/image/v2/images"): ({}, {"name": "hp-example", "disk_format": "raw", "container_format": "bare"}),
        ("GET", "/image/v2/images/{image_id}"): ({"image_id": image}, None),
        ("PATCH", "/image/v2/images/{image_id}"): ({"image_id": image}, [{"op": "replace", "path": "/name", "value": "hp-renamed"}]),
        ("DELETE", "/image/v2/images/{image_id}"): ({"image_id": made["doomed_image"]}, None),
        ("PUT", "/image/v2/images/{image_id}/file"): ({"image_id": made["empty_image"]}, "hp-bytes"),
        ("GET", "/image/v2/images/{image_id}/file"): ({"image_id": image}, None),
    }


# Operations whose success needs what the noauth2 stack does not have: a Keystone token to check.
NEEDS_KEYSTONE = {("GET", "/identity/v3/auth/tokens"), ("HEAD", "/identity/v3/auth/tokens"), ("POST", "/identity/v3/auth/tokens"),
                  ("DELETE", "/identity/v3/auth/tokens"), ("GET", "/identity/v3/users"), ("GET", "/identity/v3/users/{user_id}"),
                  ("GET", "/identity/v3/projects"), ("GET", "/identity/v3/projects/{project_id}"), ("GET", "/identity/v3/role_assignments")}
# Version discovery answers 300 Multiple Choices, as Keystone's and Glance's own roots do.
MULTIPLE_CHOICES = {("GET", "/identity"), ("GET", "/image")}


def happy(operation: tuple[str, str], status: int) -> bool:
    return 200 <= status < 300 or (operation in MULTIPLE_CHOICES and status == 300)


def part(document: dict[str, Any], operations: set[tuple[str, str]], chosen: dict[tuple[str, str], tuple[dict[str, Any], Any]]) -> dict[str, Any]:
    """The document cut to these operations, each with its example."""
    cut = copy.deepcopy(document)
    cut["paths"] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if (method.upper(), path) not in operations:
                continue
            operation = cut["paths"].setdefault(path, {})[method] = copy.deepcopy(operation)
            params, body = chosen.get((method.upper(), path), ({}, None))
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    parameter["example"] = params[parameter["name"]]
            if body is not None:
                (content,) = operation["requestBody"]["content"].values()
                content["example"] = body
    return cut


def fuzz(document: dict[str, Any], root: str, phases: str, folder: Path) -> dict[str, Any]:
    """One schemathesis run over the document, no 5xx allowed; its HAR report."""
    folder.mkdir()
    schema, har = folder / "openapi.json", folder / "report.har"
    schema.write_text(json.dumps(document))
    # The coverage phase sends each path the methods its cut document lacks, with the example's ids: a DELETE there
    # would take the very things the later runs need, so the unexpected method it tries is TRACE alone.
    (folder / "schemathesis.toml").write_text('[phases.coverage]\nunexpected-methods = ["trace"]\n')
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", str(schema), "--url", root,
         "--checks", "not_a_server_error", "--phases", phases, "--max-examples", "5", "--header", "X-Auth-Token: admin:admin",
         "--request-timeout", "20", "--workers", "1", "--seed", "20261207", "--report", "har", "--report-har-path", str(har)],
        capture_output=True, text=True, timeout=600, cwd=folder,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
             "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))},
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    return json.loads(har.read_text())  # type: ignore[no-any-return]


def statuses(har: dict[str, Any], document: dict[str, Any]) -> dict[tuple[str, str], list[int]]:
    """The status codes each operation answered, from schemathesis's HAR report."""
    templates = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in document["paths"]]
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for entry in har["log"]["entries"]:
        path = httpx.URL(entry["request"]["url"]).path
        template = next((p for pattern, p in templates if pattern.match(path)), path)
        seen[(entry["request"]["method"], template)].append(entry["response"]["status"])
    return seen


def test_every_operation_answers_its_example_with_a_2xx(stack: RunningStack, tmp_path: Path) -> None:
    root = root_of(stack)
    document = httpx.get(f"{root}/openapi.json").json()
    chosen = examples(things(stack, root))
    missing = {(m.upper(), p) for p, ops in document["paths"].items() for m, op in ops.items()
               if any(q["in"] == "path" for q in op.get("parameters", []))} - set(chosen) - NEEDS_KEYSTONE
    assert not missing, f"operations with path parameters but no example: {sorted(missing)}"
    every = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops} - NEEDS_KEYSTONE
    deletes = {op for op in every if op[0] == "DELETE"}
    # The fuzzed server actions run after the rest: one may rescue or lock the server the metadata examples change.
    # A metadata item goes before the servers' own delete, which takes its server.
    actions = {("POST", "/v2.1/servers/{server_id}/action")}
    first, last = {("DELETE", "/v2.1/servers/{server_id}/metadata/{key}")}, {("DELETE", "/v2.1/flavors/{flavor_id}")}
    answered: dict[tuple[str, str], list[int]] = defaultdict(list)
    runs = [(every - deletes - actions, "examples,coverage"), (actions, "examples,coverage"), (first, "examples"),
            (deletes - first - last, "examples"), (last, "examples")]
    for number, (operations, phases) in enumerate(runs):
        for op, codes in statuses(fuzz(part(document, operations, chosen), root, phases, tmp_path / f"run{number}"), document).items():
            answered[op] += codes
    unhappy = {op: answered.get(op, []) for op in sorted(every) if not any(happy(op, s) for s in answered.get(op, []))}
    assert not unhappy, f"operations that never succeeded: {unhappy}"
    # ... and the document's errors were reached too: the generated cases drew 4xx answers from most operations.
    refused = {op for op, codes in answered.items() if any(400 <= s < 500 for s in codes)}
    assert len(refused) >= len(every) // 2, sorted(every - refused)
    assert_log_holds(stack)
