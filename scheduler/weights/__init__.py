"""Host weighers, one per module, keeping Nova's names; WEIGHERS is the one registry."""

from __future__ import annotations

from novalog.scheduler.weights.base import BaseHostWeigher, normalize, weigh_hosts
from novalog.scheduler.weights.cpu import CPUWeigher
from novalog.scheduler.weights.disk import DiskWeigher
from novalog.scheduler.weights.ram import RAMWeigher

WEIGHERS: dict[str, type[BaseHostWeigher]] = {
    "CPUWeigher": CPUWeigher,
    "DiskWeigher": DiskWeigher,
    "RAMWeigher": RAMWeigher,
}

__all__ = ["WEIGHERS", "BaseHostWeigher", "CPUWeigher", "DiskWeigher", "RAMWeigher", "normalize", "weigh_hosts"]

# Load, failure, version and server-group weighers, registered as one block.
from novalog.scheduler.weights.build_failure import BuildFailureWeigher  # noqa: E402
from novalog.scheduler.weights.hypervisor_version import HypervisorVersionWeigher  # noqa: E402
from novalog.scheduler.weights.io_ops import IoOpsWeigher  # noqa: E402
from novalog.scheduler.weights.num_instances import NumInstancesWeigher  # noqa: E402
from novalog.scheduler.weights.soft_affinity import ServerGroupSoftAffinityWeigher  # noqa: E402
from novalog.scheduler.weights.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher  # noqa: E402

_LOAD_AND_GROUP: list[type[BaseHostWeigher]] = [
    BuildFailureWeigher, HypervisorVersionWeigher, IoOpsWeigher, NumInstancesWeigher,
    ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher,
]
WEIGHERS.update({cls.NAME: cls for cls in _LOAD_AND_GROUP})
__all__ += [cls.__name__ for cls in _LOAD_AND_GROUP]
