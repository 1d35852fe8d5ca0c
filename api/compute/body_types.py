"""Field types the compute admin bodies share (flavors, quota sets, services), with Nova's limits.

Beside the general ones of api/bodies.py: the booleans Nova also takes as
words, and the largest integer its database holds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool, WithJsonSchema

# Nova's db.MAX_INT: the largest flavor size or quota limit it takes.
MAX_INT = 0x7FFFFFFF

_TRUE_WORDS = ("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")
_FALSE_WORDS = ("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no")


def _truth(value: Any) -> Any:
    """One of Nova's words for a boolean, as the boolean; anything else is left for the type check to refuse."""
    if isinstance(value, str):
        return True if value in _TRUE_WORDS else False if value in _FALSE_WORDS else value
    return value


# A boolean as Nova takes it (`is_public`, `force`, `forced_down`): true/false, or "true", "on", "yes", "1" and their opposites.
Boolean = Annotated[StrictBool, BeforeValidator(_truth), WithJsonSchema({"enum": [True, False, *_TRUE_WORDS, *_FALSE_WORDS]})]
