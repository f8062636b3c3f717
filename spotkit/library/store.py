"""The SQLite file behind the library cache: collections of records, per user.

A *collection* is one thing read from Spotify: ``saved_tracks``, ``playlists``,
``playlist_items:<id>``, ``top_tracks:short_term``... For each, per user, the store keeps the
records in order (as JSON), a key per record (what an incremental refresh compares), and the
collection's `total`, `snapshot_id` and the time it was read. Replacing a collection is one
transaction, so another process (or a killed one) only ever sees a whole collection.

WAL journal, ``synchronous=NORMAL`` (a cache: a power cut may lose the last refresh, which is
read again next time), a busy timeout so concurrent processes wait for each other's writes.
A file that is not SQLite, or another program's database, is refused and never touched.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import LibraryCacheError
from ..records import Record, parse_timestamp

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Collection", "LibraryStore", "default_cache_path"]

#: ``PRAGMA application_id`` of a spotkit library cache ("SPKL").
APPLICATION_ID = 0x53504B4C
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DATETIME_KEYS = ("added_at",)

_SCHEMA_1 = (
    """CREATE TABLE collections (
        user_id     TEXT    NOT NULL,
        name        TEXT    NOT NULL,   -- saved_tracks, playlist_items:<id>, top_tracks:short_term, ...
        total       INTEGER,            -- what Spotify reported when it was read
        snapshot_id TEXT,               -- a playlist's version the items were read at
        read_at     INTEGER NOT NULL,   -- Unix ms of the last read from Spotify
        PRIMARY KEY (user_id, name)
    ) WITHOUT ROWID""",
    """CREATE TABLE items (
        user_id TEXT    NOT NULL,
        name    TEXT    NOT NULL,
        seq     INTEGER NOT NULL,       -- order in the collection, from 0
        key     TEXT,                   -- what an incremental refresh compares
        record  TEXT    NOT NULL,       -- the flat record as JSON
        PRIMARY KEY (user_id, name, seq)
    ) WITHOUT ROWID""",
)


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


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _dump(record: Record) -> str:
    return json.dumps(record, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                      ensure_ascii=False, separators=(",", ":"))


def _load(text: str) -> Record:
    record: Record = json.loads(text)
    for key in _DATETIME_KEYS:
        if key in record:
            record[key] = parse_timestamp(record[key])
    return record


class LibraryStore:
    """One library cache file. Thread-safe: every call holds the store's lock."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self.timeout = timeout
        self._lock = threading.RLock()
        self._check_header()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryCacheError(f"Cannot create the folder of the library cache {self.path}: "
                                    f"{exc.strerror or exc}.") from None
        with self._errors("open"):
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
        try:
            with self._errors("open"):
                self._setup()
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"LibraryStore({str(self.path)!r})"

    def __enter__(self) -> LibraryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- opening -------------------------------------------------------------------------

    def _check_header(self) -> None:
        try:
            with self.path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise LibraryCacheError(f"Cannot read the library cache {self.path}: "
                                    f"{exc.strerror or exc}.") from None
        if head and head != _SQLITE_MAGIC:
            raise LibraryCacheError(f"The library cache {self.path} is not an SQLite file; spotkit "
                                    "left it untouched. Move it aside (or delete it: it is only a "
                                    "cache) and read again.")

    def _foreign(self) -> LibraryCacheError:
        return LibraryCacheError(f"{self.path} is an SQLite database of some other program, not a "
                                 "spotkit library cache; spotkit left it untouched. Choose another "
                                 "file.")

    def _check_version(self) -> int:
        conn = self._conn
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if (version or app_id) and app_id != APPLICATION_ID:
            raise self._foreign()
        if version > SCHEMA_VERSION:
            raise LibraryCacheError(f"The library cache {self.path} was written by a newer spotkit "
                                    f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade "
                                    "spotkit, or delete the file (it is only a cache).")
        return version

    def _setup(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if self._check_version() < SCHEMA_VERSION:
            with self._transaction():
                # another process may have created the schema between our check and our lock
                if self._check_version() == 0:
                    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise self._foreign()
                    for statement in _SCHEMA_1:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LibraryCacheError(f"The library cache {self.path} cannot use SQLite's WAL journal "
                                    f"({mode!r}); keep it on a local disk.")
        conn.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            text = str(exc).rstrip(".")
            low = text.lower()
            if "locked" in low or "busy" in low:
                raise LibraryCacheError(
                    f"The library cache {self.path} is locked by another process (waited "
                    f"{self.timeout:g} s to {action} it); try again.") from None
            if "not a database" in low or "malformed" in low or "corrupt" in low:
                raise LibraryCacheError(
                    f"The library cache {self.path} is damaged ({text}); spotkit left it untouched. "
                    "Delete it (it is only a cache) and read again.") from None
            raise LibraryCacheError(f"Could not {action} the library cache {self.path}: {text}.") \
                from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- reading and writing -------------------------------------------------------------

    def load(self, user_id: str, name: str) -> Collection | None:
        """The cached collection `name` of `user_id`, or None if it was never read."""
        with self._lock, self._errors("read"):
            head = self._conn.execute(
                "SELECT total, snapshot_id, read_at FROM collections WHERE user_id = ? AND name = ?",
                (user_id, name)).fetchone()
            if head is None:
                return None
            rows = self._conn.execute(
                "SELECT key, record FROM items WHERE user_id = ? AND name = ? ORDER BY seq",
                (user_id, name)).fetchall()
        read_at = datetime.fromtimestamp(head[2] / 1000, tz=timezone.utc)
        return Collection([_load(r[1]) for r in rows], [r[0] for r in rows], head[0], head[1],
                          read_at)

    def head(self, user_id: str, name: str) -> tuple[int | None, str | None] | None:
        """The `total` and `snapshot_id` of a cached collection, without its records."""
        with self._lock, self._errors("read"):
            row = self._conn.execute(
                "SELECT total, snapshot_id FROM collections WHERE user_id = ? AND name = ?",
                (user_id, name)).fetchone()
        return (row[0], row[1]) if row is not None else None

    def save(self, user_id: str, name: str, records: Sequence[Record],
             keys: Sequence[str | None] | None = None, *, total: int | None = None,
             snapshot_id: str | None = None) -> datetime:
        """Replace collection `name` of `user_id` in one transaction; returns its read time."""
        now = _now_ms()
        keys = keys if keys is not None else [None] * len(records)
        with self._errors("write"), self._transaction() as conn:
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
        return datetime.fromtimestamp(now / 1000, tz=timezone.utc)

    def touch(self, user_id: str, name: str) -> datetime:
        """Mark collection `name` as just read (nothing changed); returns the read time."""
        now = _now_ms()
        with self._errors("write"), self._transaction() as conn:
            conn.execute("UPDATE collections SET read_at = ? WHERE user_id = ? AND name = ?",
                         (now, user_id, name))
        return datetime.fromtimestamp(now / 1000, tz=timezone.utc)

    def names(self, user_id: str) -> list[str]:
        """The collections cached for `user_id`."""
        with self._lock, self._errors("read"):
            return [r[0] for r in self._conn.execute(
                "SELECT name FROM collections WHERE user_id = ? ORDER BY name", (user_id,))]

    def stats(self) -> dict[str, Any]:
        """How many users, collections and items the file holds."""
        with self._lock, self._errors("read"):
            users, collections = self._conn.execute(
                "SELECT count(DISTINCT user_id), count(*) FROM collections").fetchone()
            items = self._conn.execute("SELECT count(*) FROM items").fetchone()[0]
        return {"users": users, "collections": collections, "items": items}
