"""Playlists and their items to flat records.

Playlist keys (:data:`PLAYLIST_COLUMNS`): ``playlist_id``, ``playlist_uri``, ``name``,
``owner_id``, ``owner_name``, ``collaborative``, ``public``, ``snapshot_id``, ``items_total``,
``description``, ``image_url``, ``external_url``.

Playlist-item keys (:data:`PLAYLIST_ITEM_COLUMNS`): ``playlist_id``, ``position`` (from 0),
``added_at``, ``added_by``, ``is_local``, then the track fields of
:data:`~spotkit.records.library.TRACK_COLUMNS`. A local file is a record with None ids (its name,
artists and album kept); an item Spotify no longer has (``item: null``) is a record with
``item_type`` ``"unknown"`` and None fields: neither is an error.
"""

from __future__ import annotations

from ._getters import (
    Record,
    _bool,
    _get,
    _image_url,
    _int,
    _obj,
    _require_object,
    _spotify_url,
    _str,
    parse_timestamp,
)
from .library import TRACK_COLUMNS, track_fields

__all__ = ["PLAYLIST_COLUMNS", "PLAYLIST_ITEM_COLUMNS", "playlist_item_record", "playlist_record"]

PLAYLIST_COLUMNS: tuple[str, ...] = (
    "playlist_id", "playlist_uri", "name", "owner_id", "owner_name", "collaborative", "public",
    "snapshot_id", "items_total", "description", "image_url", "external_url",
)
PLAYLIST_ITEM_COLUMNS: tuple[str, ...] = (
    "playlist_id", "position", "added_at", "added_by", "is_local", *TRACK_COLUMNS,
)


def playlist_record(playlist: object) -> Record:
    """The :data:`PLAYLIST_COLUMNS` of a (simplified) playlist object.

    ``items_total`` is read from ``items.total`` (2026) or ``tracks.total`` (before).
    Raises :class:`~spotkit.errors.MalformedResponse` if `playlist` is not a JSON object.
    """
    obj = _require_object(playlist, "a playlist")
    owner = _obj(obj.get("owner"))
    ref = _obj(obj.get("items")) or _obj(obj.get("tracks"))
    return {
        "playlist_id": _str(obj.get("id")),
        "playlist_uri": _str(obj.get("uri")),
        "name": _str(obj.get("name")),
        "owner_id": _str(_get(owner, "id")),
        "owner_name": _str(_get(owner, "display_name")),
        "collaborative": _bool(obj.get("collaborative")),
        "public": _bool(obj.get("public")),
        "snapshot_id": _str(obj.get("snapshot_id")),
        "items_total": _int(_get(ref, "total")),
        "description": _str(obj.get("description")) or None,
        "image_url": _image_url(obj.get("images")),
        "external_url": _spotify_url(obj),
    }


def playlist_item_record(entry: object, playlist_id: str | None, position: int) -> Record:
    """A playlist-item record from one ``items[]`` entry of ``/playlists/{id}/items``.

    The object is read from ``item`` (2026) or ``track`` (before). Raises
    :class:`~spotkit.errors.MalformedResponse` if the entry is not a JSON object.
    """
    obj = _require_object(entry, "a playlist item")
    item = _obj(obj.get("item"))
    if item is None:
        item = _obj(obj.get("track"))
    is_local = _bool(obj.get("is_local"))
    return {
        "playlist_id": playlist_id,
        "position": position,
        "added_at": parse_timestamp(obj.get("added_at")),
        "added_by": _str(_get(_obj(obj.get("added_by")), "id")),
        "is_local": is_local,
        **track_fields(item, local=bool(is_local)),
    }
