"""Library items to flat records: tracks (top, saved), saved albums, shows and episodes.

Track-like records share :data:`TRACK_COLUMNS`; the kinds add their own leading keys:

- ``top_tracks``: ``time_range``, ``rank`` (from 1)
- ``saved_tracks``: ``added_at``
- albums: ``album_id``, ``album_uri``, ``name``, ``artists``, ``artist_ids``, ``album_type``,
  ``release_date``, ``total_tracks``, ``label``, ``upc``, ``image_url``, ``external_url``
- shows: ``show_id``, ``show_uri``, ``name``, ``publisher``, ``description``, ``total_episodes``,
  ``explicit``, ``image_url``, ``external_url``
- episodes: ``episode_id``, ``episode_uri``, ``name``, ``show``, ``show_id``, ``publisher``,
  ``release_date``, ``duration_ms``, ``explicit``, ``image_url``, ``external_url``

Saved albums, shows and episodes lead with ``added_at``. ``artists``, ``artist_ids`` are
", "-joined; ``release_date`` is Spotify's string (``"1981"``, ``"1981-12"`` or ``"1981-12-15"``).
Fields development-mode apps no longer get (``popularity``, ``followers``, ``available_markets``)
are not in any record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._getters import (
    Record,
    _bool,
    _get,
    _image_url,
    _int,
    _joined,
    _obj,
    _require_object,
    _spotify_url,
    _str,
    parse_timestamp,
)

__all__ = [
    "ALBUM_COLUMNS",
    "EPISODE_COLUMNS",
    "SAVED_ALBUM_COLUMNS",
    "SAVED_EPISODE_COLUMNS",
    "SAVED_SHOW_COLUMNS",
    "SAVED_TRACK_COLUMNS",
    "SHOW_COLUMNS",
    "TOP_TRACK_COLUMNS",
    "TRACK_COLUMNS",
    "album_record",
    "episode_record",
    "saved_record",
    "show_record",
    "top_record",
    "track_fields",
]

TRACK_COLUMNS: tuple[str, ...] = (
    "item_type", "item_id", "item_uri", "name", "artists", "artist_ids", "album", "album_id",
    "release_date", "duration_ms", "explicit", "isrc", "image_url", "external_url",
)
TOP_TRACK_COLUMNS = ("time_range", "rank", *TRACK_COLUMNS)
SAVED_TRACK_COLUMNS = ("added_at", *TRACK_COLUMNS)
ALBUM_COLUMNS: tuple[str, ...] = (
    "album_id", "album_uri", "name", "artists", "artist_ids", "album_type", "release_date",
    "total_tracks", "label", "upc", "image_url", "external_url",
)
SAVED_ALBUM_COLUMNS = ("added_at", *ALBUM_COLUMNS)
SHOW_COLUMNS: tuple[str, ...] = (
    "show_id", "show_uri", "name", "publisher", "description", "total_episodes", "explicit",
    "image_url", "external_url",
)
SAVED_SHOW_COLUMNS = ("added_at", *SHOW_COLUMNS)
EPISODE_COLUMNS: tuple[str, ...] = (
    "episode_id", "episode_uri", "name", "show", "show_id", "publisher", "release_date",
    "duration_ms", "explicit", "image_url", "external_url",
)
SAVED_EPISODE_COLUMNS = ("added_at", *EPISODE_COLUMNS)


def track_fields(item: Mapping[str, Any] | None, *, local: bool = False) -> Record:
    """The :data:`TRACK_COLUMNS` of a track or an episode (as it appears in a playlist).

    A local file keeps its name, artists and album but has None ids; a missing item (no longer
    available) gives ``item_type`` ``"unknown"`` and None everywhere else.
    """
    if item is None:
        return {**dict.fromkeys(TRACK_COLUMNS), "item_type": "unknown"}
    kind = _str(item.get("type"))
    if kind == "episode":
        show = _obj(item.get("show"))
        fields: Record = {
            "item_type": "episode",
            "artists": _str(_get(show, "publisher")),
            "artist_ids": None,
            "album": _str(_get(show, "name")),
            "album_id": _str(_get(show, "id")),
            "release_date": _str(item.get("release_date")),
            "isrc": None,
            "image_url": _image_url(item.get("images"), _get(show, "images")),
        }
    else:
        album = _obj(item.get("album"))
        fields = {
            "item_type": "track",
            "artists": _joined(item.get("artists"), "name"),
            "artist_ids": _joined(item.get("artists"), "id"),
            "album": _str(_get(album, "name")),
            "album_id": _str(_get(album, "id")),
            "release_date": _str(_get(album, "release_date")),
            "isrc": _str(_get(_obj(item.get("external_ids")), "isrc")),
            "image_url": _image_url(_get(album, "images")),
        }
    fields.update(item_id=_str(item.get("id")), item_uri=_str(item.get("uri")),
                  name=_str(item.get("name")), duration_ms=_int(item.get("duration_ms")),
                  explicit=_bool(item.get("explicit")), external_url=_spotify_url(item))
    if local or _bool(item.get("is_local")):
        fields.update(item_id=None, album_id=None, artist_ids=None)
    return {key: fields[key] for key in TRACK_COLUMNS}


def album_record(album: Mapping[str, Any] | None) -> Record:
    """The :data:`ALBUM_COLUMNS` of an album object."""
    return {
        "album_id": _str(_get(album, "id")),
        "album_uri": _str(_get(album, "uri")),
        "name": _str(_get(album, "name")),
        "artists": _joined(_get(album, "artists"), "name"),
        "artist_ids": _joined(_get(album, "artists"), "id"),
        "album_type": _str(_get(album, "album_type")),
        "release_date": _str(_get(album, "release_date")),
        "total_tracks": _int(_get(album, "total_tracks")),
        "label": _str(_get(album, "label")),
        "upc": _str(_get(_obj(_get(album, "external_ids")), "upc")),
        "image_url": _image_url(_get(album, "images")),
        "external_url": _spotify_url(album),
    }


def show_record(show: Mapping[str, Any] | None) -> Record:
    """The :data:`SHOW_COLUMNS` of a show object."""
    return {
        "show_id": _str(_get(show, "id")),
        "show_uri": _str(_get(show, "uri")),
        "name": _str(_get(show, "name")),
        "publisher": _str(_get(show, "publisher")),
        "description": _str(_get(show, "description")),
        "total_episodes": _int(_get(show, "total_episodes")),
        "explicit": _bool(_get(show, "explicit")),
        "image_url": _image_url(_get(show, "images")),
        "external_url": _spotify_url(show),
    }


def episode_record(episode: Mapping[str, Any] | None) -> Record:
    """The :data:`EPISODE_COLUMNS` of an episode object."""
    show = _obj(_get(episode, "show"))
    return {
        "episode_id": _str(_get(episode, "id")),
        "episode_uri": _str(_get(episode, "uri")),
        "name": _str(_get(episode, "name")),
        "show": _str(_get(show, "name")),
        "show_id": _str(_get(show, "id")),
        "publisher": _str(_get(show, "publisher")),
        "release_date": _str(_get(episode, "release_date")),
        "duration_ms": _int(_get(episode, "duration_ms")),
        "explicit": _bool(_get(episode, "explicit")),
        "image_url": _image_url(_get(episode, "images"), _get(show, "images")),
        "external_url": _spotify_url(episode),
    }


_SAVED: dict[str, Callable[[Mapping[str, Any] | None], Record]] = {
    "track": track_fields, "album": album_record, "show": show_record, "episode": episode_record,
}


def saved_record(entry: object, kind: str) -> Record:
    """A saved-item record (``added_at`` first) from one ``items[]`` entry of ``/me/{kind}s``.

    `kind` is ``"track"``, ``"album"``, ``"show"`` or ``"episode"``. Raises
    :class:`~spotkit.errors.MalformedResponse` if the entry is not a JSON object.
    """
    saved = _require_object(entry, f"a saved {kind}")
    return {"added_at": parse_timestamp(saved.get("added_at")),
            **_SAVED[kind](_obj(saved.get(kind)))}


def top_record(item: object, rank: int, time_range: str) -> Record:
    """A top-track record: ``time_range``, ``rank`` and the track's fields."""
    return {"time_range": time_range, "rank": rank, **track_fields(_obj(item))}
