"""The SQLite file behind a history: one row per play, the recently-played cursor, migrations.

Durability: WAL journal with ``synchronous=FULL``. WAL with NORMAL already survives a killed
process (a commit is in the WAL file once ``COMMIT`` returns, only a power cut can lose it);
FULL adds an fsync per commit so a power cut loses nothing committed either. Commits are rare
(one per poll, one per import), so FULL costs nothing anyone would notice.

A play is keyed by ``(played_at, play_key)``: ``played_at`` is Unix ms UTC and ``play_key`` is the
item's URI, or a synthetic key for rows that have none (see :mod:`spotkit.history.data_export`).
Writing the same play again is a no-op, so re-reading a page or re-importing a file never
duplicates anything.

Opening (verify read-only, then WAL, then migrate in one transaction) and error messages are
:mod:`spotkit.sqlitestore`'s: every sqlite3 failure leaves as a :class:`~spotkit.errors.HistoryError`
that names the file and says what to do; a damaged, foreign or newer file is never modified.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._values import now_ms
from ..errors import HistoryError
from ..sqlitestore import SQLiteStore, StoreSpec

__all__ = [
    "APPLICATION_ID",
    "BOOL_COLUMNS",
    "EXTRA_COLUMNS",
    "INT_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORE_COLUMNS",
    "HistoryStore",
]

#: Current schema version, kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of a spotkit history ("SPKH"), so a foreign database is refused.
APPLICATION_ID = 0x53504B48

#: Columns only Spotify's extended data export fills (NULL for rows from the Web API).
EXTRA_COLUMNS: tuple[str, ...] = (
    "ms_played", "skipped", "reason_start", "reason_end", "shuffle", "offline",
    "incognito_mode", "platform", "conn_country",
)
#: Every column of a stored play, in table order (`played_at` is Unix ms UTC here).
STORE_COLUMNS: tuple[str, ...] = (
    "played_at", "play_key", "item_type", "item_id", "item_uri", "name", "artists", "album",
    "duration_ms", "context_type", "context_uri", "source", *EXTRA_COLUMNS,
)
INT_COLUMNS = frozenset({"played_at", "duration_ms", "ms_played"})
BOOL_COLUMNS = frozenset({"skipped", "shuffle", "offline", "incognito_mode"})

_CURSOR_KEY = "recently_played.after"


# --- migrations --------------------------------------------------------------------------------


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE plays (
            played_at      INTEGER NOT NULL,   -- Unix ms, UTC
            play_key       TEXT    NOT NULL,   -- item_uri, or a synthetic key when there is none
            item_type      TEXT,
            item_id        TEXT,
            item_uri       TEXT,
            name           TEXT,
            artists        TEXT,
            album          TEXT,
            duration_ms    INTEGER,
            context_type   TEXT,
            context_uri    TEXT,
            source         TEXT    NOT NULL,
            ms_played      INTEGER,
            skipped        INTEGER,
            reason_start   TEXT,
            reason_end     TEXT,
            shuffle        INTEGER,
            offline        INTEGER,
            incognito_mode INTEGER,
            platform       TEXT,
            conn_country   TEXT,
            recorded_at    INTEGER NOT NULL,   -- Unix ms when this row was written
            PRIMARY KEY (played_at, play_key)
        ) WITHOUT ROWID""")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")


#: ``MIGRATIONS[n]`` turns a version ``n - 1`` database into version ``n`` (0 is an empty file).
#: A later schema change adds ``MIGRATIONS[2]`` and bumps :data:`SCHEMA_VERSION`.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_1}


# --- the store ---------------------------------------------------------------------------------


_SPEC = StoreSpec(
    name="history database", error=HistoryError, application_id=APPLICATION_ID,
    version=SCHEMA_VERSION, migrations=MIGRATIONS,
    busy_hint="Stop the other program writing to it (another `spotkit history record`, a notebook "
              "with a running HistoryLogger) or wait, then try again.")


