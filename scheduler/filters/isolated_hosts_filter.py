"""IsolatedHostsFilter (today's Nova)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.host_state import SchedHost

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class IsolatedHostsFilter(BaseHostFilter):
    """Keeps isolated images on isolated hosts and, when restricted, other images off them.

    With `restrict_isolated_hosts_to_isolated_images` (the default):

        |              | isolated image | other image |
        | isolated host|     pass       |    fail     |
        | other host   |     fail       |    pass     |

    Without it, an isolated host also takes other images. With no
    `isolated_images` at all, a restricted isolated host takes nothing. A
    request without an image (boot from volume) is not an isolated image.
    """

    NAME = "IsolatedHostsFilter"
    REASON = "isolation unlike the image's"
    # The options do not change within a request.
    run_filter_once_per_request = True

    def host_passes(self, host: SchedHost, spec: RequestSpec, options: SchedulerOptions) -> bool:
        restrict = options.restrict_isolated_hosts_to_isolated_images
        host_isolated = host.host in options.isolated_hosts
        if not options.isolated_images:
            return not restrict or not host_isolated
        image_isolated = bool(spec.image_ref) and spec.image_ref in options.isolated_images
        if restrict:
            return image_isolated == host_isolated
        return not image_isolated or host_isolated
