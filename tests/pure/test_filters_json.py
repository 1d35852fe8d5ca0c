"""JsonFilter and its query language: operators and Nova's quirks (reference §6)."""

from __future__ import annotations

import json

import pytest

from builders import build_claim, build_sched_host, build_spec
from novalog.scheduler.filters import FILTERS
from novalog.scheduler.filters.json_filter import JsonFilter
from novalog.scheduler.filters.json_query import JsonQueryError, evaluate, resolve
from novalog.scheduler.options import SchedulerOptions

OPTIONS = SchedulerOptions()
# free_ram_mb = 8192 - 1024 claimed = 7168; free_disk_mb = (80 - 1) * 1024 = 80896; 4 vCPUs, 1 used
HOST = build_sched_host(
    claims=[build_claim("a", memory_mb=1024)], stats={"load": "3", "empty": ""}, hypervisor_type="QEMU"
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # --- comparisons: the first argument against every other one
        pytest.param(["=", "$free_ram_mb", 7168], True, id="eq-7168"),
        pytest.param(["=", "$free_ram_mb", 7168, 7168], True, id="eq-all-others"),
        pytest.param(["=", "$free_ram_mb", 7168, 1], False, id="eq-one-other-differs"),
        pytest.param(["<", "$free_ram_mb", 8192], True, id="lt-7168-8192"),
        pytest.param(["<", "$free_ram_mb", 7168], False, id="lt-strict"),
        pytest.param([">", "$free_ram_mb", 1024, 7000], True, id="gt-7168-both"),
        pytest.param([">", "$free_ram_mb", 1024, 8000], False, id="gt-7168-not-8000"),
        pytest.param(["<=", "$vcpus_used", 1], True, id="le-1-1"),
        pytest.param([">=", "$free_disk_mb", 80896], True, id="ge-80896"),
        pytest.param([">=", "$free_disk_mb", 80897], False, id="ge-80896-not-80897"),
        pytest.param(["=", "$hypervisor_type", "QEMU"], True, id="eq-string"),
        pytest.param(["=", "$stats.load", "3"], True, id="dotted-stats-key"),
        # --- fewer than two arguments: False
        pytest.param(["=", "$free_ram_mb"], False, id="eq-one-arg"),
        pytest.param(["<"], False, id="lt-no-arg"),
        pytest.param(["in", "QEMU"], False, id="in-one-arg"),
        # --- in: first equals one of the others
        pytest.param(["in", "$hypervisor_type", "kvm", "QEMU"], True, id="in-second"),
        pytest.param(["in", "$hypervisor_type", "kvm", "xen"], False, id="in-none"),
        # --- None and "" arguments are dropped before the operator runs
        pytest.param(["=", "$nope", 2, 2], True, id="unknown-variable-dropped-2-eq-2"),
        pytest.param(["=", "$stats.nope", 2, 2], True, id="unknown-key-dropped"),
        pytest.param(["=", "$nope", 2, 3], False, id="unknown-variable-dropped-2-ne-3"),
        pytest.param(["=", "", 2, 2], True, id="empty-string-dropped"),
        pytest.param(["=", None, 2, 2], True, id="json-null-dropped"),
        pytest.param(["=", "$nope", 2], False, id="unknown-variable-leaves-one-arg"),
        pytest.param(["=", "$stats.empty", ""], False, id="resolved-empty-kept-literal-empty-dropped"),
        pytest.param(["=", "$__class__", 1, 1], True, id="private-name-is-unknown"),
        # --- not returns a list
        pytest.param(["not", True], [False], id="not-true"),
        pytest.param(["not", True, False, "$disabled"], [False, True, True], id="not-each-argument"),
        pytest.param(["not", "$nope"], [], id="not-unknown-variable-empty-list"),
        # --- and / or over the arguments
        pytest.param(["and", True, ["=", 1, 1]], True, id="and-all"),
        pytest.param(["and", True, ["=", 1, 2]], False, id="and-one-false"),
        pytest.param(["or", False, ["=", 1, 1]], True, id="or-one"),
        pytest.param(["or", False, 0], False, id="or-none"),
        pytest.param(["and"], True, id="and-empty-is-all-of-nothing"),
        pytest.param(["or"], False, id="or-empty-is-any-of-nothing"),
        # quirk: ["not", X] nested is a one-element list, always truthy
        pytest.param(["and", True, ["not", True]], True, id="and-with-not-list-always-truthy"),
        pytest.param(["and", True, ["not", "$nope"]], False, id="and-with-not-of-unknown-empty-list-falsy"),
        # nested empty query is True, not dropped
        pytest.param(["and", []], True, id="nested-empty-query-true"),
        # --- mixed types: a comparison Python 3 cannot make is False, not an error
        pytest.param(["<", "$free_ram_mb", "9000"], False, id="mixed-int-lt-str-false"),
        pytest.param([">", "$free_ram_mb", "9000"], False, id="mixed-int-gt-str-also-false"),
        pytest.param(["<", "$stats.load", 5], False, id="mixed-stat-string-lt-int-false"),
        pytest.param(["<", "$stats.load", "5"], True, id="stat-string-lt-string"),
        pytest.param(["=", 1, "1"], False, id="mixed-eq-false"),
        pytest.param(["<", 1, 2, "a"], False, id="mixed-one-of-several-false"),
        pytest.param(["<", 1, 1.5], True, id="int-float-compare"),
    ],
)
def test_evaluate(query, expected) -> None:
    assert evaluate(query, HOST) == expected
    assert type(evaluate(query, HOST)) is type(expected)


