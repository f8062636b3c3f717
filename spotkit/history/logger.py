"""`HistoryLogger`: keeps a listening history that outlives Spotify's 50-track memory.

>>> history = HistoryLogger()            # history.sqlite3 in the user data dir
>>> history.sync()                       # one catch-up poll: the new plays, as history records
>>> history.start()                      # poll in a background thread (every 25 min by default)
>>> history.to_frame(since="2026-01-01") # a DataFrame, played_at as datetime64[ns, UTC]
>>> history.import_export("~/Downloads/my_spotify_data.zip")  # years of history from Spotify
>>> history.export("history.parquet")

Recently-played returns the last 50 tracks and accepts an `after` cursor (Unix ms, strictly
after). The logger keeps the newest `played_at` it read as that cursor, committed in the same
transaction as the rows, so one call per poll reads every play since the last one as long as
fewer than 50 happened in between (50 plays in 25 minutes means 30-second plays). A full page
is logged as a warning, since older plays may already be gone.

Episodes never appear in recently-played: with ``watch_now_playing=True`` the logger also polls
currently-playing, sparsely, and a NowPlayingWidget can feed it the records it fetches anyway
through :meth:`HistoryLogger.record_now_playing` (see :mod:`spotkit.history.episodes`).
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import _runtime
from .._values import Record, from_ms, to_ms
from ..errors import HistoryError, RateLimited, SpotkitError
from ..logs import logger as _root_logger
from ..records import HISTORY_COLUMNS
from .data_export import (
    Cache,
    ExportFile,
    ImportResult,
    Numbering,
    file_plays,
    find_export_files,
    load_export_file,
)
from .episodes import EpisodeTracker
from .frame import check_columns, columns_of, plays_frame, time_ms, write_history
from .progress import progress_bar
from .store import MAX_MS, MIN_MS, HistoryStore, ImportedFile

if TYPE_CHECKING:
    import pandas as pd

    from ..records import HistoryPage

__all__ = ["DEFAULT_INTERVAL", "HistoryClient", "HistoryLogger", "default_history_path"]

log = _root_logger.getChild("history")

#: Seconds between recently-played polls: 50 plays never fit in 25 minutes of normal listening.
DEFAULT_INTERVAL = 25 * 60.0
PAGE_LIMIT = 50
_MAX_PAGES = 20
#: Two now-playing observations of the same play lie closer than this (ms).
_NEAR_MS = 10 * 60 * 1000

Moment = datetime | date | str | None


class HistoryClient(Protocol):
    """What the logger needs of a client: :class:`spotkit.Spotify` has both."""

    def recently_played_page(self, after: int | None = None, before: int | None = None,
                             limit: int = 50) -> HistoryPage: ...

    def now_playing(self) -> dict[str, Any] | None: ...


def default_history_path() -> Path:
    """``history.sqlite3`` in the user's data directory (e.g. ~/.local/share/spotkit)."""
    from ..config import default_data_dir

    return default_data_dir() / "history.sqlite3"