class HistoryStore(SQLiteStore):
    """One history database file (see :mod:`spotkit.sqlitestore` for how it is opened).

    `timeout` is SQLite's busy timeout in seconds: how long a write waits for another process's
    write to finish before :class:`HistoryError` says the file is locked. Thread-safe.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        super().__init__(path, _SPEC, timeout=timeout)

    # --- writing -------------------------------------------------------------------------

    def add_plays(self, rows: Sequence[Mapping[str, Any]], *,
                  cursor: int | None = None) -> list[dict[str, Any]]:
        """Store `rows` and (optionally) the recently-played cursor in one transaction.

        Returns the rows that were new. The cursor only ever moves forward.
        """
        new: list[dict[str, Any]] = []
        now = now_ms()
        with self.transaction() as conn:
            for row in rows:
                values = _values(row, now)
                if conn.execute(_INSERT, values).rowcount == 1:
                    new.append(dict(row))
            if cursor is not None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value WHERE CAST(excluded.value AS INTEGER) > "
                    "CAST(meta.value AS INTEGER)", (_CURSOR_KEY, str(int(cursor))))
        return new

    def add_many(self, rows: Iterable[Mapping[str, Any]], *, chunk_size: int = 5000,
                 on_chunk: Callable[[int], object] | None = None) -> int:
        """Store many rows (an import) in one transaction; returns how many were new.

        `on_chunk(n)` is called after each chunk of `n` rows (progress bars).
        """
        now = now_ms()
        with self.transaction() as conn:
            before = conn.total_changes
            chunk: list[tuple[Any, ...]] = []
            for row in rows:
                chunk.append(_values(row, now))
                if len(chunk) >= chunk_size:
                    conn.executemany(_INSERT, chunk)
                    if on_chunk is not None:
                        on_chunk(len(chunk))
                    chunk = []
            if chunk:
                conn.executemany(_INSERT, chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            return conn.total_changes - before

    def add_unless_near(self, row: Mapping[str, Any], tolerance_ms: int) -> bool:
        """Store `row` unless a play of the same item lies within `tolerance_ms` of it.

        For rows whose time is an estimate (plays seen through currently-playing): two observers
        of the same play never agree to the millisecond.
        """
        played_at = int(row["played_at"])
        with self.transaction() as conn:
            near = conn.execute(
                "SELECT 1 FROM plays WHERE played_at BETWEEN ? AND ? AND play_key = ? LIMIT 1",
                (played_at - tolerance_ms, played_at + tolerance_ms, row["play_key"]),
            ).fetchone()
            if near is not None:
                return False
            return conn.execute(_INSERT, _values(row, now_ms())).rowcount == 1

    # --- reading -------------------------------------------------------------------------

    def cursor(self) -> int | None:
        """The recently-played `after` cursor: the newest `played_at` (ms) read from it."""
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                                     (_CURSOR_KEY,)).fetchone()
        return int(row[0]) if row is not None else None

    def count(self, source: str | None = None) -> int:
        """How many plays are stored (of one `source`, if given)."""
        sql, args = "SELECT count(*) FROM plays", []
        if source is not None:
            sql, args = sql + " WHERE source = ?", [source]
        with self.reading() as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    def summary(self) -> dict[str, Any]:
        """``plays``, ``sources`` (count per source), ``first`` and ``last`` played_at (ms)."""
        with self.reading() as conn:
            first, last, plays = conn.execute(
                "SELECT min(played_at), max(played_at), count(*) FROM plays").fetchone()
            sources = dict(conn.execute(
                "SELECT source, count(*) FROM plays GROUP BY source ORDER BY source").fetchall())
        return {"plays": plays, "sources": sources, "first": first, "last": last}

    def fetch(self, columns: Sequence[str] = STORE_COLUMNS, *, since: int | None = None,
              until: int | None = None) -> list[tuple[Any, ...]]:
        """Rows as tuples of `columns`, oldest first; `since` <= played_at < `until` (ms)."""
        unknown = [c for c in columns if c not in STORE_COLUMNS and c != "recorded_at"]
        if unknown:
            raise ValueError(f"unknown history columns: {unknown}")
        where, args = _range(since, until)
        sql = f"SELECT {', '.join(columns)} FROM plays{where} ORDER BY played_at, play_key"  # noqa: S608
        with self.reading() as conn:
            return conn.execute(sql, args).fetchall()


_INSERT = (f"INSERT INTO plays ({', '.join(STORE_COLUMNS)}, recorded_at) "  # noqa: S608
           f"VALUES ({', '.join('?' * (len(STORE_COLUMNS) + 1))}) "
           "ON CONFLICT (played_at, play_key) DO NOTHING")


def _values(row: Mapping[str, Any], recorded_at: int) -> tuple[Any, ...]:
    return (*map(row.get, STORE_COLUMNS), recorded_at)


def _range(since: int | None, until: int | None) -> tuple[str, tuple[int, ...]]:
    parts, args = [], []
    if since is not None:
        parts.append("played_at >= ?")
        args.append(since)
    if until is not None:
        parts.append("played_at < ?")
        args.append(until)
    return (" WHERE " + " AND ".join(parts) if parts else ""), tuple(args)


