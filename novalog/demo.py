"""The local stack's demo: a flavor, a few servers booted through the REST API, printed with status and host."""

from __future__ import annotations

import time
from typing import Any

import httpx

ADMIN = {"X-Auth-Token": "admin:admin"}
DEMO_FLAVOR = {"name": "m1.small", "id": "2", "vcpus": 1, "ram": 2048, "disk": 20}


class ComputeClient:
    """A tiny client of the compute API, enough for the demo, the benchmark and the tests."""

    def __init__(self, url: str, token: str = "admin:admin", timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=f"{url}/v2.1", headers={"X-Auth-Token": token}, timeout=timeout)

    def ensure_flavor(self, flavor: dict[str, Any]) -> dict[str, Any]:
        found = self.http.get(f"/flavors/{flavor['id']}")
        if found.status_code == 200:
            return found.json()["flavor"]
        created = self.http.post("/flavors", json={"flavor": flavor})
        created.raise_for_status()
        return created.json()["flavor"]

    def boot(self, name: str, flavor_id: str, image: str = "cirros") -> str:
        resp = self.http.post("/servers", json={"server": {"name": name, "flavorRef": flavor_id, "imageRef": image}})
        if resp.status_code != 202:
            raise RuntimeError(f"POST /servers answered {resp.status_code}: {resp.text}")
        return resp.json()["server"]["id"]

    def show(self, server_id: str) -> dict[str, Any] | None:
        resp = self.http.get(f"/servers/{server_id}")
        return resp.json()["server"] if resp.status_code == 200 else None

    def delete(self, server_id: str) -> None:
        resp = self.http.delete(f"/servers/{server_id}")
        if resp.status_code != 204:
            raise RuntimeError(f"DELETE answered {resp.status_code}: {resp.text}")

    def hypervisors(self) -> list[dict[str, Any]]:
        resp = self.http.get("/os-hypervisors/detail")
        if resp.status_code != 200:
            raise RuntimeError(f"GET /os-hypervisors/detail answered {resp.status_code}: {resp.text}")
        return resp.json()["hypervisors"]

    def wait_settled(self, server_ids: list[str], timeout: float = 60.0) -> dict[str, dict[str, Any]]:
        """Poll until every server is ACTIVE or ERROR (or the time is up)."""
        deadline = time.monotonic() + timeout
        settled: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline and len(settled) < len(server_ids):
            for sid in server_ids:
                if sid not in settled:
                    server = self.show(sid)
                    if server is not None and server["status"] in ("ACTIVE", "ERROR"):
                        settled[sid] = server
            time.sleep(0.1)
        return settled


def run_demo(url: str, count: int, out: Any) -> int:
    client = ComputeClient(url)
    client.ensure_flavor(DEMO_FLAVOR)
    ids = [client.boot(f"demo-{i + 1}", DEMO_FLAVOR["id"]) for i in range(count)]
    settled = client.wait_settled(ids)
    print(f"{'NAME':<10} {'ID':<36}  {'STATUS':<7} HOST", file=out)
    for sid in ids:
        server = settled.get(sid) or client.show(sid) or {"name": "?", "status": "?"}
        host = server.get("OS-EXT-SRV-ATTR:host") or "-"
        fault = server.get("fault", {}).get("message", "")
        print(f"{server['name']:<10} {sid}  {server['status']:<7} {host} {fault}".rstrip(), file=out)
    print(file=out)
    print(f"{'HYPERVISOR':<10} {'STATE':<5} VCPUS  RAM_MB        RUNNING", file=out)
    for hv in client.hypervisors():
        print(
            f"{hv['hypervisor_hostname']:<10} {hv['state']:<5} {hv['vcpus_used']}/{hv['vcpus']:<3} "
            f"{hv['memory_mb_used']}/{hv['memory_mb']:<6} {hv['running_vms']}",
            file=out,
        )
    return sum(1 for s in settled.values() if s["status"] == "ACTIVE")
