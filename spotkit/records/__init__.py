"""Spotify's nested JSON to flat records: the one place that knows the shapes of Spotify's bodies.

One module per kind (:mod:`.playback`, :mod:`.history`), sharing the typed getters of
:mod:`._getters`. Every builder reads defensively: a missing key, a ``null`` or a value of the
wrong type gives ``None`` for that field, never a ``KeyError`` or ``TypeError``. Only a body that is
not even a JSON object where one is required raises :class:`~spotkit.errors.MalformedResponse`.

Records are plain dicts with a fixed key set per kind (:data:`NOW_PLAYING_COLUMNS`,
:data:`HISTORY_COLUMNS`, ...); times are timezone-aware UTC :class:`~datetime.datetime` objects.
"""

from __future__ import annotations

from ._getters import ITEM_TYPES, Record, parse_timestamp
from .history import HISTORY_COLUMNS, HistoryPage, history_page, history_record
from .playback import NOW_PLAYING_COLUMNS, now_playing_line, now_playing_record

__all__ = [
    "HISTORY_COLUMNS",
    "ITEM_TYPES",
    "NOW_PLAYING_COLUMNS",
    "HistoryPage",
    "Record",
    "history_page",
    "history_record",
    "now_playing_line",
    "now_playing_record",
    "parse_timestamp",
]
