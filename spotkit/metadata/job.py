"""`enrich()`: release dates, album ids, explicit flags, ISRCs, artist ids and genres for any frame
or records with `item_uri`, fetched one item a call, cached, paced, most-played first.

>>> frame = spotkit.enrich(history.to_frame())              # columns added, a new frame
>>> job = spotkit.enrich(frame, background=True)            # a notebook keeps working meanwhile
>>> job.progress                                            # done / total, calls, 429s, estimate
>>> frame = job.result()

How a run goes (one :class:`Enrichment`):

1. Plan: the distinct track URIs of the rows, most-played (most rows) first. Album and artist ids
   come from the rows' ``album_id`` / ``artist_ids`` when they have them (library records do),
   otherwise from the track objects, which are then fetched even if only albums or artists were
   asked for.
2. Everything already in the :class:`~spotkit.metadata.cache.MetadataCache` and younger than
   ``max_age`` is used as is: a run over cached items makes no call at all.
3. The rest is fetched in priority order, each track followed by its album and artists, so a
   partial run has the most-played rows complete. Each item is committed to the cache as it
   arrives; a :class:`~spotkit.metadata.pacing.Pacer` keeps the calls under Spotify's rolling
   window, and a 429 is waited out (not retried blindly) and teaches the pacer the budget.
4. The columns of :data:`~spotkit.records.metadata.ENRICH_COLUMNS` are added for the kinds asked
   for; whatever is unknown (not fetched yet, an episode, a local file, a field absent in 2026's
   development mode) is None.

A run stops early, keeping all it fetched, on `limit` fetches, on ``stop()``, when Spotify asks to
wait longer than `max_wait` seconds (:class:`~spotkit.errors.RateLimited` is raised with when to
come back), on a quota 429 or on a network failure that survived the HTTP layer's retries.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import NotFound, QuotaExceeded, RateLimited, SpotifyAPIError
from ..logs import logger as _root_logger
from ..records.metadata import (
    ENRICH_COLUMNS,
    ENRICH_DTYPES,
    album_fields,
    artist_ids,
    genres_of,
    track_fields,
)
from .cache import MetadataCache
from .pacing import Pacer

if TYPE_CHECKING:
    import os
    from datetime import timedelta

    from ..client import Spotify
    from ..history.progress import Progress

__all__ = ["WHAT", "CatalogueClient", "EnrichProgress", "Enrichment", "check_what", "columns_for",
           "run_in_foreground"]

log = _root_logger.getChild("enrich")

#: What `enrich` can add, and the default.
WHAT: tuple[str, ...] = ("tracks", "albums", "artists")
_KIND = {"tracks": "track", "albums": "album", "artists": "artist"}
_TRACK_PREFIX = "spotify:track:"
_PACING_KEY = "pacing.budget"


class CatalogueClient(Protocol):
    """What enrichment needs of a client: :class:`spotkit.Spotify` has it."""

    def catalogue_item(self, kind: str, item: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class EnrichProgress:
    """Where a run stands. `total` grows as tracks reveal albums and artists not yet cached."""

    state: str             # "planning", "running", "done", "stopped", "failed"
    done: int              # items fetched (or found unknown) by this run
    total: int             # items this run has to fetch, as far as known
    cached: int            # items the cache already had
    calls: int             # requests sent to Spotify (429s included)
    rate_limited: int      # 429s received
    waited: float          # seconds spent waiting for the rate limit
    elapsed: float         # seconds since the run started fetching
    eta: float | None      # seconds left at the pace so far (None before the first fetch)

    @property
    def left(self) -> int:
        return max(0, self.total - self.done)

    def __str__(self) -> str:
        eta = "" if self.eta is None else f", about {_duration(self.eta)} left"
        limited = f", {self.rate_limited} rate-limited" if self.rate_limited else ""
        return (f"{self.state}: {self.done} of {self.total} items fetched "
                f"({self.cached} cached{limited}){eta}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def columns_for(what: Sequence[str]) -> list[str]:
    """The columns enrichment adds for `what`, in order, each once."""
    out: list[str] = []
    for kind in what:
        out.extend(c for c in ENRICH_COLUMNS[kind] if c not in out)
    return out


def check_what(what: str | Iterable[str]) -> tuple[str, ...]:
    """`what` as a tuple of known kinds, or a ValueError naming the bad one."""
    kinds = (what,) if isinstance(what, str) else tuple(what)
    for kind in kinds:
        if kind not in WHAT:
            raise ValueError(f"what must name some of {', '.join(WHAT)}, not {kind!r}")
    if not kinds:
        raise ValueError(f"what must name at least one of {', '.join(WHAT)}")
    return tuple(dict.fromkeys(kinds))


def _track_id(uri: object) -> str | None:
    if isinstance(uri, str) and uri.startswith(_TRACK_PREFIX) and len(uri) == len(_TRACK_PREFIX) + 22:
        return uri[len(_TRACK_PREFIX):]
    return None


class _Rows:
    """The input, whatever its shape: a DataFrame, records (mappings) or bare URIs."""

    def __init__(self, data: Any) -> None:
        self.frame = data if hasattr(data, "columns") and hasattr(data, "iloc") else None
        if self.frame is not None:
            if "item_uri" not in self.frame.columns:
                raise ValueError("enrich needs an `item_uri` column (history, library and "
                                 "now-playing frames have one)")
            self.records: list[Mapping[str, Any]] = []
            self.uris: list[Any] = self.frame["item_uri"].tolist()
            self._column_values = {
                col: self.frame[col].tolist() for col in ("album_id", "artist_ids")
                if col in self.frame.columns}
            return
        if isinstance(data, (str, bytes, Mapping)) or not isinstance(
                data, Iterable):
            raise TypeError("enrich takes a DataFrame with `item_uri`, a list of records with "
                            f"`item_uri` or a list of URIs, not {type(data).__name__}")
        self.records = [{"item_uri": r} if isinstance(r, str) else r for r in data]
        for r in self.records:
            if not isinstance(r, Mapping):
                raise TypeError(f"enrich takes records (dicts) or URIs, not {type(r).__name__}")
        self.uris = [r.get("item_uri") for r in self.records]
        self._column_values = {col: [r.get(col) for r in self.records]
                               for col in ("album_id", "artist_ids")}

    def known_ids(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """album id and artist ids per track id, from the rows' own columns where they have them."""
        albums: dict[str, str] = {}
        artists: dict[str, list[str]] = {}
        album_col = self._column_values.get("album_id")
        artist_col = self._column_values.get("artist_ids")
        for i, uri in enumerate(self.uris):
            tid = _track_id(uri)
            if tid is None:
                continue
            if album_col is not None and isinstance(album_col[i], str) and album_col[i]:
                albums.setdefault(tid, album_col[i])
            if artist_col is not None and (ids := artist_ids(artist_col[i])):
                artists.setdefault(tid, ids)
        return albums, artists

    def most_played(self) -> list[str]:
        """Distinct track ids, most rows first (ties: first seen first)."""
        counts = Counter(t for uri in self.uris if (t := _track_id(uri)) is not None)
        return [tid for tid, _ in counts.most_common()]