@pytest.mark.parametrize(
    ("hint", "passes"),
    [
        pytest.param(None, True, id="no-hint"),
        pytest.param([], True, id="empty-hint-list"),
        pytest.param([""], True, id="empty-string"),
        pytest.param(["[]"], True, id="empty-query"),
        pytest.param(['["=", "$free_ram_mb", 7168]'], True, id="true-query"),
        pytest.param(['["=", "$free_ram_mb", 1]'], False, id="false-query"),
        # list result at top level: passes iff any element is truthy
        pytest.param(['["not", true, false]'], True, id="top-level-list-one-truthy"),
        pytest.param(['["not", true]'], False, id="top-level-list-all-falsy"),
        pytest.param(['["not", "$disabled"]'], True, id="top-level-not-disabled-enabled-host"),
        pytest.param(['["not", "$nope"]'], False, id="top-level-empty-list"),
        pytest.param(['["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 204800]]'], False, id="nova-doc-query-disk-short"),
        pytest.param(['["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 1024]]'], True, id="nova-doc-query-fits"),
    ],
)
def test_json_filter(hint, passes) -> None:
    spec = build_spec(scheduler_hints={} if hint is None else {"query": hint})

    assert JsonFilter().host_passes(HOST, spec, OPTIONS) is passes


def test_nested_not_does_not_exclude_disabled_hosts() -> None:
    # The quirk of reference §6: inside "and", ["not", "$disabled"] is [False], a truthy list.
    query = json.dumps(["and", [">=", "$free_ram_mb", 1], ["not", "$disabled"]])
    spec = build_spec(scheduler_hints={"query": [query]})

    assert JsonFilter().host_passes(build_sched_host(disabled=True), spec, OPTIONS) is True
    top_level = build_spec(scheduler_hints={"query": [json.dumps(["not", "$disabled"])]})
    assert JsonFilter().host_passes(build_sched_host(disabled=True), top_level, OPTIONS) is False


ENABLED = build_sched_host(host="cn1", stats={"load": "3"}, hypervisor_type="QEMU")
DISABLED = build_sched_host(host="cn2", disabled=True, disabled_reason="maintenance", stats={"load": "7"}, hypervisor_type="xen")
FORCED_DOWN = build_sched_host(host="cn3", forced_down=True, hypervisor_type="xen")