def _row(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The store row of a history record (played_at as Unix ms), None without a time."""
    played_at = record.get("played_at")
    if not isinstance(played_at, datetime):
        return None
    ms = to_ms(played_at)
    if not MIN_MS <= ms <= MAX_MS:   # a DataFrame could never show it: not stored
        log.warning("history: a play dated %s is outside the years 1677-2262; not stored", played_at)
        return None
    uri = record.get("item_uri")
    row = {col: record.get(col) for col in HISTORY_COLUMNS}
    row["played_at"] = ms
    row["play_key"] = uri or f"{record.get('source')}:{record.get('artists')}:{record.get('name')}"
    row["source"] = record.get("source") or "recently_played"
    return row


def _record(row: Mapping[str, Any]) -> Record:
    """The history record (played_at as an aware datetime) of a store row."""
    rec = {col: row.get(col) for col in HISTORY_COLUMNS}
    rec["played_at"] = from_ms(int(row["played_at"]))
    return rec


class HistoryLogger:
    """A listening history in an SQLite file at `path`, fed by polls, now-playing and imports.

    `client` is a :class:`spotkit.Spotify` (or anything with its two methods, see
    :class:`HistoryClient`), created from the environment on first need; imports, exports and
    frames never need one. `interval`: seconds between background polls.
    `watch_now_playing`: also poll currently-playing, sparsely (timed to the end of what plays,
    at least `now_playing_interval` seconds apart), to record podcast episodes, which
    recently-played never lists. `min_episode_ms`: how long an episode must have played to count.
    `on_sync(new_records)` and `on_error(exc, retry_in_seconds)` are called from the background
    thread. `timeout`: seconds to wait for a database another process is writing.

    Raises :class:`HistoryError` at once for a locked, damaged, foreign or newer database.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, client: HistoryClient | None = None,
                 *, interval: float = DEFAULT_INTERVAL, watch_now_playing: bool = False,
                 now_playing_interval: float = 30.0, min_episode_ms: int = 30_000,
                 on_sync: Callable[[list[Record]], object] | None = None,
                 on_error: Callable[[BaseException, float], object] | None = None,
                 timeout: float = 5.0) -> None:
        if interval <= 0 or now_playing_interval <= 0:
            raise ValueError("interval and now_playing_interval must be positive seconds")
        self.path = Path(path).expanduser() if path is not None else default_history_path()
        self.interval = float(interval)
        self.watch_now_playing = watch_now_playing
        self.now_playing_interval = float(now_playing_interval)
        self.on_sync = on_sync
        self.on_error = on_error
        self.store = HistoryStore(self.path, timeout=timeout)
        self._client = client
        self._client_lock = threading.Lock()
        self._tracker = EpisodeTracker(min_episode_ms)
        self._sync_lock = threading.Lock()     # one poll at a time (thread and notebook)
        self._np_lock = threading.Lock()       # the episode tracker
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._recorder_lock: Any = None
        self.last_error: BaseException | None = None
        self.last_sync: datetime | None = None
        self.next_sync: datetime | None = None
        self.syncs = 0
        self.missed_warnings = 0

    # --- plumbing ------------------------------------------------------------------------

    @property
    def client(self) -> HistoryClient:
        """The Web API client (a :class:`spotkit.Spotify` from the environment by default)."""
        with self._client_lock:
            if self._client is None:
                from ..client import Spotify

                self._client = Spotify()
            return self._client

    def __repr__(self) -> str:
        return f"HistoryLogger({str(self.path)!r}, {self.status})"

    def __len__(self) -> int:
        return self.store.count()

    def __enter__(self) -> HistoryLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the background thread (if any) and close the database."""
        self.stop()
        self.store.close()

    # --- polling -------------------------------------------------------------------------

    def sync(self) -> list[Record]:
        """One catch-up poll of recently-played from the stored cursor; returns the new plays.

        Raises the client's errors (:class:`~spotkit.errors.RateLimited`, ...) and
        :class:`HistoryError`; the background thread catches them, a direct call does not.
        """
        with self._sync_lock:
            new = self._sync_pages()
        self.last_sync = datetime.now(timezone.utc)
        self.syncs += 1
        return new

    def _sync_pages(self) -> list[Record]:
        after = self.store.cursor()
        new: list[Record] = []
        for _ in range(_MAX_PAGES):
            page = self.client.recently_played_page(after=after, limit=PAGE_LIMIT)
            rows = [r for r in map(_row, page.records) if r is not None]
            newest = max((r["played_at"] for r in rows), default=None)
            moved = newest is not None and (after is None or newest > after)
            new.extend(_record(r) for r in self.store.add_plays(rows, cursor=newest if moved else None))
            if page.raw_count < PAGE_LIMIT or after is None or not moved:
                if page.raw_count >= PAGE_LIMIT and after is not None:
                    self._warn_missed(after)
                break
            # a full page after the cursor: older plays may be gone; read on from its newest
            self._warn_missed(after)
            after = newest
        new.sort(key=lambda r: r["played_at"])
        return new

    def _warn_missed(self, after: int) -> None:
        self.missed_warnings += 1
        log.warning("history: %d or more plays since %s (the last one recorded): Spotify keeps only "
                    "the last %d, so some may be missing. Poll more often (interval is %g s).",
                    PAGE_LIMIT, from_ms(after).isoformat(timespec="seconds"), PAGE_LIMIT,
                    self.interval)

    def record_now_playing(self, record: Mapping[str, Any] | None) -> Record | None:
        """Feed one now-playing record (a NowPlayingWidget passes each one it fetches).

        When the item changes and the previous one was an episode (anything but a track)
        heard for long enough, it is stored with source ``now_playing`` and returned.
        """
        with self._np_lock:
            row = self._tracker.observe(record)
        if row is None:
            return None
        duration = row.get("duration_ms") or 0
        near = min(_NEAR_MS, duration // 2) if duration > 0 else _NEAR_MS
        if not self.store.add_unless_near(row, near):
            return None
        return _record(row)

    def _poll_now_playing(self) -> float:
        """Poll currently-playing once; returns seconds until the next poll should happen."""
        record = self.client.now_playing()
        self.record_now_playing(record)
        low, high = self.now_playing_interval, self.now_playing_interval * 10
        if record is None or not record.get("is_playing"):
            return high
        duration, progress = record.get("duration_ms"), record.get("progress_ms")
        if isinstance(duration, int) and isinstance(progress, int):
            return min(max((duration - progress) / 1000 + 1.0, low), high)
        return low

    # --- the background thread -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        """One line: stopped, running (next poll) or backing off after an error."""
        if not self.running:
            state = "stopped"
        elif self.last_error is not None:
            state = f"retrying after {type(self.last_error).__name__}: {self.last_error}"
        else:
            state = "running"
        if self.next_sync is not None and self.running:
            wait = max(0.0, (self.next_sync - datetime.now(timezone.utc)).total_seconds())
            state += f", next poll in {wait:.0f} s"
        return state

    def start(self, *, sync_now: bool = True) -> HistoryLogger:
        """Poll in a daemon thread (first poll at once unless `sync_now` is false); returns self.

        Never blocks and never raises into the caller once running: errors go to `last_error`,
        `status` and `on_error`, and the next poll backs off (Retry-After honoured). Raises
        :class:`HistoryError` if another recorder already runs on this database.
        """
        if self.running:
            return self
        self._acquire_recorder_lock()
        self._stop.clear()
        self.last_error = None
        self._thread = threading.Thread(target=self._run, args=(sync_now,), daemon=True,
                                        name=f"spotkit-history:{self.path.name}")
        _runtime.stop_at_exit(self, timeout=2.0)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread: waits up to `timeout` s for a poll in flight to commit
        (a poll cut short commits nothing and is simply read again by the next one)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        _runtime.forget_at_exit(self)
        self._release_recorder_lock()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread stops (or `timeout`); True if it has stopped."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _acquire_recorder_lock(self) -> None:
        from filelock import FileLock, Timeout

        lock = FileLock(f"{self.path}.recorder.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise HistoryError(f"Another recorder is already running on {self.path} (a `spotkit "
                               "history record`, or a started HistoryLogger in some notebook). "
                               "Stop it first (.stop() or Ctrl-C); plays are never lost meanwhile "
                               "as long as one recorder runs.") from None
        except OSError as exc:
            raise HistoryError(f"Cannot create the lock file {lock.lock_file}: "
                               f"{exc.strerror or exc}.") from None
        self._recorder_lock = lock

    def _release_recorder_lock(self) -> None:
        lock, self._recorder_lock = self._recorder_lock, None
        if lock is not None:
            lock.release()

    def _run(self, sync_now: bool) -> None:
        next_sync = time.monotonic() + (0.0 if sync_now else self.interval)
        next_np = time.monotonic() if self.watch_now_playing else float("inf")
        failures = {"sync": 0, "now_playing": 0}
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_sync:
                next_sync = now + self._attempt("sync", failures, self._background_sync)
            if now >= next_np:
                next_np = now + self._attempt("now_playing", failures, self._poll_now_playing)
            self.next_sync = datetime.fromtimestamp(
                time.time() + max(0.0, next_sync - time.monotonic()), timezone.utc)
            self._stop.wait(max(0.0, min(next_sync, next_np) - time.monotonic()))

    def _background_sync(self) -> float:
        new = self.sync()
        if self.on_sync is not None:
            try:
                self.on_sync(new)
            except Exception:  # the poll itself succeeded: no backoff for a broken callback
                log.exception("history: on_sync callback failed")
        return self.interval

    def _attempt(self, what: str, failures: dict[str, int], job: Callable[[], float]) -> float:
        """Run one job; on failure, record it and return the backoff delay instead."""
        try:
            delay = job()
        except Exception as exc:  # the thread must survive anything; errors are reported
            failures[what] += 1
            delay = self._backoff(exc, failures[what])
            self.last_error = exc
            if isinstance(exc, SpotkitError):
                log.warning("history: %s failed (%s); retrying in %.0f s", what, exc, delay)
            else:
                log.exception("history: %s failed unexpectedly; retrying in %.0f s", what, delay)
            if self.on_error is not None:
                try:
                    self.on_error(exc, delay)
                except Exception:
                    log.exception("history: on_error callback failed")
            return delay
        failures[what] = 0
        if what == "sync":
            self.last_error = None
        return delay

    def _backoff(self, exc: BaseException, failures: int) -> float:
        """Exponential backoff with jitter, never shorter than a 429's Retry-After."""
        base = min(30.0, self.interval)
        cap = max(self.interval, 60.0)
        delay = min(cap, base * 2.0 ** (failures - 1)) * random.uniform(0.5, 1.0)  # noqa: S311
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = max(delay, float(exc.retry_after))
        return delay

    # --- reading and files ---------------------------------------------------------------

    def to_frame(self, since: Moment = None, until: Moment = None, *, extended: bool = False,
                 columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored plays, oldest first, `since` <= played_at < `until`.

        Args:
            since, until: datetimes (naive is UTC), dates or ISO strings; the range is read
                from the database's index, so a month of a lifetime takes milliseconds.
            extended: add the data export's extras (ms_played, skipped, reason_start,
                reason_end, shuffle, offline, incognito_mode, platform, conn_country).
            columns: only these columns (any of the above and the history columns), in this
                order; `extended` is then ignored.

        Returns:
            The history columns (``played_at`` is ``datetime64[ns, UTC]``, ``duration_ms`` and
            ``ms_played`` ``Int64``, the four flags ``boolean``, every text column a
            ``category``); see :data:`spotkit.history.frame.FRAME_DTYPES`.

        Raises:
            ValueError: an unknown column or an unreadable bound.
        """
        names = check_columns(columns) if columns is not None else columns_of(extended)
        data = self.store.frame_data(names, since=time_ms(since, "since"),
                                     until=time_ms(until, "until"))
        return plays_frame(data, names)

    def enrich(self, what: str | Iterable[str] = ("tracks", "albums", "artists"),
               **options: Any) -> Any:
        """:func:`spotkit.enrich` over :meth:`to_frame`: the history with release dates, album
        ids, explicit flags, ISRCs, artist ids and genres, the most-played tracks fetched first.

        Options are :func:`spotkit.enrich`'s (``limit``, ``background``, ``cache``, ...); the
        logger's client is used unless ``client`` is given.
        """
        from ..metadata import enrich

        if "client" not in options and hasattr(self._client, "catalogue_item"):
            options["client"] = self._client
        return enrich(self.to_frame(), what, **options)

    def export(self, path: str | os.PathLike[str], *, since: Moment = None, until: Moment = None,
               extended: bool = True, progress: bool | None = None) -> Path:
        """Write the history to CSV or Parquet (by extension; Parquet needs ``spotkit[parquet]``).

        `extended` (default) keeps the export-only columns. Read it back with
        :func:`spotkit.history.read_history`. Returns the path written.
        """
        return write_history(self.to_frame(since, until, extended=extended), path,
                             progress=progress)

    def import_export(self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                      progress: bool | None = None) -> ImportResult:
        """Import Spotify's data export: JSON files, their folder, or the zip as downloaded.

        Both the basic (StreamingHistory*.json) and the extended (Streaming_History_Audio_*.json)
        formats. Files are read one at a time and each is stored in one transaction (all of it
        or none of it), so memory stays small and a recorder writing meanwhile waits at most
        one file's insert; importing again adds only what is missing. A file whose bytes were
        imported before (its SHA-256 is stored with its plays, in the same transaction) is
        counted from that record without being read record by record.

        Raises:
            HistoryError: a path is missing, a file is unreadable, not JSON or not a streaming
                history, or holds a date a DataFrame cannot hold. The message names the file;
                files before it are imported, nothing of it is.
        """
        files = find_export_files(paths)
        sizes = [file.size() for file in files]
        enabled = progress if progress is not None else (None if sum(sizes) >= 4_000_000 else False)
        bar = progress_bar(sum(sizes), "Importing", enabled, unit="B")
        numbering = Numbering()
        items: Cache = {}
        details: Cache = {}
        unnumbered: list[ExportFile] = []   # skipped files later files' numbering must follow
        this_import: set[str] = set()
        records = added = skipped = 0
        try:
            for done, (file, size) in enumerate(zip(files, sizes, strict=True)):
                try:
                    with _no_gc():   # millions of new objects, no cycles: collections only cost
                        raw = file.read_bytes()
                        digest = hashlib.sha256(raw).hexdigest()
                        known = self.store.imported_file(digest)
                        if known is not None and digest not in this_import:
                            # these very bytes are stored already: nothing of them can be missing
                            records += known.records
                            skipped += known.unusable
                            unnumbered.append(file)
                            bar.update(size)
                            continue
                        for earlier in unnumbered:   # repeats across files as the first time
                            numbering.number(file_plays(load_export_file(earlier), earlier.name,
                                                        items, details)[0])
                        unnumbered.clear()
                        loaded = load_export_file(file, raw)
                        del raw
                        plays, unusable = file_plays(loaded, file.name, items, details)
                        records += len(loaded)
                        mark = ImportedFile(digest, len(loaded), unusable)
                        this_import.add(digest)   # a copy later in this import is read: repeats
                        del loaded
                        added += self.store.add_batch(numbering.number(plays), imported=mark)
                except HistoryError as exc:
                    if done:
                        raise HistoryError(f"{exc} ({done} file(s) before it were imported; "
                                           "importing again adds only what is missing.)") from None
                    raise
                skipped += unusable
                bar.update(size)
        finally:
            bar.close()
        return ImportResult(files=len(files), records=records, added=added,
                            duplicates=records - skipped - added, skipped=skipped)


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: an export file is a million dicts that each
    collection would walk again, half the time of an import."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
