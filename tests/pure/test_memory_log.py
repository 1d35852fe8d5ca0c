"""The in-memory log folds as the live tables do: its rows are the replay of its own log, and the read model shows them."""

from __future__ import annotations

from pathlib import Path

from builders import build_capacity_report, build_heartbeat
from memory_api import backend_in, booted, client, flavor, memory_settings
from novalog.api.read_model import ReadModel
from novalog.events import topics
from novalog.events.outbound import Outbound
from novalog.memory import MemoryLog, memory_backend
from novalog.projections.rebuild import new_rebuild
from novalog.projections.registry import PROJECTIONS


def test_the_tables_are_the_replay_of_the_log(tmp_path: Path) -> None:
    backend = backend_in(tmp_path)
    admin = client(backend)
    flavor(admin)
    server_id = booted(admin)
    admin.post(f"/servers/{server_id}/action", json={"os-stop": None})
    admin.delete(f"/servers/{server_id}")
    memory = backend.log
    rebuilt = new_rebuild()
    for projection in PROJECTIONS:
        for source in projection.sources:
            records = [(a.key.encode(), a.record, a.position.offset) for a in memory.log.get(source, [])]
            rebuilt[projection.table].feed_all(records, decoder=lambda record: record)
    assert {table: {k.decode(): row for k, row in done.rows.items()} for table, done in rebuilt.items()} == memory.rows
    assert memory.dead_letters == []
    # The server went the whole way: built, scheduled, claimed, spawned, stopped, deleted, its claim given back.
    assert memory.rows["instances"][server_id].vm_state == "deleted"
    assert all(not row.claims for row in memory.rows["host_state"].values())


def test_the_read_model_shows_each_row_with_its_source(tmp_path: Path) -> None:
    model = ReadModel()
    memory = MemoryLog(model, "t")
    (capacity,) = memory.append([Outbound.event("h1", build_capacity_report("h1"))])
    assert capacity.topic == "t.host.events" and (capacity.partition, capacity.offset) == (0, 0)
    memory.append([Outbound.event("h1", build_heartbeat("h1"))])
    assert model.host("h1") == memory.rows["host_state"]["h1"]
    # The row names the last record that changed it, on its own logical topic.
    assert model.hosts.reached("h1", topics.HOST_HEARTBEATS, 0, 0) and not model.hosts.reached("h1", topics.HOST_EVENTS, 0, 0)


def test_without_scheduler_a_server_stays_building(tmp_path: Path) -> None:
    backend = memory_backend(memory_settings(tmp_path), scheduler=False)
    admin = client(backend)
    flavor(admin)
    shown = admin.get(f"/servers/{booted(admin)}").json()["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("BUILD", "scheduling")
