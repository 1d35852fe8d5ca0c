"""RequestSpec.retry_nodes (Nova's [host, node] retry pairs) added with a default: an older record still decodes and is read as before."""

from __future__ import annotations

import io
import json
import random

import fastavro

from builders import NOW, build_flavor, build_host_state, build_sched_host, build_spec
from novalog.events import codec
from novalog.events.codec import load_entry_schema, read_manifest
from novalog.events.records import Envelope
from novalog.events.types import ClaimRejected, PlacementProposed
from novalog.scheduler.filters import RetryFilter
from novalog.scheduler.nova_files import sched_host_from_nova, spec_from_nova
from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.service import Scheduler

NAME = "novalog.placement.ClaimRejected"


def written_before_retry_nodes(record: ClaimRejected) -> bytes:
    """`record` framed and written with the last ClaimRejected schema whose RequestSpec had no retry_nodes."""
    entries = [e for e in read_manifest() if e.name == NAME]
    old = entries[-2]
    # the version before the current one is the last without the field (the current one has it)
    assert "retry_nodes" not in json.dumps(load_entry_schema(old.file))
    assert "retry_nodes" in json.dumps(load_entry_schema(entries[-1].file))
    current = codec.encode(record)
    as_dict = fastavro.schemaless_reader(io.BytesIO(current[5:]), load_entry_schema(entries[-1].file), None)
    del as_dict["spec"]["retry_nodes"]
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_entry_schema(old.file), as_dict)
    return b"\x00" + old.id.to_bytes(4, "big") + buf.getvalue()


def rejected(retry_hosts: list[str], host: str) -> ClaimRejected:
    spec = build_spec(build_flavor(ram=1024), instance_id="i1", retry_hosts=retry_hosts, num_attempts=len(retry_hosts) + 1)
    return ClaimRejected(
        envelope=Envelope.new(ClaimRejected, "host-state", event_id="rejected-1"),
        claim_id="c1", instance_id="i1", host=host, reason="memory_mb: no room", spec=spec,
    )


def test_an_old_claim_rejection_decodes_with_no_nodes_and_its_hosts_stay_refused_whole() -> None:
    decoded = codec.decode(written_before_retry_nodes(rejected(["h1"], "h2")))

    assert decoded.spec.retry_hosts == ["h1"] and decoded.spec.retry_nodes == []
    # h1 was tried before nodes were kept: every node of h1 is refused, as novalog then did; h2 is not tried yet
    options = SchedulerOptions()
    for node in ("h1", "h1-other-node"):
        assert RetryFilter().host_passes(build_sched_host(host="h1", hypervisor_hostname=node), decoded.spec, options) is False
    assert RetryFilter().host_passes(build_sched_host(host="h2"), decoded.spec, options) is True


def test_the_retry_after_an_old_rejection_keeps_the_pairs_aligned() -> None:
    rows = [build_host_state("h1"), build_host_state("h2", hypervisor_hostname="h2-node"), build_host_state("h3")]
    s = Scheduler("s1", lambda: rows, SchedulerOptions(), 60.0, random.Random(0), clock=lambda: NOW)
    old = codec.decode(written_before_retry_nodes(rejected(["h1"], "h2")))

    (out,) = s.handle(old)

    assert isinstance(out.record, PlacementProposed) and out.record.host == "h3"
    # h1's node is unknown (""), h2's is the one its table row names
    assert (out.record.spec.retry_hosts, out.record.spec.retry_nodes) == (["h1", "h2"], ["", "h2-node"])
    assert out.record.spec.tried() == (frozenset({("h2", "h2-node")}), frozenset({"h1"}))


def test_a_nova_request_file_keeps_the_retry_pairs() -> None:
    spec = spec_from_nova({"flavor": {"vcpus": 1, "memory_mb": 512}, "retry": {"num_attempts": 2, "hosts": [["cn1", "node-a"], "cn2"]}})
    node_a, node_b = (sched_host_from_nova({"host": "cn1", "nodename": n, "total_usable_ram_mb": 1024}) for n in ("node-a", "node-b"))

    assert (spec.retry_hosts, spec.retry_nodes) == (["cn1", "cn2"], ["node-a", ""])
    # node-a of cn1 was tried, node-b was not; cn2 was named without a node: all of it
    assert [RetryFilter().host_passes(h, spec, SchedulerOptions()) for h in (node_a, node_b)] == [False, True]
    assert RetryFilter().host_passes(sched_host_from_nova({"host": "cn2", "nodename": "x"}), spec, SchedulerOptions()) is False