class Enrichment:
    """One enrichment run over `data`; :func:`spotkit.enrich` makes and runs it.

    Args:
        data: a DataFrame with ``item_uri``, records with it, or URIs.
        what: any of "tracks", "albums", "artists".
        client: where items are fetched from (default: spotkit's default client).
        cache: a :class:`MetadataCache`, or its path (default: the data folder's).
        max_age: used when the cache is opened here (default 30 days).
        limit: fetch at most this many items in this run (None: all).
        pacer: the rate budget (default: the one learned before, kept in the cache).
        max_wait: the longest Retry-After waited out, in seconds; a longer one ends the run.
    """

    def __init__(self, data: Any, what: str | Iterable[str] = WHAT, *,
                 client: CatalogueClient | None = None,
                 cache: MetadataCache | str | os.PathLike[str] | None = None,
                 max_age: timedelta | float | None = None, limit: int | None = None,
                 pacer: Pacer | None = None, max_wait: float = 120.0) -> None:
        self.what = check_what(what)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise ValueError(f"limit must be a whole number >= 0 or None, not {limit!r}")
        self.rows = _Rows(data)
        self.limit = limit
        self.max_wait = max_wait
        self._client = client
        self._cache_arg = cache
        self._max_age = max_age
        self._cache: MetadataCache | None = cache if isinstance(cache, MetadataCache) else None
        self._owns_cache = self._cache is None
        self.pacer = pacer
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.state = "planning"
        self.done = 0
        self.total = 0
        self.cached = 0
        self._started: float | None = None
        self.error: BaseException | None = None
        # id -> fields, per kind; None where Spotify knows no such item
        self._tracks: dict[str, dict[str, Any] | None] = {}
        self._track_artists: dict[str, list[str]] = {}
        self._albums: dict[str, dict[str, Any] | None] = {}
        self._artists: dict[str, list[Any] | None] = {}   # genres as Spotify lists them

    # --- state seen from other threads ---------------------------------------------------

    @property
    def progress(self) -> EnrichProgress:
        with self._lock:
            elapsed = 0.0 if self._started is None else time.monotonic() - self._started
            pacer = self.pacer
            eta = None
            if self.done and elapsed > 0:
                eta = (self.total - self.done) * elapsed / self.done
            return EnrichProgress(self.state, self.done, self.total, self.cached,
                                  pacer.sent if pacer else 0,
                                  pacer.rate_limited if pacer else 0,
                                  pacer.waited if pacer else 0.0, elapsed, eta)

    def stop(self) -> None:
        """Ask the run to end after the call in flight (everything fetched is kept)."""
        self._stop.set()

    # --- the run -------------------------------------------------------------------------

    def run(self, bar: Progress | None = None) -> None:
        """Fetch what is missing, in priority order, until done, stopped, limited or failed.

        Raises:
            RateLimited: Spotify asked to wait longer than `max_wait` (or a quota 429).
            SpotkitError: a failure that survived the HTTP layer's retries, or of the cache.
        """
        try:
            self._open()
            self._plan()
            with self._lock:
                self.state = "running"
                self._started = time.monotonic()
            if bar is not None:
                bar.total = self.total  # type: ignore[attr-defined]
                bar.refresh()  # type: ignore[attr-defined]
            for kind, item_id in self._tasks():
                if self._stop.is_set() or (self.limit is not None and self.done >= self.limit):
                    break
                if not self._fetch(kind, item_id):
                    break
                if bar is not None:
                    bar.total = self.total  # type: ignore[attr-defined]
                    bar.update(1)
            with self._lock:
                self.state = "stopped" if self._stop.is_set() or self._left() else "done"
        except BaseException as exc:
            with self._lock:
                self.state = "failed"
                self.error = exc
            raise
        finally:
            self._remember_budget()
            if self._owns_cache and self._cache is not None:
                self._cache.close()

    def _left(self) -> bool:
        return self.done < self.total

    def _open(self) -> None:
        if self._cache is None:
            from datetime import timedelta

            from .cache import DEFAULT_MAX_AGE

            age = self._max_age if self._max_age is not None else DEFAULT_MAX_AGE
            path = None if isinstance(self._cache_arg, MetadataCache) else self._cache_arg
            self._cache = MetadataCache(path, max_age=age if isinstance(age, timedelta)
                                        else float(age))
        if self.pacer is None:
            self.pacer = Pacer(self._learned_budget())
        if self._client is None:
            from ..client import default_client

            self._client = default_client()
        self._client = _without_waiting(self._client)

    def _learned_budget(self) -> int | None:
        assert self._cache is not None
        value = self._cache.get_meta(_PACING_KEY)
        try:
            budget, learned_at = (float(v) for v in (value or "").split(","))
        except ValueError:
            return None
        # a budget learned in the last day is a good start; an older one may be too tight
        return int(budget) if budget >= 1 and time.time() - learned_at < 86_400 else None

    def _remember_budget(self) -> None:
        pacer, cache = self.pacer, self._cache
        if pacer is None or cache is None or pacer.budget is None or not pacer.rate_limited:
            return
        if pacer.window != 30.0:
            return  # a compressed window (a benchmark) teaches nothing about Spotify's
        try:
            cache.set_meta(_PACING_KEY, f"{pacer.budget},{time.time():.0f}")
        except Exception as exc:  # the budget is a hint: losing it costs one 429 next time
            log.debug("could not keep the learned budget: %s", type(exc).__name__)

    def _plan(self) -> None:
        cache = self._cache
        assert cache is not None
        order = self.rows.most_played()
        albums_of, artists_of = self.rows.known_ids()
        self._order = order
        self._album_of = albums_of
        self._track_artists.update(artists_of)
        self._need_tracks = "tracks" in self.what or any(
            (k == "albums" and t not in albums_of) or (k == "artists" and t not in artists_of)
            for t in order for k in self.what)
        if self._need_tracks:
            for tid, body in cache.lookup("track", order).items():
                self._keep("track", tid, body)
        self._cache_albums_and_artists(order)
        missing_tracks = [t for t in order if t not in self._tracks] if self._need_tracks else []
        with self._lock:
            self.cached = len(self._tracks) + len(self._albums) + len(self._artists)
            self.total = len(missing_tracks) + self._missing_known()

    def _cache_albums_and_artists(self, tids: Iterable[str]) -> None:
        cache = self._cache
        assert cache is not None
        albums: list[str] = []
        artists: list[str] = []
        for tid in tids:
            if "albums" in self.what and (a := self._album_of.get(tid)):
                albums.append(a)
            if "artists" in self.what:
                artists.extend(self._track_artists.get(tid, ()))
        for aid, body in cache.lookup("album", albums).items():
            self._keep("album", aid, body)
        for aid, body in cache.lookup("artist", artists).items():
            self._keep("artist", aid, body)
        self._known_albums = dict.fromkeys(albums)
        self._known_artists = dict.fromkeys(artists)

    def _missing_known(self) -> int:
        return (sum(1 for a in self._known_albums if a not in self._albums)
                + sum(1 for a in self._known_artists if a not in self._artists))

    def _keep(self, kind: str, item_id: str, body: Mapping[str, Any] | None) -> None:
        if kind == "track":
            self._tracks[item_id] = None if body is None else track_fields(body)
            if body is not None:
                fields = self._tracks[item_id]
                assert fields is not None
                if fields["album_id"]:
                    self._album_of.setdefault(item_id, fields["album_id"])
                self._track_artists.setdefault(item_id, artist_ids(fields["artist_ids"]))
        elif kind == "album":
            self._albums[item_id] = None if body is None else album_fields(body)
        else:
            genres = None if body is None else body.get("genres")
            self._artists[item_id] = genres if isinstance(genres, list) else None

    def _tasks(self) -> Iterator[tuple[str, str]]:
        """(kind, id) to fetch, in priority order; what is fetched meanwhile is skipped."""
        for tid in self._order:
            if self._need_tracks and tid not in self._tracks:
                yield "track", tid
                self._discovered(tid)
            if "albums" in self.what:
                aid = self._album_of.get(tid)
                if aid and aid not in self._albums:
                    yield "album", aid
            if "artists" in self.what:
                for aid in self._track_artists.get(tid, ()):
                    if aid not in self._artists:
                        yield "artist", aid

    def _discovered(self, tid: str) -> None:
        """Count the album and artists a just-fetched track revealed into the total."""
        new = 0
        if "albums" in self.what and (a := self._album_of.get(tid)) and a not in self._albums \
                and a not in self._known_albums:
            self._known_albums[a] = None
            new += 1
        if "artists" in self.what:
            for a in self._track_artists.get(tid, ()):
                if a not in self._artists and a not in self._known_artists:
                    self._known_artists[a] = None
                    new += 1
        if new:
            with self._lock:
                self.total += new

    def _fetch(self, kind: str, item_id: str) -> bool:
        """Fetch one item (waiting out 429s) and commit it; False when the run must end."""
        pacer, client, cache = self.pacer, self._client, self._cache
        assert pacer is not None
        assert client is not None
        assert cache is not None
        shared = getattr(client, "backoff", None)
        while True:
            if shared is not None and (left := shared.remaining()) > 0:
                # another spotkit process of this app was told to wait: so are we
                if left > self.max_wait:
                    raise RateLimited(429, self._come_back(left), retry_after=left)
                pacer.block_until(time.monotonic() + left)
            if not pacer.acquire(self._stop.wait):
                return False
            try:
                body: dict[str, Any] | None = client.catalogue_item(kind, item_id)
            except QuotaExceeded:
                raise
            except RateLimited as exc:
                if exc.method is None:   # not Spotify's 429: the app's shared block, read late
                    pacer.block_until(time.monotonic() + (exc.retry_after or 1.0))
                else:
                    pacer.on_rate_limited(exc.retry_after)
                if exc.retry_after is not None and exc.retry_after > self.max_wait:
                    raise RateLimited(exc.status, self._come_back(exc.retry_after), exc.reason,
                                      retry_after=exc.retry_after, method=exc.method,
                                      path=exc.path) from exc
                continue
            except NotFound:
                body = None
            except SpotifyAPIError as exc:
                if exc.status != 400:   # "invalid id": as unknown as a 404
                    raise
                body = None
            cache.put(kind, item_id, body)
            self._keep(kind, item_id, body)
            with self._lock:
                self.done += 1
            return True

    def _come_back(self, seconds: float) -> str:
        return (f"Spotify asked to wait {_duration(seconds)} before more calls. The "
                f"{self.done} items fetched so far are cached; run the enrichment again "
                "after that and it goes on where it stopped.")

    # --- the result ----------------------------------------------------------------------

    def values(self) -> dict[str, dict[str, Any]]:
        """The enrichment columns of each track id known so far."""
        columns = columns_for(self.what)
        out: dict[str, dict[str, Any]] = {}
        empty = dict.fromkeys(columns)
        for tid in self.rows.most_played():
            row = dict(empty)
            track = self._tracks.get(tid)
            album_id = self._album_of.get(tid)
            album = self._albums.get(album_id) if album_id else None
            if "albums" in self.what and album is not None:
                row.update((k, album[k]) for k in ENRICH_COLUMNS["albums"])
            if "tracks" in self.what and track is not None:
                row.update((k, track[k]) for k in ENRICH_COLUMNS["tracks"])
            if "artists" in self.what:
                ids = self._track_artists.get(tid, [])
                row["genres"] = genres_of([{"genres": self._artists[a]} if a in self._artists
                                           and self._artists[a] is not None else None
                                           for a in ids])
            out[tid] = row
        return out

    def result(self) -> Any:
        """The input with the enrichment columns added: a new DataFrame or new records."""
        values = self.values()
        columns = columns_for(self.what)
        ids = [_track_id(uri) for uri in self.rows.uris]
        if self.rows.frame is None:
            out = []
            for record, tid in zip(self.rows.records, ids, strict=True):
                got = values.get(tid) if tid is not None else None
                row = dict(record)
                for col in columns:
                    value = got[col] if got is not None else None
                    row[col] = value if value is not None or col not in record else record[col]
                out.append(row)
            return out
        import pandas as pd

        frame = self.rows.frame.copy()
        for col in columns:
            data = [values[t][col] if t is not None and t in values else None for t in ids]
            series = pd.Series(pd.array(data, dtype=ENRICH_DTYPES.get(col, "string")),
                               index=frame.index)
            if col in frame.columns:
                series = series.fillna(frame[col]) if len(frame) else series
            frame[col] = series
        return frame


