"""The read model: each state-row change lands in its table, the typed lookups find it by its parts, writers wake on their key."""

from __future__ import annotations

import threading

import pytest

from builders import NOW, build_flavor, build_host_state
from novalog.api.read_model import ReadModel, RowChange, row_change
from novalog.events import topics
from novalog.events.codec import encode
from novalog.events.records import HostAggregate
from novalog.events.row_headers import DECIDED_HEADER, SOURCE_HEADER, decided_header, source_position
from novalog.events.state import (
    AggregatesState,
    FlavorState,
    ImageState,
    InstanceState,
    KeypairState,
    ProjectState,
    QuotaState,
    ServerGroupState,
    UserState,
)


def flavor_row(flavor_id: str, deleted: bool = False) -> FlavorState:
    return FlavorState(flavor=build_flavor(id=flavor_id, name=f"m1.{flavor_id}"), created_at=NOW, deleted=deleted)


def instance_row(instance_id: str, project_id: str = "p1", vm_state: str = "building") -> InstanceState:
    return InstanceState(instance_id, f"vm-{instance_id}", project_id, "u1", build_flavor(), "cirros", NOW, NOW, vm_state=vm_state)


def keypair_row(user_id: str, name: str, deleted: bool = False) -> KeypairState:
    return KeypairState(1, user_id, name, "ssh-rsa AAAA", "aa:bb", NOW, deleted=deleted)


def group_row(group_id: str, deleted: bool = False) -> ServerGroupState:
    return ServerGroupState(group_id, f"g-{group_id}", "affinity", "p1", "u1", NOW, deleted=deleted)


def filled() -> ReadModel:
    model = ReadModel()
    model.publish([
        RowChange(topics.STATE_CATALOG, "flavor:2", flavor_row("2")),
        RowChange(topics.STATE_CATALOG, "flavor:1", flavor_row("1")),
        RowChange(topics.STATE_CATALOG, "flavor:9", flavor_row("9", deleted=True)),
        RowChange(topics.STATE_CATALOG, "image:i1", ImageState("i1", "p1", "public", NOW, NOW, name="cirros")),
        RowChange(topics.STATE_TENANT, "keypair:u1:k1", keypair_row("u1", "k1")),
        RowChange(topics.STATE_TENANT, "keypair:u1:gone", keypair_row("u1", "gone", deleted=True)),
        RowChange(topics.STATE_TENANT, "keypair:u10:k1", keypair_row("u10", "k1")),
        RowChange(topics.STATE_TENANT, "server_group:g1", group_row("g1")),
        RowChange(topics.STATE_TENANT, "server_group:g2", group_row("g2", deleted=True)),
        RowChange(topics.STATE_AGGREGATES, "aggregates", AggregatesState([HostAggregate(1, "a-1", "rack1", NOW, ["h1"])], next_id=2)),
        RowChange(topics.STATE_INSTANCES, "vm1", instance_row("vm1")),
        RowChange(topics.STATE_HOSTS, "h2", encode(build_host_state("h2"))),
        RowChange(topics.STATE_HOSTS, "h1", encode(build_host_state("h1")), ("host.events", 0, 3)),
        RowChange(topics.STATE_QUOTAS, "p1", encode(QuotaState("p1", limits={"instances": 3})), ("quota.events", 0, 7), {"r-1": ("", ["vm1"])}),
        RowChange(topics.STATE_IDENTITY, "project:default:demo", ProjectState("pid-demo", "demo", "default", NOW)),
        RowChange(topics.STATE_IDENTITY, "user:default:alice", UserState("uid-alice", "alice", "default", "hash", NOW, roles={"pid-demo": ["member"]})),
    ])
    return model


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        pytest.param(lambda m: m.flavor("2").flavor.id, "2", id="flavor by id"),
        pytest.param(lambda m: m.flavor("9").deleted, True, id="a deleted flavor is still its row"),
        pytest.param(lambda m: m.flavor("i1"), None, id="no flavor of an image's id"),
        pytest.param(lambda m: [r.flavor.id for r in m.flavors()], ["1", "2"], id="live flavors by id"),
        pytest.param(lambda m: m.image("i1").name, "cirros", id="image by id"),
        pytest.param(lambda m: m.image("2"), None, id="no image of a flavor's id"),
        pytest.param(lambda m: [r.image_id for r in m.images()], ["i1"], id="images"),
        pytest.param(lambda m: m.keypair("u1", "k1").name, "k1", id="key pair by user and name"),
        pytest.param(lambda m: m.keypair("u2", "k1"), None, id="another user's key pair is not found"),
        pytest.param(lambda m: sorted(r.name for r in m.keypairs("u1")), ["k1"], id="a user's live key pairs, not u10's"),
        pytest.param(lambda m: m.server_group("g1").policy, "affinity", id="server group by id"),
        pytest.param(lambda m: m.server_group("k1"), None, id="no group of that id"),
        pytest.param(lambda m: [r.group_id for r in m.server_groups()], ["g1"], id="live server groups"),
        pytest.param(lambda m: m.aggregates_row().next_id, 2, id="the aggregates row"),
        pytest.param(lambda m: [a.name for a in m.aggregate_list()], ["rack1"], id="the aggregates"),
        pytest.param(lambda m: m.instance("vm1").name, "vm-vm1", id="instance by id"),
        pytest.param(lambda m: m.instance("vm2"), None, id="unknown instance"),
        pytest.param(lambda m: [r.instance_id for r in m.instance_rows()], ["vm1"], id="instance rows"),
        pytest.param(lambda m: m.host("h1").host, "h1", id="host by name, decoded from its bytes"),
        pytest.param(lambda m: m.host("h3"), None, id="unknown host"),
        pytest.param(lambda m: [r.host for r in m.host_rows()], ["h1", "h2"], id="hosts by name"),
        pytest.param(lambda m: m.quota_row("p1").limits, {"instances": 3}, id="quota row by project"),
        pytest.param(lambda m: m.quota_row("p2"), None, id="no quota row yet"),
        pytest.param(lambda m: m.quotas.decision("p1", "r-1"), ("", ["vm1"]), id="a quota decision from the header"),
        pytest.param(lambda m: m.quotas.reached("p1", "quota.events", 0, 7), True, id="the quota row reached its source"),
        pytest.param(lambda m: m.quotas.reached("p1", "quota.events", 0, 8), False, id="not a later record"),
        pytest.param(lambda m: m.project("pid-demo").name, "demo", id="project by id"),
        pytest.param(lambda m: m.project_named("default", "demo").project_id, "pid-demo", id="project by name"),
        pytest.param(lambda m: m.project_named("default", "alice"), None, id="a user's name is no project"),
        pytest.param(lambda m: [r.name for r in m.projects()], ["demo"], id="projects"),
        pytest.param(lambda m: m.user("uid-alice").name, "alice", id="user by id"),
        pytest.param(lambda m: m.user_named("default", "alice").user_id, "uid-alice", id="user by name"),
        pytest.param(lambda m: [r.name for r in m.users()], ["alice"], id="users"),
        pytest.param(lambda m: m.roles("uid-alice", "pid-demo"), ["member"], id="roles given on a project"),
        pytest.param(lambda m: m.roles("uid-alice", "other"), [], id="no roles elsewhere"),
        pytest.param(lambda m: m.roles("nobody", "pid-demo"), [], id="no roles for an unknown user"),
    ],
)
def test_lookups_find_the_typed_row(lookup, expected) -> None:
    assert lookup(filled()) == expected


