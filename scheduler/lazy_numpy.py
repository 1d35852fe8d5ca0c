"""`np`, numpy loaded at its first use rather than when a scheduler module is imported.

numpy is what the columnar pass runs on, and most of the import cost of the
scheduler package (about 100 ms of CPU). The host-by-host pipeline, which
`novalog schedule --explain --hosts FILE` runs, never touches it, so every
scheduler module imports `np` from here: the first attribute read imports
numpy and keeps that attribute on the stand-in, so later reads are plain
attribute lookups, as fast as on the module itself. Type checkers see numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["np"]


class _Deferred:
    """Stands in for the numpy module until an attribute is read."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(importlib.import_module("numpy"), name)
        setattr(self, name, value)  # found on the instance next time: __getattr__ runs once per name
        return value


if TYPE_CHECKING:
    import numpy as np
else:
    np = _Deferred()
