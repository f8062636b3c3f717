"""Opening spotkit's SQLite stores (history, library cache, metadata cache) the one safe way.

A store describes itself once with a :class:`StoreSpec` and subclasses (or holds) a
:class:`SQLiteStore`::

    SPEC = StoreSpec(name="library cache", error=LibraryError, application_id=0x53504B4C,
                     version=1, migrations={1: create_tables})

    class LibraryCache(SQLiteStore):
        def __init__(self, path: Path) -> None:
            super().__init__(path, SPEC)

        def save(self, rows: list[tuple[str, str]]) -> None:
            with self.transaction() as conn:          # BEGIN IMMEDIATE ... COMMIT, or ROLLBACK
                conn.executemany("INSERT ...", rows)

        def count(self) -> int:
            with self.reading() as conn:              # the store's lock, errors typed
                return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])

Opening verifies before it writes, so a damaged, foreign or newer file is never modified:

1. The path: a folder, an unreadable file or one that does not start with SQLite's header is
   refused before sqlite3 ever opens it.
2. An existing file is opened **read-only** first: its ``application_id`` and ``user_version``
   (another program's database, or a newer schema, is refused) and ``PRAGMA quick_check``.
3. Only then a read-write connection: the busy timeout, the WAL journal (WAL survives a killed
   process: a commit is durable once ``COMMIT`` returns) and ``synchronous``. A file older than
   ``spec.version`` is migrated in one ``BEGIN IMMEDIATE`` transaction that re-reads the version
   (another process may have migrated meanwhile) and commits the migrations, the application id
   and the version together, or nothing: a crash mid-migration leaves the old version intact.

Every :class:`sqlite3.Error` leaves as ``spec.error`` naming the file and saying what to do.
"spotkit left it untouched" is said only while this object has written nothing to the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpotkitError
from .logs import logger

__all__ = ["SQLITE_MAGIC", "Migration", "SQLiteStore", "StoreSpec"]

SQLITE_MAGIC = b"SQLite format 3\x00"

#: ``migrations[n]`` turns a version ``n - 1`` database into version ``n`` (0 is an empty file).
Migration = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class StoreSpec:
    """What a kind of store is: its name in messages, its error class, its id and schema.

    Attributes:
        name: how messages call the file, e.g. ``"history database"``.
        error: the :class:`SpotkitError` subclass every failure is raised as.
        application_id: ``PRAGMA application_id`` of this kind of store (four ASCII letters).
        version: the schema version this code writes (``PRAGMA user_version``).
        migrations: ``{n: migrate}`` for every n in 1..version; each gets the connection inside
            the migration's transaction and must not commit.
        synchronous: ``PRAGMA synchronous`` (``"FULL"``: a power cut loses no commit either).
        busy_hint: what to tell the user when another process holds the write lock.
    """

    name: str
    error: type[SpotkitError]
    application_id: int
    version: int
    migrations: Mapping[int, Migration] = field(repr=False)
    synchronous: str = "FULL"
    busy_hint: str = "Stop the other program writing to it or wait, then try again."

    def __post_init__(self) -> None:
        missing = [n for n in range(1, self.version + 1) if n not in self.migrations]
        if missing:
            raise ValueError(f"{self.name}: no migration to schema version(s) {missing}")


class SQLiteStore:
    """One store file, verified and migrated on open. Thread-safe: calls hold the store's lock.

    Args:
        path: the database file (created, with its folder, if missing).
        spec: what kind of store it is.
        timeout: seconds a write waits for another process's write before failing as locked.

    Raises:
        spec.error: the path is a folder or unreadable, the file is not SQLite, is damaged, is
            another program's database or has a newer schema (in all these cases the file is not
            modified), or it is locked or cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str], spec: StoreSpec, *,
                 timeout: float = 5.0) -> None:
        self.path = Path(path).expanduser()
        self.spec = spec
        self.timeout = timeout
        self.written = False   # set once this object may have changed the file
        #: The schema version this open upgraded the file from (None: no upgrade), e.g. for a
        #: store that wants to VACUUM after a migration that dropped a big table.
        self.upgraded_from: int | None = None
        self._lock = threading.RLock()
        exists = self._check_file()
        if exists:
            with self._errors("open"):
                self._verify_read_only()
        else:
            self._make_folder()
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
        return f"{type(self).__name__}({str(self.path)!r})"

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- using it ------------------------------------------------------------------------

    @contextmanager
    def transaction(self, action: str = "write to") -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store's lock; ROLLBACK on any error.

        sqlite3 errors leave as ``spec.error``; `action` completes "Could not ... the <name>".
        """
        with self._lock, self._errors(action):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            self.written = True
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(self, action: str = "read") -> Iterator[sqlite3.Connection]:
        """The connection under the store's lock, sqlite3 errors raised as ``spec.error``."""
        with self._lock, self._errors(action):
            yield self._conn

    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check``: ``["ok"]`` for a healthy file."""
        with self.reading("check") as conn:
            return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]

    def error(self, exc: sqlite3.Error, action: str) -> SpotkitError:
        """The ``spec.error`` for `exc`, naming the file and what to do."""
        text = str(exc).rstrip(".")
        low = text.lower()
        what = f"The {self.spec.name} {self.path}"
        if "closed database" in low:
            return self.spec.error(f"{what} was closed; open it again.")
        if "locked" in low or "busy" in low:
            return self.spec.error(
                f"{what} is locked by another process (waited {self.timeout:g} s to {action} it). "
                f"{self.spec.busy_hint} Nothing was written.")
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return self._damaged(text)
        if "unable to open" in low or "readonly" in low or "read-only" in low:
            return self.spec.error(f"Cannot {action} the {self.spec.name} {self.path} ({text}); "
                                   "check the path and its permissions.")
        if "disk is full" in low or "disk i/o" in low:
            return self.spec.error(f"Could not {action} the {self.spec.name} {self.path} ({text}); "
                                   "free some disk space or check the disk, then try again.")
        return self.spec.error(f"Could not {action} the {self.spec.name} {self.path}: {text}.")

    # --- opening -------------------------------------------------------------------------

    def _check_file(self) -> bool:
        """Refuse a folder or a non-SQLite file before sqlite3 opens it; True if it has content."""
        try:
            with self.path.open("rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            raise self.spec.error(f"{self.path} is a folder; give the {self.spec.name} a file "
                                  f"name, e.g. {self.path / 'spotkit.sqlite3'}.") from None
        except NotADirectoryError:
            raise self.spec.error(f"Cannot create the folder for the {self.spec.name} {self.path}: "
                                  "part of that path is a file, not a folder; choose another "
                                  "path.") from None
        except OSError as exc:
            raise self.spec.error(f"Cannot read the {self.spec.name} {self.path}: "
                                  f"{exc.strerror or exc}; check its permissions.") from None
        if head and head != SQLITE_MAGIC:
            raise self.spec.error(
                f"The {self.spec.name} {self.path} is not an SQLite file (damaged, or some other "
                "file). spotkit left it untouched: restore a backup or move it aside to start anew.")
        return bool(head)

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.spec.error(f"Cannot create the folder for the {self.spec.name} {self.path}: "
                                  f"{exc.strerror or exc}.") from None

    def _verify_read_only(self) -> None:
        """Check id, version and structure through a read-only connection (it cannot write)."""
        # Without a -wal file no process is writing to a WAL database and the main file is all
        # of it: immutable=1 reads it without creating -wal/-shm files next to someone's file.
        wal = self.path.with_name(self.path.name + "-wal").exists()
        uri = f"{self.path.resolve().as_uri()}?mode=ro{'' if wal else '&immutable=1'}"
        ro = sqlite3.connect(uri, uri=True, timeout=self.timeout)
        try:
            self._check_identity(ro)
            problems = [r[0] for r in ro.execute("PRAGMA quick_check(3)").fetchall()]
            if problems != ["ok"]:
                lines = [p for r in problems for p in str(r).splitlines() if not p.startswith("***")]
                raise self._damaged("; ".join(lines[:2]) or "quick_check failed")
        finally:
            ro.close()

    def _check_identity(self, conn: sqlite3.Connection) -> int:
        """The file's schema version, after refusing a foreign or newer database."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        ours = app_id == self.spec.application_id
        tables = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        if (version or app_id or tables) and not (ours and version):
            raise self.spec.error(f"{self.path} is an SQLite database of some other program, not "
                                  f"a spotkit {self.spec.name}; spotkit left it untouched: choose "
                                  "another file.")
        if version > self.spec.version:
            raise self.spec.error(
                f"The {self.spec.name} {self.path} was written by a newer spotkit (schema version "
                f"{version}, this one knows up to {self.spec.version}); spotkit left it untouched: "
                "upgrade spotkit (pip install -U spotkit) to use it.")
        return version

    def _setup(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        version = self._check_identity(conn)   # again: the file may have changed since
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self.written = True
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise self.spec.error(f"The {self.spec.name} {self.path} cannot use SQLite's WAL "
                                      f"journal (it is in {mode!r} mode); keep it on a local disk.")
        conn.execute(f"PRAGMA synchronous = {self.spec.synchronous}")
        if version < self.spec.version:
            self._migrate()

    def _migrate(self) -> None:
        with self.transaction("upgrade") as conn:
            version = self._check_identity(conn)
            self.upgraded_from = version
            for target in range(version + 1, self.spec.version + 1):
                logger.info("%s: upgrading %s to schema version %d", self.spec.name, self.path,
                            target)
                self.spec.migrations[target](conn)
            conn.execute(f"PRAGMA application_id = {int(self.spec.application_id)}")
            conn.execute(f"PRAGMA user_version = {int(self.spec.version)}")

    # --- errors --------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self.error(exc, action) from None
        except UnicodeEncodeError as exc:   # sqlite3 stores text as UTF-8: a lone surrogate fails
            raise self.spec.error(f"Could not {action} the {self.spec.name} {self.path}: a text "
                                  f"value is not valid Unicode ({exc.reason}); nothing of it was "
                                  "written.") from None

    def _damaged(self, detail: str) -> SpotkitError:
        where = f"The {self.spec.name} {self.path} is damaged ({detail})."
        if self.written:
            return self.spec.error(f"{where} Stop writing to it: copy it aside, then try `sqlite3 "
                                   f"{self.path} .recover` or restore a backup.")
        return self.spec.error(f"{where} spotkit left it untouched: restore a backup, try `sqlite3 "
                               f"{self.path} .recover`, or move it aside to start anew.")
