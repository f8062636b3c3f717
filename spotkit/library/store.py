"""The SQLite file behind the library cache: collections of records, per user.

A *collection* is one thing read from Spotify: ``saved_tracks``, ``playlists``,
``playlist_items:<id>``, ``top_tracks:short_term``... For each, per user, the store keeps the
records in order (as JSON), a key per record (what an incremental refresh compares), and the
collection's `total`, `snapshot_id` and the time it was read. Replacing a collection is one
transaction, so another process (or a killed one) only ever sees a whole collection.

Opened through :mod:`spotkit.sqlitestore` (verified before any write, WAL, migrations in one
transaction), with ``synchronous=NORMAL``: it is a cache, and a power cut may at worst lose the
last refresh, which is read again next time.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from .._values import from_ms, now_ms
from ..errors import LibraryCacheError
from ..records import Record, parse_timestamp
from ..sqlitestore import SQLiteStore, StoreSpec

__all__ = ["SPEC", "Collection", "LibraryStore", "default_cache_path"]

_DATETIME_KEYS = ("added_at",)


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE collections (
            user_id     TEXT    NOT NULL,
            name        TEXT    NOT NULL,   -- saved_tracks, playlist_items:<id>, top_tracks:...
            total       INTEGER,            -- what Spotify reported when it was read
            snapshot_id TEXT,               -- a playlist's version its items were read at
            read_at     INTEGER NOT NULL,   -- Unix ms of the last read from Spotify
            PRIMARY KEY (user_id, name)
        ) WITHOUT ROWID""")
    conn.execute("""
        CREATE TABLE items (
            user_id TEXT    NOT NULL,
            name    TEXT    NOT NULL,
            seq     INTEGER NOT NULL,       -- order in the collection, from 0
            key     TEXT,                   -- what an incremental refresh compares
            record  TEXT    NOT NULL,       -- the flat record as JSON
            PRIMARY KEY (user_id, name, seq)
        ) WITHOUT ROWID""")


#: The library cache's kind of store ("SPKL"), schema version 1.
SPEC = StoreSpec(name="library cache", error=LibraryCacheError, application_id=0x53504B4C,
                 version=1, migrations={1: _create_tables}, synchronous="NORMAL",
                 busy_hint="Another spotkit process is refreshing it; try again in a moment.")


def default_cache_path() -> Path:
    """``library.sqlite3`` in spotkit's data folder (``SPOTKIT_DATA_DIR`` moves it)."""
    from ..config import default_data_dir

    return default_data_dir() / "library.sqlite3"


class Collection(NamedTuple):
    """A cached collection: its records in order, their keys, and what Spotify reported."""

    records: list[Record]
    keys: list[str | None]
    total: int | None
    snapshot_id: str | None
    read_at: datetime


def _dump(record: Record) -> str:
    return json.dumps(record, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                      ensure_ascii=False, separators=(",", ":"))


def _loads(texts: list[str]) -> list[Record]:
    """The records of stored JSON texts, decoded as one array (one decoder call, not one each)."""
    records: list[Record] = json.loads("[" + ",".join(texts) + "]")
    for record in records:
        for key in _DATETIME_KEYS:
            value = record.get(key)
            if isinstance(value, str):
                try:  # what _dump wrote: isoformat() reads back fast and exactly
                    record[key] = datetime.fromisoformat(value)
                except ValueError:
                    record[key] = parse_timestamp(value)
    return records


class LibraryStore(SQLiteStore):
    """One library cache file (default: :func:`default_cache_path`). Thread-safe."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 10.0) -> None:
        super().__init__(path if path is not None else default_cache_path(), SPEC,
                         timeout=timeout)

    # --- reading and writing -------------------------------------------------------------

    def load(self, user_id: str, name: str) -> Collection | None:
        """The cached collection `name` of `user_id`, or None if it was never read."""
        with self.reading() as conn:
            head = conn.execute(
                "SELECT total, snapshot_id, read_at FROM collections WHERE user_id = ? AND name = ?",
                (user_id, name)).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT key, record FROM items WHERE user_id = ? AND name = ? ORDER BY seq",
                (user_id, name)).fetchall()
        return Collection(_loads([r[1] for r in rows]), [r[0] for r in rows], head[0], head[1],
                          from_ms(head[2]))

    def head(self, user_id: str, name: str) -> tuple[int | None, str | None] | None:
        """The `total` and `snapshot_id` of a cached collection, without its records."""
        with self.reading() as conn:
            row = conn.execute(
                "SELECT total, snapshot_id FROM collections WHERE user_id = ? AND name = ?",
                (user_id, name)).fetchone()
        return (row[0], row[1]) if row is not None else None

    def save(self, user_id: str, name: str, records: Sequence[Record],
             keys: Sequence[str | None] | None = None, *, total: int | None = None,
             snapshot_id: str | None = None) -> datetime:
        """Replace collection `name` of `user_id` in one transaction; returns its read time."""
        now = now_ms()
        keys = keys if keys is not None else [None] * len(records)
        with self.transaction() as conn:
            conn.execute("DELETE FROM items WHERE user_id = ? AND name = ?", (user_id, name))
            conn.executemany(
                "INSERT INTO items (user_id, name, seq, key, record) VALUES (?, ?, ?, ?, ?)",
                ((user_id, name, seq, key, _dump(record))
                 for seq, (key, record) in enumerate(zip(keys, records, strict=True))))
            conn.execute(
                "INSERT INTO collections (user_id, name, total, snapshot_id, read_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, name) DO UPDATE SET total = "
                "excluded.total, snapshot_id = excluded.snapshot_id, read_at = excluded.read_at",
                (user_id, name, total, snapshot_id, now))
        return from_ms(now)

    def touch(self, user_id: str, name: str) -> datetime:
        """Mark collection `name` as just read (nothing changed); returns the read time."""
        now = now_ms()
        with self.transaction() as conn:
            conn.execute("UPDATE collections SET read_at = ? WHERE user_id = ? AND name = ?",
                         (now, user_id, name))
        return from_ms(now)

    def names(self, user_id: str) -> list[str]:
        """The collections cached for `user_id`."""
        with self.reading() as conn:
            return [r[0] for r in conn.execute(
                "SELECT name FROM collections WHERE user_id = ? ORDER BY name", (user_id,))]

    def stats(self) -> dict[str, Any]:
        """How many users, collections and items the file holds."""
        with self.reading() as conn:
            users, collections = conn.execute(
                "SELECT count(DISTINCT user_id), count(*) FROM collections").fetchone()
            items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        return {"users": users, "collections": collections, "items": items}