@pytest.mark.parametrize(
    ("query", "verdicts"),
    [
        # --- $service.<field>: Nova's HostState.service, a dict of the compute service's fields
        pytest.param(["=", "$service.disabled", False], [True, False, True], id="service-disabled-false"),
        pytest.param(["=", "$service.disabled", True], [False, True, False], id="service-disabled-true"),
        pytest.param(["=", "$service.forced_down", True], [False, False, True], id="service-forced-down"),
        pytest.param(["=", "$service.disabled_reason", "maintenance"], [False, True, False], id="service-disabled-reason"),
        pytest.param(["in", "$service.host", "cn1", "cn3"], [True, False, True], id="service-host"),
        pytest.param(["=", "$service.binary", "nova-compute"], [True, True, True], id="service-binary"),
        # a field novalog's service lacks resolves to None and is dropped: one argument left, False
        pytest.param(["=", "$service.report_count", 1], [False, False, False], id="service-unknown-field-dropped"),
        # --- the `not` quirk, now that $service.disabled resolves: top level, a disabled host fails ...
        pytest.param(["not", "$service.disabled"], [True, False, True], id="top-level-not-service-disabled"),
        # ... nested in `and`, ["not", ...] is a one-element list, truthy: the disabled host passes (Nova's quirk)
        pytest.param(["and", [">=", "$free_ram_mb", 0], ["not", "$service.disabled"]], [True, True, True], id="nested-not-quirk-keeps-disabled"),
        # the way to exclude disabled hosts inside `and`: compare
        pytest.param(["and", [">=", "$free_ram_mb", 0], ["=", "$service.disabled", False]], [True, False, True], id="nested-eq-excludes-disabled"),
        # --- $capabilities.<name>: Havana's capabilities, read as the host's attribute, else its stat
        pytest.param(["=", "$capabilities.hypervisor_type", "QEMU"], [True, False, False], id="capabilities-attribute"),
        pytest.param([">=", "$capabilities.free_ram_mb", 8192], [True, True, True], id="capabilities-numeric-attribute"),
        pytest.param(["<", "$capabilities.load", "5"], [True, False, False], id="capabilities-stat"),
        pytest.param(["=", "$capabilities.service.disabled", True], [False, True, False], id="capabilities-service-walk"),
        pytest.param(["=", "$capabilities.nope", 1], [False, False, False], id="capabilities-unknown-dropped"),
        pytest.param(["=", "$capabilities.__class__", 1, 1], [True, True, True], id="capabilities-private-name-unknown"),
    ],
)
def test_service_and_capabilities_variables(query, verdicts) -> None:
    spec = build_spec(scheduler_hints={"query": [json.dumps(query)]})

    assert [JsonFilter().host_passes(h, spec, OPTIONS) for h in (ENABLED, DISABLED, FORCED_DOWN)] == verdicts


def test_service_and_capabilities_are_read_only_mappings() -> None:
    service, capabilities = evaluate(["in", "$service", "x"], ENABLED), resolve("$capabilities", ENABLED)

    assert service is False  # a dict compared: not equal to the literal, no error
    assert capabilities["load"] == "3" and "load" in list(capabilities) and len(capabilities) == len(list(capabilities))
    with pytest.raises(KeyError):
        capabilities["nope"]
    with pytest.raises(JsonQueryError, match="not a mapping"):
        resolve("$capabilities.hypervisor_type.x", ENABLED)


def test_json_filter_sees_consumption_per_instance() -> None:
    # Not once per request: a later instance of the request sees the host's new free RAM.
    assert JsonFilter.run_filter_once_per_request is False


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        pytest.param(['["~", 1, 1]'], "unknown JsonFilter operator '~'", id="unknown-operator"),
        pytest.param(['["and", ["xor", 1]]'], "unknown JsonFilter operator 'xor'", id="unknown-nested-operator"),
        pytest.param(['[["=", 1, 1]]'], "unknown JsonFilter operator", id="list-as-operator"),
        pytest.param(["{not json"], "not JSON", id="invalid-json"),
        pytest.param(['{"=": 1}'], "a query is a list", id="object-query"),
        pytest.param(['"="'], "a query is a list", id="string-query"),
        pytest.param(['["=", "$hypervisor_type.x", 1]'], "not a mapping", id="key-on-a-string"),
        pytest.param(["[]", "[]"], "one JSON string", id="two-strings"),
    ],
)
def test_json_filter_raises(hint, message) -> None:
    spec = build_spec(scheduler_hints={"query": hint})

    with pytest.raises(JsonQueryError, match=message):
        JsonFilter().host_passes(HOST, spec, OPTIONS)


@pytest.mark.parametrize("registered", [JsonFilter], ids=lambda cls: cls.NAME)
def test_registered_under_nova_name(registered) -> None:
    assert registered.NAME == registered.__name__
    assert FILTERS[registered.NAME] is registered
