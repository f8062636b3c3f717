"""The library cache: asking again costs one call when nothing changed.

How each kind is refreshed (``refresh=True``, the default):

- Saved tracks, albums, shows, episodes come newest first, so a refresh reads pages until it meets
  an item it holds (same URI, same ``added_at``), then checks Spotify's ``total``: held + new must
  equal it. A mismatch means something was removed, and the read goes on to the end (a full read,
  reusing the pages already fetched). Nothing new costs one call; k new ones ceil((k+1)/50).
- Playlists: the list is read whole (one call per 50 playlists); a playlist's items are read again
  only when its ``snapshot_id`` changed. The snapshot is taken from the playlist record passed, or
  the list this cache read in the last five minutes, else asked for (one call). A playlist Spotify
  refused (another user's, see :class:`~spotkit.errors.PlaylistNotReadable`) is remembered with
  its snapshot too, and refused again without a call until it changes.
- Top items and followed artists are read again, and kept with the time they were read.

``refresh=False`` reads the cache only (no call; never read gives zero records), ``refresh="full"``
reads everything again. Every read returns :class:`~spotkit.records.Records` whose ``read_at``
says when Spotify was last asked.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Literal, Protocol

from ..endpoints.library import SavedKind, TopKind, time_ranges
from ..endpoints.paging import Page
from ..endpoints.playlists import PlaylistRef, not_readable, playlist_id
from ..errors import PlaylistNotReadable
from ..records import Record, Records, saved_record
from .store import LibraryStore

__all__ = ["LISTING_FRESH", "LibraryCache", "LibraryClient", "Refresh", "check_refresh"]

Refresh = bool | Literal["full"]

#: For how many seconds the playlist list this cache read vouches for a playlist's snapshot.
LISTING_FRESH = 300.0

# the snapshot a refused playlist is remembered at, so an unchanged one costs no call either
_REFUSED = "refused:"

_URI_KEY = {"tracks": "item_uri", "albums": "album_uri", "shows": "show_uri",
            "episodes": "episode_uri"}


class LibraryClient(Protocol):
    """What the cache needs of a client (:class:`spotkit.Spotify` has all of it)."""

    def library_user(self) -> str: ...

    def iter_saved_pages(self, kind: SavedKind, *,
                         progress: bool | None = None) -> Generator[Page, None, None]: ...

    def read_top(self, kind: TopKind, time_range: str = "medium_term", *,
                 progress: bool | None = None) -> Records: ...

    def read_followed_artists(self, *, progress: bool | None = None) -> Records: ...

    def read_playlists(self, *, progress: bool | None = None) -> Records: ...

    def read_playlist_items(self, playlist: PlaylistRef, *,
                            progress: bool | None = None) -> Records: ...

    def playlist_snapshot(self, playlist: PlaylistRef) -> str | None: ...


def check_refresh(refresh: object) -> Refresh:
    """`refresh` if it is True, False or "full", else a ValueError saying so."""
    if refresh is True or refresh is False or refresh == "full":
        return refresh
    raise ValueError(f"refresh must be True, False or 'full', not {refresh!r}")


def _saved_key(record: Record, kind: str) -> str:
    added = record.get("added_at")
    return f"{record.get(_URI_KEY[kind])}|{added.isoformat() if isinstance(added, datetime) else ''}"


class LibraryCache:
    """Reads through a :class:`~.store.LibraryStore` (default: ``library.sqlite3`` in spotkit's
    data folder), keyed by the client's user."""

    def __init__(self, store: LibraryStore | str | os.PathLike[str] | None = None) -> None:
        self._owns = not isinstance(store, LibraryStore)
        self.store = store if isinstance(store, LibraryStore) else LibraryStore(store)
        self._lock = threading.Lock()
        # user -> (monotonic time of the list read, playlist id -> snapshot id)
        self._listing: dict[str, tuple[float, dict[str, str | None]]] = {}

    def __repr__(self) -> str:
        return f"LibraryCache({str(self.store.path)!r})"

    def close(self) -> None:
        """Close the store if this cache opened it."""
        if self._owns:
            self.store.close()

    def _cached(self, user: str, name: str, kind: str) -> Records:
        held = self.store.load(user, name)
        records = Records(kind, held.records if held else ())
        records.read_at = held.read_at if held else None
        return records

    # --- saved items ---------------------------------------------------------------------

    def saved(self, client: LibraryClient, kind: SavedKind, *, refresh: Refresh = True,
              progress: bool | None = None) -> Records:
        """Saved items of `kind`, refreshed incrementally (see the module docstring)."""
        refresh = check_refresh(refresh)
        user, name = client.library_user(), f"saved_{kind}"
        if refresh is False:
            return self._cached(user, name, name)
        held = self.store.load(user, name) if refresh is True else None
        held_keys = set(held.keys) if held else set()
        fresh: list[Record] = []
        read: list[Page] = []
        met = False
        pages = client.iter_saved_pages(kind, progress=progress)
        try:
            for page in pages:
                read.append(page)
                for entry in page.items:
                    record = saved_record(entry, kind[:-1])
                    if _saved_key(record, kind) in held_keys:
                        met = True
                        break
                    fresh.append(record)
                if met:
                    break
            total = read[-1].total if read else None
            if held is not None and met and total == len(held.records) + len(fresh):
                merged = fresh + held.records
                read_at = (self.store.save(user, name, merged,
                                           [_saved_key(r, kind) for r in merged], total=total)
                           if fresh else self.store.touch(user, name))
                return self._records(name, merged, read_at)
            if met:  # something was removed: a full read, reusing the pages already fetched
                read.extend(pages)
                total = read[-1].total
                fresh = [saved_record(entry, kind[:-1]) for page in read for entry in page.items]
        finally:
            pages.close()
        read_at = self.store.save(user, name, fresh, [_saved_key(r, kind) for r in fresh],
                                  total=total)
        return self._records(name, fresh, read_at)

    @staticmethod
    def _records(kind: str, records: list[Record], read_at: datetime | None) -> Records:
        result = Records(kind, records)
        result.read_at = read_at
        return result

    # --- top items and followed artists --------------------------------------------------

    def top(self, client: LibraryClient, kind: TopKind, time_range: str = "medium_term", *,
            refresh: Refresh = True, progress: bool | None = None) -> Records:
        """Top `kind` over `time_range` (or ``all``), read again unless ``refresh=False``."""
        refresh = check_refresh(refresh)
        terms = time_ranges(time_range)
        user, kind_name = client.library_user(), f"top_{kind}"
        result = Records(kind_name)
        times: list[datetime | None] = []
        for term in terms:
            name = f"{kind_name}:{term}"
            if refresh is False:
                part = self._cached(user, name, kind_name)
            else:
                part = client.read_top(kind, term, progress=progress)
                part.read_at = self.store.save(user, name, part, total=len(part))
            result.extend(part)
            times.append(part.read_at)
        result.read_at = None if None in times else min(t for t in times if t is not None)
        return result

    def followed_artists(self, client: LibraryClient, *, refresh: Refresh = True,
                         progress: bool | None = None) -> Records:
        """Followed artists, read again unless ``refresh=False``."""
        refresh = check_refresh(refresh)
        user, name = client.library_user(), "followed_artists"
        if refresh is False:
            return self._cached(user, name, name)
        records = client.read_followed_artists(progress=progress)
        records.read_at = self.store.save(user, name, records, total=len(records))
        return records

    # --- playlists -----------------------------------------------------------------------

    def playlists(self, client: LibraryClient, *, refresh: Refresh = True,
                  progress: bool | None = None) -> Records:
        """The user's playlists, read again unless ``refresh=False`` (one call per 50)."""
        refresh = check_refresh(refresh)
        user = client.library_user()
        if refresh is False:
            return self._cached(user, "playlists", "playlists")
        records = client.read_playlists(progress=progress)
        records.read_at = self.store.save(user, "playlists", records,
                                          [r["playlist_id"] for r in records], total=len(records))
        with self._lock:
            self._listing[user] = (time.monotonic(),
                                   {r["playlist_id"]: r["snapshot_id"] for r in records})
        return records

    def _known_snapshot(self, user: str, playlist: PlaylistRef, pid: str) -> str | None:
        """The snapshot of the record passed, or of a list read here in the last few minutes."""
        if isinstance(playlist, Mapping):
            snapshot = playlist.get("snapshot_id")
            if isinstance(snapshot, str) and snapshot:
                return snapshot
        with self._lock:
            listed = self._listing.get(user)
        if listed is not None and time.monotonic() - listed[0] <= LISTING_FRESH:
            return listed[1].get(pid)
        return None

    def playlist_items(self, client: LibraryClient, playlist: PlaylistRef, *,
                       refresh: Refresh = True, progress: bool | None = None) -> Records:
        """A playlist's items, read again only when its snapshot changed (or ``"full"``)."""
        refresh = check_refresh(refresh)
        pid = playlist_id(playlist)
        user, name = client.library_user(), f"playlist_items:{pid}"
        head = self.store.head(user, name)
        if refresh is False:
            if head is not None and (head[1] or "").startswith(_REFUSED):
                raise not_readable(pid)
            return self._cached(user, name, "playlist_items")
        snapshot = self._known_snapshot(user, playlist, pid)
        if refresh is True:
            if snapshot is None:
                snapshot = client.playlist_snapshot(pid)
            if snapshot is not None and head is not None:
                if head[1] == snapshot:
                    return self._cached(user, name, "playlist_items")
                if head[1] == _REFUSED + snapshot:
                    raise not_readable(pid)  # refused at this very snapshot: asking again won't do
        try:
            records = client.read_playlist_items(pid, progress=progress)
        except PlaylistNotReadable:
            if snapshot is not None:
                self.store.save(user, name, [], snapshot_id=_REFUSED + snapshot)
            raise
        records.read_at = self.store.save(user, name, records, total=len(records),
                                          snapshot_id=snapshot)
        return records
