"""What every record builder shares: the item fields, item types and timestamps.

The typed getters themselves (the wrong type is as good as missing) live in :mod:`spotkit._values`,
which the history's export reader shares too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from .._values import Record, as_bool, as_int, as_obj, as_str, get
from ..errors import MalformedResponse

__all__ = [
    "ITEM_TYPES",
    "Record",
    "parse_timestamp",
]

#: The values `item_type` can take.
ITEM_TYPES: tuple[str, ...] = ("track", "episode", "ad", "unknown")

# the record builders' short names for the shared typed getters
_obj, _str, _bool, _int, _get = as_obj, as_str, as_bool, as_int, get


def _joined(objects: object, field: str) -> str | None:
    """The `field` of each object in a list, ", "-joined (None if there is none): an item's
    artists (``"name"``) or artist ids (``"id"``)."""
    if not isinstance(objects, list):
        return None
    values = [v for o in objects if (v := _str(_get(_obj(o), field)))]
    return ", ".join(values) if values else None


def _spotify_url(obj: Mapping[str, Any] | None) -> str | None:
    """The object's ``external_urls.spotify``: its page on open.spotify.com."""
    return _str(_get(_obj(_get(obj, "external_urls")), "spotify"))


def _image_url(*candidates: object) -> str | None:
    """The widest image of the first candidate list that has one (Spotify lists widest first)."""
    for images in candidates:
        if not isinstance(images, list):
            continue
        best: str | None = None
        best_width = -1
        for image in images:
            img = _obj(image)
            url = _str(_get(img, "url"))
            if not url:
                continue
            width = _int(_get(img, "width"))
            if best is None or (width is not None and width > best_width):
                best, best_width = url, width if width is not None else -1
        if best is not None:
            return best
    return None


def _item_fields(item: Mapping[str, Any] | None, item_type: str) -> Record:
    """name, ids, artists, album, duration, image and link of a track or an episode."""
    if item is None or item_type not in ("track", "episode"):
        return dict.fromkeys(("item_id", "item_uri", "name", "artists", "album", "duration_ms",
                              "image_url", "external_url"))
    if item_type == "episode":
        show = _obj(item.get("show"))
        artists = _str(_get(show, "publisher"))
        album = _str(_get(show, "name"))
        image = _image_url(item.get("images"), _get(show, "images"))
    else:
        album_obj = _obj(item.get("album"))
        artists = _joined(item.get("artists"), "name")
        album = _str(_get(album_obj, "name"))
        image = _image_url(_get(album_obj, "images"))
    return {
        "item_id": _str(item.get("id")),
        "item_uri": _str(item.get("uri")),
        "name": _str(item.get("name")),
        "artists": artists,
        "album": album,
        "duration_ms": _int(item.get("duration_ms")),
        "image_url": image,
        "external_url": _spotify_url(item),
    }


def _item_type(declared: object, item: Mapping[str, Any] | None) -> str:
    kind = _str(declared)
    if kind is not None and kind in ITEM_TYPES:
        return kind
    kind = _str(_get(item, "type"))
    return kind if kind is not None and kind in ("track", "episode") else "unknown"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _require_object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise MalformedResponse(f"Spotify sent {_describe(body)} where {what} (a JSON object) "
                                "was expected.")
    return body


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a JSON array"
    return f"a JSON {type(value).__name__}"



_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 time (``2023-09-22T15:43:33.750Z``, any fraction, an offset or none) in UTC.

    A time without an offset is taken as UTC. Anything unparseable gives `None`.
    """
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    try:
        if offset and offset.upper() != "Z":
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tz = timezone(-delta if offset[0] == "-" else delta)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second or 0), micro, tzinfo=tz)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
