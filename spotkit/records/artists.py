"""Artist objects (top and followed artists) to flat records.

Keys (:data:`ARTIST_COLUMNS`): ``artist_id``, ``artist_uri``, ``name``, ``genres`` (", "-joined;
Spotify may no longer send them to development-mode apps: None then), ``image_url``,
``external_url``. Top artists lead with ``time_range`` and ``rank`` (from 1).
"""

from __future__ import annotations

from ._getters import Record, _get, _image_url, _obj, _spotify_url, _str

__all__ = ["ARTIST_COLUMNS", "TOP_ARTIST_COLUMNS", "artist_record", "top_artist_record"]

ARTIST_COLUMNS: tuple[str, ...] = (
    "artist_id", "artist_uri", "name", "genres", "image_url", "external_url",
)
TOP_ARTIST_COLUMNS = ("time_range", "rank", *ARTIST_COLUMNS)


def _genres(value: object) -> str | None:
    if not isinstance(value, list):
        return None
    genres = [g for g in value if isinstance(g, str) and g]
    return ", ".join(genres) if genres else None


def artist_record(artist: object) -> Record:
    """The :data:`ARTIST_COLUMNS` of an artist object (anything else gives None fields)."""
    obj = _obj(artist)
    return {
        "artist_id": _str(_get(obj, "id")),
        "artist_uri": _str(_get(obj, "uri")),
        "name": _str(_get(obj, "name")),
        "genres": _genres(_get(obj, "genres")),
        "image_url": _image_url(_get(obj, "images")),
        "external_url": _spotify_url(obj),
    }


def top_artist_record(artist: object, rank: int, time_range: str) -> Record:
    """A top-artist record: ``time_range``, ``rank`` and the artist's fields."""
    return {"time_range": time_range, "rank": rank, **artist_record(artist)}
