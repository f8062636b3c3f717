"""Spotify's nested JSON to flat records: the one place that knows the shape of a playback body.

Every builder reads defensively: a missing key, a ``null`` or a value of the wrong type gives
``None`` for that field, never a ``KeyError`` or ``TypeError``. Only a body that is not even a JSON
object where one is required raises :class:`~spotkit.errors.MalformedResponse`.

Records are plain dicts with a fixed key set (:data:`NOW_PLAYING_COLUMNS`, :data:`HISTORY_COLUMNS`);
times are timezone-aware UTC :class:`~datetime.datetime` objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from .errors import MalformedResponse

__all__ = [
    "HISTORY_COLUMNS",
    "ITEM_TYPES",
    "NOW_PLAYING_COLUMNS",
    "HistoryPage",
    "history_page",
    "history_record",
    "now_playing_line",
    "now_playing_record",
    "parse_timestamp",
]

NOW_PLAYING_COLUMNS: tuple[str, ...] = (
    "fetched_at", "is_playing", "item_type", "item_id", "item_uri", "name", "artists", "album",
    "duration_ms", "progress_ms", "device_name", "device_type", "shuffle", "repeat",
    "context_type", "context_uri", "image_url", "external_url",
)
HISTORY_COLUMNS: tuple[str, ...] = (
    "played_at", "item_type", "item_id", "item_uri", "name", "artists", "album", "duration_ms",
    "context_type", "context_uri", "source",
)
#: The values `item_type` can take.
ITEM_TYPES: tuple[str, ...] = ("track", "episode", "ad", "unknown")

Record = dict[str, Any]


# --- typed getters: the wrong type is as good as missing -------------------------------------


def _obj(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _get(obj: Mapping[str, Any] | None, key: str) -> Any:
    return obj.get(key) if obj is not None else None


def _artists(value: object) -> str | None:
    if not isinstance(value, list):
        return None
    names = [n for a in value if (n := _str(_get(_obj(a), "name")))]
    return ", ".join(names) if names else None


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
        artists = _artists(item.get("artists"))
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
        "external_url": _str(_get(_obj(item.get("external_urls")), "spotify")),
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


# --- now playing -------------------------------------------------------------------------------


def now_playing_record(body: Mapping[str, Any] | None,
                       fetched_at: datetime | None = None) -> Record | None:
    """A flat now-playing record from a `/me/player` or `/me/player/currently-playing` body.

    `None` (an HTTP 204: nothing plays) gives `None`. An ad or unknown item gives `None` item
    fields. `fetched_at` defaults to now, in UTC. Raises :class:`MalformedResponse` if `body` is
    not a JSON object.
    """
    if body is None:
        return None
    body = _require_object(body, "a playback state")
    item = _obj(body.get("item"))
    item_type = _item_type(body.get("currently_playing_type"), item)
    device = _obj(body.get("device"))
    context = _obj(body.get("context"))
    record: Record = {
        "fetched_at": _utc(fetched_at) if fetched_at is not None else datetime.now(timezone.utc),
        "is_playing": _bool(body.get("is_playing")),
        "item_type": item_type,
        "device_name": _str(_get(device, "name")),
        "device_type": _str(_get(device, "type")),
        "shuffle": _bool(body.get("shuffle_state")),
        "repeat": _str(body.get("repeat_state")),
        "context_type": _str(_get(context, "type")),
        "context_uri": _str(_get(context, "uri")),
        "progress_ms": _int(body.get("progress_ms")),
    }
    record.update(_item_fields(item, item_type))
    return {key: record[key] for key in NOW_PLAYING_COLUMNS}


def now_playing_line(record: Mapping[str, Any] | None) -> str:
    """One human line: ``Currently playing track: <name> by <artists>`` and its siblings."""
    if record is None:
        return "Nothing is playing"
    kind = record.get("item_type")
    name = record.get("name") or "(unnamed)"
    paused = " (paused)" if record.get("is_playing") is False else ""
    if kind == "track":
        by = f" by {record['artists']}" if record.get("artists") else ""
        return f"Currently playing track: {name}{by}{paused}"
    if kind == "episode":
        show = f" from {record['album']}" if record.get("album") else ""
        return f"Currently playing episode: {name}{show}{paused}"
    if kind == "ad":
        return f"Currently playing an ad{paused}"
    return f"Currently playing something Spotify does not describe{paused}"


# --- history -----------------------------------------------------------------------------------

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


def history_record(play_history_item: Mapping[str, Any],
                   source: str = "recently_played") -> Record:
    """A flat history record from one `items[]` entry of `/me/player/recently-played`.

    Raises :class:`MalformedResponse` if the entry is not a JSON object; an unparseable
    `played_at` gives `None`.
    """
    entry = _require_object(play_history_item, "a play history item")
    item = _obj(entry.get("track"))
    if item is None:
        item = _obj(entry.get("episode")) or _obj(entry.get("item"))
    item_type = _item_type(None, item)
    fields = _item_fields(item, item_type)
    context = _obj(entry.get("context"))
    record: Record = {
        "played_at": parse_timestamp(entry.get("played_at")),
        "item_type": item_type,
        "context_type": _str(_get(context, "type")),
        "context_uri": _str(_get(context, "uri")),
        "source": source,
        **fields,
    }
    return {key: record[key] for key in HISTORY_COLUMNS}


class HistoryPage(NamedTuple):
    """One page of `/me/player/recently-played`: its records and cursors (Unix ms, or None)."""

    records: list[Record]
    cursor_after: int | None = None
    cursor_before: int | None = None
    raw_count: int = 0


def _cursor(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return _int(value)


def history_page(body: Mapping[str, Any] | None, source: str = "recently_played") -> HistoryPage:
    """The records and cursors of a recently-played body. Raises :class:`MalformedResponse`."""
    if body is None:
        return HistoryPage([])
    body = _require_object(body, "a recently-played page")
    items = body.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise MalformedResponse(f"Spotify sent {_describe(items)} as the recently-played items "
                                "where a JSON array was expected.")
    cursors = _obj(body.get("cursors"))
    return HistoryPage(
        records=[history_record(item, source) for item in items],
        cursor_after=_cursor(_get(cursors, "after")),
        cursor_before=_cursor(_get(cursors, "before")),
        raw_count=len(items),
    )