def _without_waiting(client: CatalogueClient) -> CatalogueClient:
    """For a :class:`spotkit.Spotify`: the same login and connection, but a 429 is raised at once
    (the pacer decides how long to wait, and learns from it) instead of slept through."""
    from ..client import Spotify

    if not isinstance(client, Spotify):
        return client
    return _paced_view(client)


def _paced_view(client: Spotify) -> Spotify:
    from ..client import Spotify
    from ..http import RetryPolicy

    p = client.policy
    policy = RetryPolicy(retries=p.retries, max_retry_wait=0.0, backoff=p.backoff,
                         backoff_cap=p.backoff_cap, deadline=p.deadline)
    return Spotify(client.settings, auth=client.auth, session=client.session, policy=policy,
                   shared_backoff=client.backoff or False)


def run_in_foreground(job: Enrichment, progress: bool | None) -> Any:
    """Run `job` here with a progress bar; its result."""
    bar = _bar(progress)
    try:
        job.run(bar)
    finally:
        if bar is not None:
            bar.close()
    return job.result()


def _bar(progress: bool | None, *, notebook_only: bool = False) -> Progress | None:
    if progress is False:
        return None
    from tqdm.auto import tqdm

    if notebook_only:
        from tqdm.notebook import tqdm as notebook_tqdm

        if tqdm is not notebook_tqdm:
            return None  # a terminal bar would be written from the thread: none at all
    bar: Progress = tqdm(total=0, desc="Enriching", unit="item",
                         disable=None if progress is None else False, leave=False)
    return bar

