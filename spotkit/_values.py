"""Small value helpers shared by records, the client and the stores: one copy of each.

* :data:`Record`: a flat record, a plain dict with a fixed key set per kind.
* Typed getters (:func:`as_obj`, :func:`as_str`, :func:`as_bool`, :func:`as_int`, :func:`get`):
  a value of the wrong type is as good as a missing one, so reading Spotify's JSON or an export
  file never raises ``KeyError`` or ``TypeError``.
* Unix milliseconds (:func:`to_ms`, :func:`from_ms`, :func:`now_ms`): exact integer arithmetic,
  so a cursor or a stored time never depends on float rounding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "EPOCH",
    "Record",
    "as_bool",
    "as_int",
    "as_obj",
    "as_str",
    "from_ms",
    "get",
    "now_ms",
    "to_ms",
]

#: A flat record (see :mod:`spotkit.records` for the key sets).
Record = dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


# --- typed getters: the wrong type is as good as missing ---------------------------------------


def as_obj(value: object) -> Mapping[str, Any] | None:
    """`value` if it is a mapping (a JSON object), else None."""
    return value if isinstance(value, Mapping) else None


def as_str(value: object, *, empty: bool = True) -> str | None:
    """`value` if it is a string (a non-empty one unless `empty`), else None."""
    if not isinstance(value, str) or (not empty and not value):
        return None
    return value


def as_bool(value: object, *, loose: bool = False) -> bool | None:
    """`value` if it is a bool, else None. `loose` also reads 0/1 and "true"/"false"."""
    if isinstance(value, bool):
        return value
    if loose:
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    return None


def as_int(value: object, *, digits: bool = False) -> int | None:
    """`value` if it is an int (or a float with an integral value), else None.

    Never a bool. `digits` also reads a string of decimal digits ("1234").
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if digits and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def get(obj: Mapping[str, Any] | None, key: str) -> Any:
    """`obj[key]`, or None when `obj` is None or has no such key."""
    return obj.get(key) if obj is not None else None


# --- Unix milliseconds ------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime (a naive one is taken as UTC), exactly."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of Unix milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def now_ms() -> int:
    """The current time in Unix milliseconds."""
    return time.time_ns() // 1_000_000
