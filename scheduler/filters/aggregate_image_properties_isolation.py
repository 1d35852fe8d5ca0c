"""AggregateImagePropertiesIsolation (today's Nova): aggregate metadata names the image property values a host takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novalog.events.records import RequestSpec
from novalog.scheduler.filters.aggregate_values import metadata_of
from novalog.scheduler.filters.base import BaseHostFilter
from novalog.scheduler.filters.image_meta_props import STANDARD_IMAGE_PROPERTIES
from novalog.scheduler.host_state import Aggregate
from novalog.scheduler.vectorized import AggregateSetFilter

if TYPE_CHECKING:
    from novalog.scheduler.options import SchedulerOptions


class AggregateImagePropertiesIsolation(AggregateSetFilter, BaseHostFilter):
    """Fails the host iff one of its aggregates' keys names an image property the image sets to an unlisted value.

    Per key, the allowed values are gathered over all the host's aggregates,
    each value a comma list with blanks trimmed. With
    `aggregate_image_properties_isolation_namespace` set, only keys starting
    with namespace + `..._separator` count. Details read in today's Nova:
    * only Nova's standard property names (`STANDARD_IMAGE_PROPERTIES`, e.g.
      `hw_architecture`, `os_distro`) are checked; any other key, custom or
      legacy (`architecture`), is skipped, as Nova's ImageMetaProps raises on
      it. So a namespace only works when namespace + separator begins
      standard names ("hw" and "_"); Nova now warns whenever one is set.
    * a property that is unset or empty passes ("" is falsy in Nova's test).
    * values compare as the strings the image carries (Nova compares str()
      of its typed field: a boolean reads "True" there).

    Reads nothing of the host but its aggregates (asked once per aggregate
    set in the columnar pass).
    """

    NAME = "AggregateImagePropertiesIsolation"
    REASON = "aggregate refuses the image"
    # Aggregates and the image do not change within one request.
    run_filter_once_per_request = True

    def passes_aggregates(self, aggregates: Sequence[Aggregate], spec: RequestSpec, options: SchedulerOptions) -> bool:
        namespace = options.aggregate_image_properties_isolation_namespace
        prefix = f"{namespace}{options.aggregate_image_properties_isolation_separator}" if namespace else ""
        for key, values in metadata_of(aggregates).items():
            if not key.startswith(prefix) or key not in STANDARD_IMAGE_PROPERTIES:
                continue
            prop = spec.image_properties.get(key)
            if prop and prop not in values:
                return False
        return True

