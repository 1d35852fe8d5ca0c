"""Time one pass of today's OpenStack Nova filter scheduler over N synthetic hosts.

Run it with the python of a separate virtualenv that has Nova installed from
PyPI (Nova is imported from there, never copied into novalog):

    /tmp/novavenv/bin/python deploy/bench/nova_filter_pass.py --hosts 10000 --passes 20

What is measured: per pass, exactly the two calls that Nova's
SchedulerManager._get_sorted_hosts makes for one instance on host states that
are already loaded, i.e. HostManager.get_filtered_hosts(hosts, spec) and then
HostManager.get_weighed_hosts(filtered, spec), with Nova's own filter and
weigher classes, handler code and debug-log argument building. One JSON line
gives the median wall time (time.perf_counter) over --passes passes.

Why it is comparable to a novalog pass: both take N already-built host views
and one request, run the enabled filters in order and then the weighers with
normalisation and multipliers, and return the hosts sorted by weight. The
filters are today's default enabled_filters (ComputeFilter,
ComputeCapabilitiesFilter, ImagePropertiesFilter, ServerGroupAntiAffinityFilter,
ServerGroupAffinityFilter); weighers are RAMWeigher, CPUWeigher, DiskWeigher.
Every synthetic host is enabled and up (its heartbeat is checked, but
service_down_time is raised so long runs stay fresh), so all N hosts are weighed;
"filtered_hosts" in the output is the fewest that survived any pass.

What is not comparable: today's Nova has no RamFilter/CoreFilter/DiskFilter;
capacity is checked by Placement (an HTTP call to a SQL-backed service) before
the filters run, and that query, loading ComputeNode/Service rows from the
cell databases and building HostState objects are all outside this timing.
Likewise the final random pick among the best host_subset_size hosts, the
claim in Placement and any RPC. The request has no image properties, no
flavor extra specs and no server group, so those filters pass each host on
their cheapest path.
"""

import argparse
import datetime
import importlib.metadata
import json
import random
import statistics
import sys
import time

import nova.conf
from nova import objects
from nova.scheduler import host_manager

FILTERS = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
           "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]  # today's default
WEIGHERS = ["nova.scheduler.weights.%s" % w for w in ("ram.RAMWeigher", "cpu.CPUWeigher", "disk.DiskWeigher")]
CONF = nova.conf.CONF


class OfflineHostManager(host_manager.HostManager):
    """Nova's HostManager with its real __init__, minus the parts that read databases."""

    def refresh_cells_caches(self):  # reads the API database's cell mappings
        self.cells, self.enabled_cells, self.host_to_cell_uuid = {}, [], {}

    def _init_aggregates(self):  # reads the aggregates table; the synthetic hosts have none
        pass


def configure():
    objects.register_all()
    CONF([], project="nova", default_config_files=[], default_config_dirs=[])
    CONF.set_override("enabled_filters", FILTERS, group="filter_scheduler")
    CONF.set_override("weight_classes", WEIGHERS, group="filter_scheduler")
    CONF.set_override("track_instance_changes", False, group="filter_scheduler")
    # ComputeFilter still does its heartbeat arithmetic per host, but a long run
    # (100000 hosts x 20 passes) must not see the seeded heartbeats go stale.
    CONF.set_override("service_down_time", 86400)


def make_hosts(n, seed):
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.timezone.utc)
    cell = "00000000-0000-0000-0000-000000000001"
    hosts = []
    for i in range(n):
        name = "compute%06d" % i
        hs = host_manager.HostState(name, name, cell)
        ram_mb = rng.choice((65536, 131072, 262144, 524288))
        vcpus = rng.choice((16, 32, 64, 128))
        disk_gb = rng.choice((500, 1000, 2000, 4000))
        hs.uuid = "%08x-0000-4000-8000-%012x" % (seed, i)
        hs.total_usable_ram_mb = ram_mb
        hs.free_ram_mb = rng.randint(0, ram_mb)
        hs.vcpus_total = vcpus
        hs.vcpus_used = rng.randint(0, vcpus * 4)
        hs.total_usable_disk_gb = disk_gb
        hs.free_disk_mb = rng.randint(0, disk_gb * 1024)
        hs.disk_mb_used = disk_gb * 1024 - hs.free_disk_mb
        hs.num_instances = rng.randint(0, 60)
        hs.num_io_ops = rng.randint(0, 8)
        hs.cpu_allocation_ratio, hs.ram_allocation_ratio, hs.disk_allocation_ratio = 4.0, 1.0, 1.0
        hs.hypervisor_type, hs.hypervisor_version, hs.hypervisor_hostname = "QEMU", 8002000, name
        hs.supported_instances = [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]]
        hs.cpu_info, hs.stats, hs.host_ip = {}, {}, "192.0.2.%d" % (i % 250 + 1)
        hs.aggregates, hs.instances, hs.limits = [], {}, {}
        hs.updated = now
        # as HostState.update() stores it: a read-only copy of dict(objects.Service)
        hs.service = host_manager.ReadOnlyDict({
            "host": name, "binary": "nova-compute", "disabled": False, "disabled_reason": None,
            "forced_down": False, "last_seen_up": now, "created_at": now, "updated_at": now})
        hosts.append(hs)
    return hosts


