"""Playback bodies (`/me/player`, `/me/player/currently-playing`) to now-playing records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ._getters import Record, _bool, _get, _int, _item_fields, _item_type, _obj, _require_object, _str, _utc

__all__ = ["NOW_PLAYING_COLUMNS", "now_playing_line", "now_playing_record"]

NOW_PLAYING_COLUMNS: tuple[str, ...] = (
    "fetched_at", "is_playing", "item_type", "item_id", "item_uri", "name", "artists", "album",
    "duration_ms", "progress_ms", "device_name", "device_type", "shuffle", "repeat",
    "context_type", "context_uri", "image_url", "external_url",
)


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
