"""The SQLite file behind a history: one row per play, the recently-played cursor, migrations.

Schema version 2 keeps what repeats once: a play is a row of integers (``played_at``, its key,
its item, its details, ``ms_played``, ``recorded_at``) pointing at ``keys`` (play keys),
``items`` (type, id, URI, name, artists, album, duration: one row per distinct combination) and
``details`` (source, context and the export's extras, likewise). A lifetime of plays repeats a few
thousand tracks, so this is a third of version 1's size and a frame can be built from integer
codes. The view ``play_rows`` shows every play with all its columns, as version 1 stored them.

Durability: WAL journal with ``synchronous=FULL``. WAL with NORMAL already survives a killed
process (a commit is in the WAL file once ``COMMIT`` returns, only a power cut can lose it);
FULL adds an fsync per commit so a power cut loses nothing committed either. Commits are rare
(one per poll, one per imported file), so FULL costs nothing anyone would notice.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .._values import now_ms
from ..errors import HistoryError
from ..logs import logger
from ..sqlitestore import SQLiteStore, StoreSpec

__all__ = [
    "APPLICATION_ID",
    "BOOL_COLUMNS",
    "DETAIL_COLUMNS",
    "EXTRA_COLUMNS",
    "INT_COLUMNS",
    "ITEM_COLUMNS",
    "MAX_MS",
    "MIGRATIONS",
    "MIN_MS",
    "NULL_INT",
    "SCHEMA_VERSION",
    "STORE_COLUMNS",
    "FrameData",
    "HistoryStore",
    "ImportedFile",
    "Play",
    "int64",
    "play_of",
]

#: Current schema version, kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 2
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
#: Columns of the ``items`` table: what was played.
ITEM_COLUMNS: tuple[str, ...] = (
    "item_type", "item_id", "item_uri", "name", "artists", "album", "duration_ms")
#: Columns of the ``details`` table: where it came from and how it was played.
DETAIL_COLUMNS: tuple[str, ...] = (
    "source", "context_type", "context_uri", "skipped", "reason_start", "reason_end", "shuffle",
    "offline", "incognito_mode", "platform", "conn_country")

#: The range of ``played_at`` (Unix ms) a pandas ``datetime64[ns]`` can hold (years 1677-2262):
#: anything outside it is refused before it is stored, or every later frame would fail.
MIN_MS = -9_223_372_036_854
MAX_MS = 9_223_372_036_854
#: Stands for NULL in integer columns read in bulk (never a stored ``ms_played``).
NULL_INT = -(2**63)

#: One play ready to store: ``(played_at, play_key, item values, detail values, ms_played)``,
#: the values in :data:`ITEM_COLUMNS` and :data:`DETAIL_COLUMNS` order.
Play = tuple[int, str, tuple[Any, ...], tuple[Any, ...], "int | None"]

_CURSOR_KEY = "recently_played.after"
#: ``meta`` key prefix of an imported export file's digest (its value: "records,unusable").
#: The version in it changes whenever the same bytes would be read into different plays.
_IMPORTED_KEY = "export.v1.sha256:"


@dataclass(frozen=True)
class ImportedFile:
    """An export file whose plays are stored: its content's SHA-256 (hex), how many records it
    held and how many of them were unusable."""

    digest: str
    records: int
    unusable: int


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


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    """Version 1's one wide table to keys, items, details and integer plays, every value kept."""
    conn.execute("CREATE TABLE keys (id INTEGER PRIMARY KEY, play_key TEXT NOT NULL UNIQUE)")
    conn.execute("""
        CREATE TABLE items (
            id INTEGER PRIMARY KEY, item_type TEXT, item_id TEXT, item_uri TEXT, name TEXT,
            artists TEXT, album TEXT, duration_ms INTEGER)""")
    conn.execute("CREATE INDEX items_by_uri ON items (item_uri, name)")
    conn.execute("""
        CREATE TABLE details (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, context_type TEXT, context_uri TEXT,
            skipped INTEGER, reason_start TEXT, reason_end TEXT, shuffle INTEGER, offline INTEGER,
            incognito_mode INTEGER, platform TEXT, conn_country TEXT)""")
    conn.execute("CREATE INDEX details_by_context ON details (source, context_uri, platform)")
    conn.execute("ALTER TABLE plays RENAME TO plays_v1")
    conn.execute("""
        CREATE TABLE plays (
            played_at   INTEGER NOT NULL,   -- Unix ms, UTC
            key         INTEGER NOT NULL,   -- keys.id
            item        INTEGER NOT NULL,   -- items.id
            detail      INTEGER NOT NULL,   -- details.id
            ms_played   INTEGER,
            recorded_at INTEGER NOT NULL,   -- Unix ms when this row was written
            PRIMARY KEY (played_at, key)
        ) WITHOUT ROWID""")
    items, details = ", ".join(ITEM_COLUMNS), ", ".join(DETAIL_COLUMNS)
    conn.execute("INSERT INTO keys (play_key) SELECT DISTINCT play_key FROM plays_v1")
    conn.execute(f"INSERT INTO items ({items}) SELECT DISTINCT {items} FROM plays_v1")  # noqa: S608
    conn.execute(f"INSERT INTO details ({details}) SELECT DISTINCT {details} FROM plays_v1")  # noqa: S608
    same_item = " AND ".join(f"i.{c} IS v.{c}" for c in ITEM_COLUMNS)
    same_detail = " AND ".join(f"d.{c} IS v.{c}" for c in DETAIL_COLUMNS)
    conn.execute(f"""
        INSERT INTO plays (played_at, key, item, detail, ms_played, recorded_at)
        SELECT v.played_at, k.id, i.id, d.id, v.ms_played, v.recorded_at
        FROM plays_v1 v JOIN keys k ON k.play_key = v.play_key
        JOIN items i ON {same_item} JOIN details d ON {same_detail}""")  # noqa: S608
    old = conn.execute("SELECT count(*) FROM plays_v1").fetchone()[0]
    new = conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    if old != new:   # cannot happen; if it did, the transaction rolls back and version 1 stays
        raise sqlite3.IntegrityError(f"upgrade kept {new} of {old} plays")
    conn.execute("DROP TABLE plays_v1")
    conn.execute(f"""
        CREATE VIEW play_rows AS
        SELECT p.played_at, k.play_key, {", ".join(f"i.{c}" for c in ITEM_COLUMNS)},
               d.context_type, d.context_uri, d.source, p.ms_played,
               {", ".join(f"d.{c}" for c in DETAIL_COLUMNS[3:])}, p.recorded_at
        FROM plays p JOIN keys k ON k.id = p.key JOIN items i ON i.id = p.item
        JOIN details d ON d.id = p.detail""")  # noqa: S608


