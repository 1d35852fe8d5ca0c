"""The contract every host filter keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from novalog.events.records import RequestSpec
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class BaseHostFilter(ABC):
    """A yes/no rule: may this host take one instance of this request?

    Contract:
    * `host_passes(host, spec, options) -> bool` decides from its arguments
      alone: no global configuration, no clock, no I/O. It never changes the
      host (SchedHost is frozen; where Nova's resource filters wrote
      `host_state.limits`, novalog's claim check re-derives the limit from
      the same capacity formula instead).
    * `NAME` is Nova's class name: the registry key and the name in the trace.
    * `REASON` says, in a short constant phrase that reads after a count of
      hosts ("2 not enough RAM"), why a host fails: `reasons.summarize`
      counts each refused host under the first filter that refused it, for
      the "No valid host" fault and `schedule --explain`.
    * `run_filter_once_per_request` is Nova's flag: True when the answer
      cannot change between the instances of one multi-instance request, so
      the pipeline runs the filter for the first instance only.
    """

    NAME: ClassVar[str]
    REASON: ClassVar[str]
    run_filter_once_per_request: ClassVar[bool] = False

    @abstractmethod
    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        """True iff the host may take one instance of the request."""

    def filter_all(self, hosts: Sequence[SchedHost], spec: RequestSpec, options: SchedulerOptions) -> list[SchedHost]:
        """The hosts that pass, in their input order."""
        return [host for host in hosts if self.host_passes(host, spec, options)]

    def passes_all(self, spec: RequestSpec, options: SchedulerOptions) -> bool:
        """True when the request alone shows every host passes (no image property, no group...),
        so a pass over many hosts may skip the filter; False means "ask the hosts"."""
        return False
