"""Spotify's nested JSON to flat records: the one place that knows the shapes of Spotify's bodies.

One module per kind (:mod:`.playback`, :mod:`.history`, :mod:`.library` for tracks, albums, shows
and episodes, :mod:`.artists`, :mod:`.playlists`), sharing the typed getters of
:mod:`._getters`. Every builder reads defensively: a missing key, a ``null`` or a value of the
wrong type gives ``None`` for that field, never a ``KeyError`` or ``TypeError``. Only a body that is
not even a JSON object where one is required raises :class:`~spotkit.errors.MalformedResponse`.

Records are plain dicts with a fixed key set per kind (:data:`NOW_PLAYING_COLUMNS`,
:data:`HISTORY_COLUMNS`, ...); times are timezone-aware UTC :class:`~datetime.datetime` objects.
"""

from __future__ import annotations

from ._getters import ITEM_TYPES, Record, parse_timestamp
from .artists import ARTIST_COLUMNS, TOP_ARTIST_COLUMNS, artist_record, top_artist_record
from .history import HISTORY_COLUMNS, HistoryPage, history_page, history_record
from .kinds import KIND_COLUMNS, Records
from .library import (
    SAVED_ALBUM_COLUMNS,
    SAVED_EPISODE_COLUMNS,
    SAVED_SHOW_COLUMNS,
    SAVED_TRACK_COLUMNS,
    TOP_TRACK_COLUMNS,
    TRACK_COLUMNS,
    saved_record,
    top_record,
    track_fields,
)
from .playback import NOW_PLAYING_COLUMNS, now_playing_line, now_playing_record
from .playlists import PLAYLIST_COLUMNS, PLAYLIST_ITEM_COLUMNS, playlist_item_record, playlist_record

__all__ = [
    "ARTIST_COLUMNS",
    "HISTORY_COLUMNS",
    "ITEM_TYPES",
    "KIND_COLUMNS",
    "NOW_PLAYING_COLUMNS",
    "PLAYLIST_COLUMNS",
    "PLAYLIST_ITEM_COLUMNS",
    "SAVED_ALBUM_COLUMNS",
    "SAVED_EPISODE_COLUMNS",
    "SAVED_SHOW_COLUMNS",
    "SAVED_TRACK_COLUMNS",
    "TOP_ARTIST_COLUMNS",
    "TOP_TRACK_COLUMNS",
    "TRACK_COLUMNS",
    "HistoryPage",
    "Record",
    "Records",
    "artist_record",
    "history_page",
    "history_record",
    "now_playing_line",
    "now_playing_record",
    "parse_timestamp",
    "playlist_item_record",
    "playlist_record",
    "saved_record",
    "top_artist_record",
    "top_record",
    "track_fields",
]