#: ``MIGRATIONS[n]`` turns a version ``n - 1`` database into version ``n`` (0 is an empty file).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_1, 2: _migrate_to_2}


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
        self._ids = _Ids()
        if self.upgraded_from == 1:
            # version 1's wide table was dropped: give its pages back (a third of the file is left)
            try:
                with self.reading("compact") as conn:
                    conn.execute("VACUUM")
            except HistoryError as exc:   # the upgrade is committed; the space is reused anyway
                logger.warning("history: upgraded, but could not compact the file: %s", exc)

    # --- writing -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self.transaction() as conn:
                self._ids.begin(conn)
                yield conn
        except BaseException:
            self._ids.forget()   # ids handed out inside a rolled-back transaction are void
            raise

    def add_plays(self, rows: Sequence[Mapping[str, Any]], *,
                  cursor: int | None = None) -> list[dict[str, Any]]:
        """Store `rows` and (optionally) the recently-played cursor in one transaction.

        Returns the rows that were new. The cursor only ever moves forward.
        """
        new: list[dict[str, Any]] = []
        plays = [play_of(row) for row in rows]
        now = now_ms()
        with self._write() as conn:
            for row, play in zip(rows, plays, strict=True):
                values = self._ids.values(conn, play, now)
                self._ids.flush(conn)
                if conn.execute(_INSERT, values).rowcount == 1:
                    new.append(dict(row))
            if cursor is not None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value WHERE CAST(excluded.value AS INTEGER) > "
                    "CAST(meta.value AS INTEGER)", (_CURSOR_KEY, str(int(cursor))))
        return new

    def add_many(self, rows: Iterable[Mapping[str, Any]], *, chunk_size: int = 50_000,
                 on_chunk: Callable[[int], object] | None = None) -> int:
        """Store many rows (dicts of :data:`STORE_COLUMNS`) in one transaction; returns how many
        were new. `on_chunk(n)` is called after each chunk of `n` rows (progress bars)."""
        return self.add_batch(map(play_of, rows), chunk_size=chunk_size, on_chunk=on_chunk)

    def add_batch(self, plays: Iterable[Play], *, chunk_size: int = 50_000,
                  on_chunk: Callable[[int], object] | None = None,
                  imported: ImportedFile | None = None) -> int:
        """Store many :data:`Play` tuples (an import) in one transaction; returns how many were new.

        `imported` (an export file's digest and counts) is recorded in the same transaction, so
        :meth:`imported_file` knows the file exactly when its plays are stored.

        Raises:
            HistoryError: a ``played_at`` outside :data:`MIN_MS`..:data:`MAX_MS` (nothing is
                stored), or the database failed.
        """
        now = now_ms()
        added = 0
        plays = list(plays)
        if plays:
            low, high = min(p[0] for p in plays), max(p[0] for p in plays)
            if low < MIN_MS or high > MAX_MS:
                raise HistoryError(f"played_at={low if low < MIN_MS else high} is not a time "
                                   "between the years 1677 and 2262, which is all a pandas "
                                   "DataFrame can hold; nothing was stored.")
        with self._write() as conn:
            if imported is not None:   # first: a killed import is then seen to drop it too
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             (_IMPORTED_KEY + imported.digest,
                              f"{imported.records},{imported.unusable}"))
            rows = self._ids.batch_values(conn, self._not_stored(conn, plays), now)
            for start in range(0, len(rows), chunk_size):
                added += self._insert_chunk(conn, rows[start:start + chunk_size], on_chunk)
        return added

    def imported_file(self, digest: str) -> ImportedFile | None:
        """The record of an export file whose content has `digest`, if its plays are stored."""
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (_IMPORTED_KEY + digest,)).fetchone()
        if row is None:
            return None
        try:
            records, unusable = (int(n) for n in row[0].split(","))
        except ValueError:   # not what this code writes: import the file the long way
            return None
        return ImportedFile(digest, records, unusable)

    def _not_stored(self, conn: sqlite3.Connection, plays: list[Play]) -> list[Play]:
        """`plays` less those already stored: re-importing a file then costs one range read
        instead of an insert attempt per play (the insert still ignores duplicates)."""
        import numpy as np

        if not plays:
            return plays
        low, high = min(p[0] for p in plays), max(p[0] for p in plays)
        count, times, keys = conn.execute(
            "SELECT count(*), group_concat(played_at), group_concat(key) FROM plays "
            "WHERE played_at BETWEEN ? AND ?", (low, high)).fetchone()
        if not count:
            return plays
        stored = set(zip(np.fromstring(times, dtype=np.int64, sep=",").tolist(),
                         np.fromstring(keys, dtype=np.int64, sep=",").tolist(), strict=True))
        ids = self._ids.keys
        return [p for p in plays if (p[0], ids.get(p[1], 0)) not in stored]

    def _insert_chunk(self, conn: sqlite3.Connection, chunk: list[tuple[int, ...]],
                      on_chunk: Callable[[int], object] | None) -> int:
        from itertools import chain

        self._ids.flush(conn)
        # _ROWS plays per statement: a third less time than one per statement
        whole = len(chunk) - len(chunk) % _ROWS
        flat = list(chain.from_iterable(chunk[:whole]))
        width = _ROWS * len(_INSERT_COLUMNS)
        added = conn.executemany(_INSERT_MANY, (flat[start:start + width]
                                                for start in range(0, len(flat), width))).rowcount
        added += conn.executemany(_INSERT, chunk[whole:]).rowcount
        if on_chunk is not None:
            on_chunk(len(chunk))
        return added

    def add_unless_near(self, row: Mapping[str, Any], tolerance_ms: int) -> bool:
        """Store `row` unless a play of the same item lies within `tolerance_ms` of it.

        For rows whose time is an estimate (plays seen through currently-playing): two observers
        of the same play never agree to the millisecond.
        """
        play = play_of(row)
        played_at = play[0]
        with self._write() as conn:
            near = conn.execute(
                "SELECT 1 FROM plays JOIN keys ON keys.id = plays.key WHERE played_at BETWEEN ? "
                "AND ? AND play_key = ? LIMIT 1",
                (played_at - tolerance_ms, played_at + tolerance_ms, play[1])).fetchone()
            if near is not None:
                return False
            values = self._ids.values(conn, play, now_ms())
            self._ids.flush(conn)
            return conn.execute(_INSERT, values).rowcount == 1

    # --- reading -------------------------------------------------------------------------

    def cursor(self) -> int | None:
        """The recently-played `after` cursor: the newest `played_at` (ms) read from it."""
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_CURSOR_KEY,)).fetchone()
        return int(row[0]) if row is not None else None

    def count(self, source: str | None = None) -> int:
        """How many plays are stored (of one `source`, if given)."""
        sql, args = "SELECT count(*) FROM plays", []
        if source is not None:
            sql, args = sql + " JOIN details d ON d.id = plays.detail WHERE d.source = ?", [source]
        with self.reading() as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    def summary(self) -> dict[str, Any]:
        """``plays``, ``sources`` (count per source), ``first`` and ``last`` played_at (ms)."""
        with self.reading() as conn:
            first, last, plays = conn.execute(
                "SELECT min(played_at), max(played_at), count(*) FROM plays").fetchone()
            sources = dict(conn.execute(
                "SELECT d.source, count(*) FROM plays p JOIN details d ON d.id = p.detail "
                "GROUP BY d.source ORDER BY d.source").fetchall())
        return {"plays": plays, "sources": sources, "first": first, "last": last}

    def fetch(self, columns: Sequence[str] = STORE_COLUMNS, *, since: int | None = None,
              until: int | None = None) -> list[tuple[Any, ...]]:
        """Rows as tuples of `columns`, oldest first; `since` <= played_at < `until` (ms)."""
        unknown = [c for c in columns if c not in STORE_COLUMNS and c != "recorded_at"]
        if unknown:
            raise ValueError(f"unknown history columns: {unknown}")
        where, args = _range(since, until)
        sql = f"SELECT {', '.join(columns)} FROM play_rows{where} ORDER BY played_at, play_key"  # noqa: S608
        with self.reading() as conn:
            return conn.execute(sql, args).fetchall()

    def frame_data(self, columns: Sequence[str], *, since: int | None = None,
                   until: int | None = None) -> FrameData:
        """What a DataFrame of `columns` (of :data:`STORE_COLUMNS`) is built from, read in bulk:
        only the plays in range, and only the item and detail columns asked for."""
        import numpy as np

        where, args = _range(since, until)
        item_columns = [c for c in ITEM_COLUMNS if c in columns]
        detail_columns = [c for c in DETAIL_COLUMNS if c in columns]
        wanted = ["played_at", *(["item"] if item_columns else []),
                  *(["detail"] if detail_columns else []),
                  *(["ms_played"] if "ms_played" in columns else [])]
        concat = ", ".join(f"group_concat(ifnull({c}, {NULL_INT}))" for c in wanted)
        # group_concat hands SQLite's integers over as one text per column: parsing it in C is
        # several times faster than a Python tuple per row. Read in time windows of about
        # _WINDOW plays, so the texts stay a few MB whatever the history's size.
        with self.reading() as conn:
            conn.execute("BEGIN")   # one snapshot for plays and the tables they point at
            try:
                counted, low, high = conn.execute(
                    f"SELECT count(*), min(played_at), max(played_at) FROM plays{where}",  # noqa: S608
                    args).fetchone()
                parts: dict[str, list[Any]] = {name: [] for name in wanted}
                if counted:
                    step = max(1, -(-(high - low + 1) * _WINDOW // counted))
                    for start in range(low, high + 1, step):
                        texts = conn.execute(
                            f"SELECT {concat} FROM plays WHERE played_at >= ? AND played_at < ?",  # noqa: S608
                            (start, min(start + step, high + 1))).fetchone()
                        for name, text in zip(wanted, texts, strict=True):
                            if text:
                                parts[name].append(np.fromstring(text, dtype=np.int64, sep=","))
                items = _rows_used(conn, "items", "item", item_columns, where, args)
                details = _rows_used(conn, "details", "detail", detail_columns, where, args)
            finally:
                conn.execute("COMMIT")
        plays = {}
        for name in wanted:
            array = np.concatenate(parts.pop(name) or [np.empty(0, dtype=np.int64)])
            if len(array) != counted:
                raise HistoryError(f"Could not read the history database {self.path}: "
                                   f"{len(array)} of {counted} values of {name}.")
            if name in ("item", "detail"):   # ids: four bytes are plenty
                array = array.astype(np.int32) if counted and array.max() < 2**31 else array
            plays[name] = array
        return FrameData(plays, items, item_columns, details, detail_columns)


def _rows_used(conn: sqlite3.Connection, table: str, column: str, names: Sequence[str],
               where: str, args: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """``(id, *names)`` of the rows of `table` the plays in range use (all of them without a
    range: every row is used by some play)."""
    if not names:
        return []
    if not where:
        return conn.execute(f"SELECT id, {', '.join(names)} FROM {table}").fetchall()  # noqa: S608
    # driven from the plays in range (a month uses a few thousand of a lifetime's tracks)
    picked = ", ".join(f"t.{name}" for name in names)
    return conn.execute(f"SELECT t.id, {picked} FROM (SELECT DISTINCT {column} AS id FROM "  # noqa: S608
                        f"plays{where}) AS u JOIN {table} AS t ON t.id = u.id", args).fetchall()


@dataclass(frozen=True)
class FrameData:
    """Plays as integer arrays, and the rows of the tables they point at.

    ``plays`` maps ``played_at`` and, as needed, ``item``, ``detail`` and ``ms_played`` (NULL
    as :data:`NULL_INT`) to int64 arrays in play order; ``items`` and ``details`` are
    ``(id, *item_columns)`` and ``(id, *detail_columns)`` tuples.
    """

    plays: dict[str, Any]
    items: list[tuple[Any, ...]]
    item_columns: list[str]
    details: list[tuple[Any, ...]]
    detail_columns: list[str]


class _Ids:
    """The ids of stored play keys, items and details, looked up by value and cached.

    Ids only grow (rows are never deleted), so at the start of each write transaction the cache
    reads just the rows other processes added since; inside it, under SQLite's write lock, a
    value not in the cache is new and is inserted.
    """

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        self.keys: dict[str, int] = {}
        self.items: dict[tuple[Any, ...], int] = {}
        self.details: dict[tuple[Any, ...], int] = {}
        self._last = {"keys": 0, "items": 0, "details": 0}
        self._pending: dict[str, list[tuple[Any, ...]]] = {"keys": [], "items": [], "details": []}

    def begin(self, conn: sqlite3.Connection) -> None:
        """Catch up with what other writers stored (call inside the write transaction)."""
        for table, cache, select in (("keys", self.keys, "SELECT id, play_key FROM keys"),
                                     ("items", self.items, _SELECT_ITEMS),
                                     ("details", self.details, _SELECT_DETAILS)):
            for row in conn.execute(f"{select} WHERE id > ? ORDER BY id", (self._last[table],)):
                cache[row[1] if table == "keys" else row[1:]] = row[0]
                self._last[table] = row[0]

    def values(self, conn: sqlite3.Connection, play: Play, recorded_at: int) -> tuple[int, ...]:
        """The `plays` row of `play`, inserting its key, item and details if they are new."""
        played_at, key, item, detail, ms_played = play
        key_id = self.keys.get(key)
        if key_id is None:
            key_id = self.keys[key] = self._insert(conn, "keys", ("play_key",), (key,))
        item_id = self.items.get(item)
        if item_id is None:
            item_id = self.items[item] = self._insert(conn, "items", ITEM_COLUMNS, item)
        detail_id = self.details.get(detail)
        if detail_id is None:
            detail_id = self.details[detail] = self._insert(conn, "details", DETAIL_COLUMNS, detail)
        return (played_at, key_id, item_id, detail_id, ms_played, recorded_at)  # type: ignore[return-value]

    def batch_values(self, conn: sqlite3.Connection, plays: list[Play], recorded_at: int
                     ) -> list[tuple[int, ...]]:
        """The `plays` rows of many plays, as :meth:`values` gives each (one call, not one per
        play: an import's million calls cost more than the lookups they make)."""
        rows: list[tuple[int, ...]] = []
        append = rows.append
        keys, items, details, insert = self.keys, self.items, self.details, self._insert
        for played_at, key, item, detail, ms_played in plays:
            key_id = keys.get(key)
            if key_id is None:
                key_id = keys[key] = insert(conn, "keys", ("play_key",), (key,))
            item_id = items.get(item)
            if item_id is None:
                item_id = items[item] = insert(conn, "items", ITEM_COLUMNS, item)
            detail_id = details.get(detail)
            if detail_id is None:
                detail_id = details[detail] = insert(conn, "details", DETAIL_COLUMNS, detail)
            append((played_at, key_id, item_id, detail_id, ms_played, recorded_at))  # type: ignore[arg-type]
        return rows

    def _insert(self, conn: sqlite3.Connection, table: str, columns: Sequence[str],
                values: tuple[Any, ...]) -> int:
        # the next id is ours to give: we hold the write lock and have read every row before it
        new = self._last[table] = self._last[table] + 1
        self._pending[table].append((new, *values))
        return new

    def flush(self, conn: sqlite3.Connection) -> None:
        """Insert the new keys, items and details handed out (before the plays using them)."""
        for table, columns in (("keys", ("play_key",)), ("items", ITEM_COLUMNS),
                               ("details", DETAIL_COLUMNS)):
            rows = self._pending[table]
            if rows:
                conn.executemany(f"INSERT INTO {table} (id, {', '.join(columns)}) "  # noqa: S608
                                 f"VALUES (?, {', '.join('?' * len(columns))})", rows)
                rows.clear()


_SELECT_ITEMS = f"SELECT id, {', '.join(ITEM_COLUMNS)} FROM items"  # noqa: S608
_SELECT_DETAILS = f"SELECT id, {', '.join(DETAIL_COLUMNS)} FROM details"  # noqa: S608
_INSERT_COLUMNS = ("played_at", "key", "item", "detail", "ms_played", "recorded_at")
_INSERT = ("INSERT INTO plays (played_at, key, item, detail, ms_played, recorded_at) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (played_at, key) DO NOTHING")
#: Plays per INSERT statement of an import.
_ROWS = 100
_INSERT_MANY = (f"INSERT INTO plays ({', '.join(_INSERT_COLUMNS)}) VALUES "  # noqa: S608
                f"{', '.join(['(?, ?, ?, ?, ?, ?)'] * _ROWS)} ON CONFLICT (played_at, key) DO NOTHING")
_INT64 = range(-(2**63) + 1, 2**63)
#: Plays read per group_concat when building a frame.
_WINDOW = 200_000


def int64(value: object) -> int | None:
    """`value` if it is an int SQLite can store (never :data:`NULL_INT`), else None."""
    return value if type(value) is int and value in _INT64 else None


def play_of(row: Mapping[str, Any]) -> Play:
    """The :data:`Play` of a row dict of :data:`STORE_COLUMNS` (``played_at`` in Unix ms).

    Raises:
        HistoryError: ``played_at`` is missing or outside what pandas can hold.
    """
    played_at = row.get("played_at")
    if type(played_at) is not int or not MIN_MS <= played_at <= MAX_MS:
        raise HistoryError(f"played_at={played_at!r} is not a time between the years 1677 and "
                           "2262 (Unix ms), which is all a pandas DataFrame can hold; not stored.")
    key = row.get("play_key")
    if not isinstance(key, str) or not key:
        raise HistoryError(f"play_key={key!r} is not a text; not stored.")
    get = row.get
    item = (get("item_type"), get("item_id"), get("item_uri"), get("name"), get("artists"),
            get("album"), int64(get("duration_ms")))
    detail = (get("source"), get("context_type"), get("context_uri"), get("skipped"),
              get("reason_start"), get("reason_end"), get("shuffle"), get("offline"),
              get("incognito_mode"), get("platform"), get("conn_country"))
    return (played_at, key, item, detail, int64(get("ms_played")))


def _range(since: int | None, until: int | None) -> tuple[str, tuple[int, ...]]:
    parts, args = [], []
    if since is not None:
        parts.append("played_at >= ?")
        args.append(since)
    if until is not None:
        parts.append("played_at < ?")
        args.append(until)
    return (" WHERE " + " AND ".join(parts) if parts else ""), tuple(args)
