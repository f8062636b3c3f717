"""The kinds of records, their fixed keys, and `Records`: a list that knows its kind.

A library read returns :class:`Records`, so ``to_frame(sp.saved_tracks())`` has the right
columns even when the library is empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .artists import ARTIST_COLUMNS, TOP_ARTIST_COLUMNS
from .history import HISTORY_COLUMNS
from .library import (
    SAVED_ALBUM_COLUMNS,
    SAVED_EPISODE_COLUMNS,
    SAVED_SHOW_COLUMNS,
    SAVED_TRACK_COLUMNS,
    TOP_TRACK_COLUMNS,
)
from .playback import NOW_PLAYING_COLUMNS
from .playlists import PLAYLIST_COLUMNS, PLAYLIST_ITEM_COLUMNS

__all__ = ["KIND_COLUMNS", "Records"]

#: Every kind of record and its keys, in column order.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "now_playing": NOW_PLAYING_COLUMNS,
    "history": HISTORY_COLUMNS,
    "top_tracks": TOP_TRACK_COLUMNS,
    "top_artists": TOP_ARTIST_COLUMNS,
    "saved_tracks": SAVED_TRACK_COLUMNS,
    "saved_albums": SAVED_ALBUM_COLUMNS,
    "saved_shows": SAVED_SHOW_COLUMNS,
    "saved_episodes": SAVED_EPISODE_COLUMNS,
    "followed_artists": ARTIST_COLUMNS,
    "playlists": PLAYLIST_COLUMNS,
    "playlist_items": PLAYLIST_ITEM_COLUMNS,
}


class Records(list[dict[str, Any]]):
    """A list of flat records of one `kind` (a key of :data:`KIND_COLUMNS`); `read_at` is when
    Spotify was asked for them (None: never, e.g. an empty cache read with ``refresh=False``)."""

    def __init__(self, kind: str, records: Any = (), read_at: datetime | None = None) -> None:
        if kind not in KIND_COLUMNS:
            raise ValueError(f"kind must be one of {', '.join(KIND_COLUMNS)}, not {kind!r}")
        super().__init__(records)
        self.kind = kind
        self.read_at = read_at

    def __repr__(self) -> str:
        return f"Records({self.kind!r}, {len(self)} records)"
