"""Catalogue objects (``GET /tracks|albums|artists/{id}``) to the fields enrichment adds to a row.

A development-mode app gets these objects without ``popularity``, ``followers`` and
``available_markets`` since 2026, and whether artists still carry ``genres`` is uncertain: every
field is read defensively and is ``None`` when absent (an empty ``genres`` list is ``""``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._getters import Record, _bool, _get, _int, _joined, _obj, _str

__all__ = [
    "ENRICH_COLUMNS",
    "ENRICH_DTYPES",
    "album_fields",
    "artist_ids",
    "genres_of",
    "track_fields",
]

#: The columns enrichment adds for each kind asked for, in the order they are added.
ENRICH_COLUMNS: dict[str, tuple[str, ...]] = {
    "tracks": ("release_date", "release_year", "album_id", "explicit", "isrc", "popularity",
               "artist_ids"),
    "albums": ("release_date", "release_year", "album_type", "label"),
    "artists": ("genres",),
}
#: The dtype of every enrichment column that is not a string column.
ENRICH_DTYPES: dict[str, str] = {"release_year": "Int64", "popularity": "Int64",
                                 "explicit": "boolean"}

_YEAR = re.compile(r"(\d{4})(?:-\d\d){0,2}")


def _year(date: str | None) -> int | None:
    match = _YEAR.fullmatch(date) if date else None
    return int(match.group(1)) if match else None


def track_fields(body: Mapping[str, Any]) -> Record:
    """The enrichment fields of a TrackObject (its album's date and id included)."""
    album = _obj(body.get("album"))
    date = _str(_get(album, "release_date"))
    return {
        "release_date": date,
        "release_year": _year(date),
        "album_id": _str(_get(album, "id")),
        "explicit": _bool(body.get("explicit")),
        "isrc": _str(_get(_obj(body.get("external_ids")), "isrc")),
        "popularity": _int(body.get("popularity")),
        "artist_ids": _joined(body.get("artists"), "id"),
    }


def album_fields(body: Mapping[str, Any]) -> Record:
    """The enrichment fields of an AlbumObject."""
    date = _str(body.get("release_date"))
    return {"release_date": date, "release_year": _year(date),
            "album_type": _str(body.get("album_type")), "label": _str(body.get("label"))}


def artist_ids(value: object) -> list[str]:
    """Artist ids from ``artist_ids`` as records keep it (", "-joined) or a list of ids."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


def genres_of(artists: Sequence[Mapping[str, Any] | None]) -> str | None:
    """The genres of a track's artists, ", "-joined in credit order without repeats.

    None when no artist object says anything about genres (absent in development mode), ``""``
    when they say there are none.
    """
    seen: list[str] = []
    known = False
    for artist in artists:
        genres = _get(artist, "genres")
        if not isinstance(genres, list):
            continue
        known = True
        for genre in genres:
            if isinstance(genre, str) and genre and genre not in seen:
                seen.append(genre)
    return ", ".join(seen) if known else None
