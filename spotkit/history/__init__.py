"""Listening history: an SQLite store fed by recently-played polls, now-playing and Spotify's
data export, read back as pandas DataFrames.

- :mod:`.store`: the SQLite file (schema, migrations, durability, dedup key, cursor)
- :mod:`.logger`: :class:`HistoryLogger` (polls, background thread, the public API)
- :mod:`.episodes`: plays seen finishing through currently-playing (podcast episodes)
- :mod:`.data_export`: Spotify's data export files to rows
- :mod:`.frame`: rows to DataFrames; CSV and Parquet files
"""

from __future__ import annotations

from .data_export import ImportResult
from .frame import EXTENDED_COLUMNS, read_history
from .logger import DEFAULT_INTERVAL, HistoryLogger, default_history_path
from .store import EXTRA_COLUMNS, SCHEMA_VERSION, HistoryStore

__all__ = [
    "DEFAULT_INTERVAL",
    "EXTENDED_COLUMNS",
    "EXTRA_COLUMNS",
    "SCHEMA_VERSION",
    "HistoryLogger",
    "HistoryStore",
    "ImportResult",
    "default_history_path",
    "read_history",
]