def test_lookups_before_any_row() -> None:
    model = ReadModel()
    assert (model.aggregates_row(), model.aggregate_list(), model.flavors(), model.host_rows()) == (None, [], [], [])


def test_a_tombstone_removes_the_row_and_its_place_in_the_server_index() -> None:
    model = filled()
    model.publish([RowChange(topics.STATE_INSTANCES, "vm1", None), RowChange(topics.STATE_HOSTS, "h1", None)])
    assert (model.instance("vm1"), len(model.servers), model.host("h1")) == (None, 0, None)


def test_instances_are_indexed_in_nova_order_as_they_arrive() -> None:
    model = ReadModel()
    model.publish([RowChange(topics.STATE_INSTANCES, i, instance_row(i)) for i in ("b", "a", "c")])
    # Same created_at: ties go by id, newest (last) first.
    assert list(model.servers.walk(None, True, True)) == ["c", "b", "a"]


def test_row_change_reads_the_headers_the_projections_write() -> None:
    headers = [(SOURCE_HEADER, source_position("quota.events", 2, 41)), (DECIDED_HEADER, decided_header({"r-9": ("Quota exceeded", [])}))]
    change = row_change(topics.STATE_QUOTAS, "p1", b"raw", headers)
    assert change == RowChange(topics.STATE_QUOTAS, "p1", b"raw", ("quota.events", 2, 41), {"r-9": ("Quota exceeded", [])})
    assert row_change(topics.STATE_CATALOG, "flavor:1", None, None) == RowChange(topics.STATE_CATALOG, "flavor:1", None)


def test_a_writer_waiting_on_its_key_wakes_when_its_row_is_published() -> None:
    model = ReadModel()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(model.wait_until(lambda: model.flavor("5") is not None, 5.0, "flavor:5")))
    waiter.start()
    model.publish([RowChange(topics.STATE_CATALOG, "flavor:5", flavor_row("5"))])
    waiter.join(5.0)
    assert result == [True]


def test_a_wait_for_a_row_that_never_comes_times_out() -> None:
    model = ReadModel()
    assert model.wait_until(lambda: model.flavor("5") is not None, 0.05, "flavor:5") is False