def load_hosts(path):
    """Hosts from a JSON list in novalog's Nova-named host format (scheduler/README.md), e.g. novalog's own synthetic hosts."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cell = "00000000-0000-0000-0000-000000000001"
    hosts = []
    with open(path) as f:
        raw = json.load(f)
    for i, d in enumerate(raw):
        hs = host_manager.HostState(d["host"], d.get("nodename", d["host"]), cell)
        hs.uuid = "00000000-0000-4000-8000-%012x" % i
        for key in ("total_usable_ram_mb", "free_ram_mb", "vcpus_total", "vcpus_used", "total_usable_disk_gb",
                    "free_disk_mb", "num_instances", "num_io_ops", "hypervisor_version"):
            setattr(hs, key, d.get(key, 0))
        hs.disk_mb_used = hs.total_usable_disk_gb * 1024 - hs.free_disk_mb
        hs.cpu_allocation_ratio = d.get("cpu_allocation_ratio", 4.0)
        hs.ram_allocation_ratio = d.get("ram_allocation_ratio", 1.0)
        hs.disk_allocation_ratio = d.get("disk_allocation_ratio", 1.0)
        hs.hypervisor_type, hs.hypervisor_hostname = d.get("hypervisor_type", "QEMU"), d["host"]
        hs.supported_instances = d.get("supported_instances", [["x86_64", "qemu", "hvm"]])
        hs.cpu_info, hs.stats, hs.host_ip = {}, d.get("stats", {}), "192.0.2.%d" % (i % 250 + 1)
        hs.aggregates, hs.instances, hs.limits = [], {}, {}
        hs.updated = now
        service = d.get("service", {})
        # A host that is down gets an old heartbeat, so ComputeFilter drops it as it does in novalog.
        seen = now if service.get("up", True) else now - datetime.timedelta(days=30)
        hs.service = host_manager.ReadOnlyDict({
            "host": d["host"], "binary": "nova-compute", "disabled": bool(service.get("disabled", False)),
            "disabled_reason": None, "forced_down": False, "last_seen_up": seen, "created_at": seen, "updated_at": seen})
        hosts.append(hs)
    return hosts


def make_spec():
    flavor = objects.Flavor(id=1, flavorid="1", name="m1.small", memory_mb=2048, vcpus=1,
                            root_gb=20, ephemeral_gb=0, swap=0, extra_specs={})
    image = objects.ImageMeta(id="11111111-2222-4333-8444-555555555555", name="cirros",
                              properties=objects.ImageMetaProps())
    return objects.RequestSpec(
        instance_uuid="aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", project_id="bench", user_id="bench",
        flavor=flavor, image=image, num_instances=1, scheduler_hints={}, instance_group=None,
        ignore_hosts=None, force_hosts=None, force_nodes=None, requested_destination=None,
        availability_zone=None, is_bfv=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hosts-file", help="JSON hosts in novalog's Nova-named format (overrides --hosts/--seed)")
    args = ap.parse_args(argv)
    configure()
    manager = OfflineHostManager()
    hosts = load_hosts(args.hosts_file) if args.hosts_file else make_hosts(args.hosts, args.seed)
    args.hosts = len(hosts)
    spec = make_spec()
    times_ms, n_filtered, n_weighed = [], args.hosts, args.hosts  # fewest over the passes
    for _ in range(args.passes):
        t0 = time.perf_counter()
        filtered = manager.get_filtered_hosts(hosts, spec)
        weighed = manager.get_weighed_hosts(filtered, spec)
        times_ms.append((time.perf_counter() - t0) * 1000.0)
        n_filtered, n_weighed = min(n_filtered, len(filtered)), min(n_weighed, len(weighed))
    print(json.dumps({
        "nova_version": importlib.metadata.version("nova"),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "hosts": args.hosts,
        "passes": args.passes,
        "median_ms": round(statistics.median(times_ms), 3),
        "min_ms": round(min(times_ms), 3),
        "max_ms": round(max(times_ms), 3),
        "filtered_hosts": n_filtered,
        "weighed_hosts": n_weighed,
        "filters": [f.__class__.__name__ for f in manager.enabled_filters],
        "weighers": [w.__class__.__name__ for w in manager.weighers],
    }))


if __name__ == "__main__":
    main()
