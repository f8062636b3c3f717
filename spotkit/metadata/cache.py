"""The metadata cache: every track, album and artist fetched, kept in one SQLite file.

One row per ``(kind, id)`` with the object as Spotify sent it (``available_markets`` left out: it
can be most of a body and nobody analyses it) and when it was fetched. An item Spotify does not know
(404) is kept too, as a row without a body, so it is not asked for again either. A row older than
``max_age`` (default 30 days) counts as missing and is fetched again.

Every fetched item is committed on its own the moment it arrives: a run killed at any moment
(Ctrl-C, SIGKILL, a kernel restart) loses nothing it fetched, and the next run starts where it
stopped. The file is opened through :mod:`spotkit.sqlitestore` (verified before any write, WAL,
safe to share between processes); ``synchronous=NORMAL`` because a power cut may lose the last few
items without harm: they are simply fetched again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import MetadataError
from ..sqlitestore import SQLiteStore, StoreSpec

__all__ = ["DEFAULT_MAX_AGE", "KINDS", "MetadataCache", "default_metadata_path"]

#: How long a fetched item is used before it is fetched again.
DEFAULT_MAX_AGE = timedelta(days=30)
#: The kinds of item the cache holds.
KINDS: tuple[str, ...] = ("track", "album", "artist")
_CHUNK = 500  # ids per SELECT, well under SQLite's limit on bound parameters
_DROPPED = frozenset({"available_markets"})


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE items (
            kind       TEXT    NOT NULL,   -- track, album, artist
            id         TEXT    NOT NULL,
            fetched_at INTEGER NOT NULL,   -- Unix seconds
            body       TEXT                -- the JSON object; NULL: Spotify knows no such item
        , PRIMARY KEY (kind, id)) WITHOUT ROWID""")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")


SPEC = StoreSpec(name="metadata cache", error=MetadataError, application_id=0x53504B4D,  # SPKM
                 version=1, migrations={1: _create_tables}, synchronous="NORMAL",
                 busy_hint="Another spotkit enrichment may be writing to it; wait for it, or "
                           "give this one another file.")


def default_metadata_path() -> Path:
    """``metadata.sqlite3`` in spotkit's data folder (beside the history database)."""
    from ..config import default_data_dir

    return default_data_dir() / "metadata.sqlite3"


def _trim(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items() if k not in _DROPPED}
    if isinstance(value, list):
        return [_trim(v) for v in value]
    return value


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


class MetadataCache(SQLiteStore):
    """Tracks, albums and artists fetched one by one, each kept for `max_age`.

    Args:
        path: the SQLite file (default :func:`default_metadata_path`).
        max_age: how long an item is fresh (a timedelta or seconds; default 30 days).
        timeout: seconds a write waits for another process's write.
        clock: Unix seconds now (tests pass their own).

    Raises:
        MetadataError: the file is a folder, not SQLite, damaged, another program's or newer
            (it is left untouched), or locked.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 max_age: timedelta | float = DEFAULT_MAX_AGE, timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else float(max_age)
        if not seconds >= 0:
            raise ValueError(f"max_age must be a timedelta or seconds >= 0, not {max_age!r}")
        self.max_age = seconds
        self._clock = clock
        super().__init__(default_metadata_path() if path is None else path, SPEC, timeout=timeout)

    def __enter__(self) -> MetadataCache:
        return self

    def _fresh_since(self) -> int:
        return int(self._clock() - self.max_age)

    def lookup(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """The fresh items among `ids`: id -> object, or None where Spotify knows no such item.

        Ids missing from the answer are not cached, or older than `max_age`.
        """
        _check_kind(kind)
        wanted = list(dict.fromkeys(ids))
        since = self._fresh_since()
        found: dict[str, dict[str, Any] | None] = {}
        with self.reading() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                rows = conn.execute(
                    f"SELECT id, body FROM items WHERE kind = ? AND fetched_at >= ? "  # noqa: S608
                    f"AND id IN ({', '.join('?' * len(chunk))})", (kind, since, *chunk))
                for item_id, body in rows:
                    if body is None:
                        found[item_id] = None
                    elif (value := _loads(body)) is not None:  # unreadable: fetch it again
                        found[item_id] = value
        return found

    def missing(self, kind: str, ids: Iterable[str]) -> list[str]:
        """The ids among `ids` (first-seen order, no repeats) that must be fetched."""
        wanted = list(dict.fromkeys(ids))
        fresh = self.lookup(kind, wanted)
        return [i for i in wanted if i not in fresh]

    def put(self, kind: str, item_id: str, body: Mapping[str, Any] | None) -> None:
        """Keep `body` (None: Spotify knows no such item) for `item_id`, committed at once."""
        _check_kind(kind)
        text = None if body is None else json.dumps(_trim(body), ensure_ascii=False,
                                                    separators=(",", ":"))
        with self.transaction() as conn:
            conn.execute("INSERT INTO items (kind, id, fetched_at, body) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (kind, id) DO UPDATE SET fetched_at = excluded.fetched_at, "
                         "body = excluded.body", (kind, item_id, int(self._clock()), text))

    def count(self, kind: str | None = None) -> int:
        """How many items are kept (of one kind, if given), fresh or not."""
        sql, args = "SELECT count(*) FROM items", ""
        if kind is not None:
            _check_kind(kind)
            sql, args = sql + " WHERE kind = ?", kind
        with self.reading() as conn:
            return int(conn.execute(sql, (args,) if args else ()).fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (key, value))


def _loads(body: str | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
