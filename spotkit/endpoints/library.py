"""The user's library: top tracks and artists, saved tracks, albums, shows and episodes, followed
artists. Every read returns all items, paged with the largest limit (see :mod:`.paging`)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from ..errors import Forbidden, UnavailableEndpoint
from ..records import Records, artist_record, saved_record, top_artist_record, top_record
from ._base import Endpoint, EndpointGroup
from .paging import Page

if TYPE_CHECKING:
    from ..library.cache import Refresh

__all__ = ["SAVED_KINDS", "TIME_RANGES", "LibraryEndpoints", "SavedKind", "TopKind", "time_ranges"]

TIME_RANGES: tuple[str, ...] = ("short_term", "medium_term", "long_term")
SavedKind = Literal["tracks", "albums", "shows", "episodes"]
TopKind = Literal["tracks", "artists"]
SAVED_KINDS: tuple[SavedKind, ...] = ("tracks", "albums", "shows", "episodes")

_TOP = {
    "tracks": Endpoint("GET", "/me/top/tracks", "user-top-read"),
    "artists": Endpoint("GET", "/me/top/artists", "user-top-read"),
}
_SAVED = {
    "tracks": Endpoint("GET", "/me/tracks", "user-library-read"),
    "albums": Endpoint("GET", "/me/albums", "user-library-read"),
    "shows": Endpoint("GET", "/me/shows", "user-library-read"),
    "episodes": Endpoint("GET", "/me/episodes", "user-library-read", "user-read-playback-position"),
}
_FOLLOWING = Endpoint("GET", "/me/following", "user-follow-read")


def time_ranges(time_range: str) -> tuple[str, ...]:
    """The ranges `time_range` stands for: ``short_term`` (or ``short``), ``medium_term``,
    ``long_term``, or ``all`` for the three. Raises ValueError for anything else."""
    if time_range == "all":
        return TIME_RANGES
    full = time_range if time_range.endswith("_term") else f"{time_range}_term"
    if full not in TIME_RANGES:
        raise ValueError(f"time_range must be short_term, medium_term, long_term or all, "
                         f"not {time_range!r}")
    return (full,)


@contextmanager
def refused_in_development(endpoint: Endpoint) -> Iterator[None]:
    """A plain 403 becomes :class:`UnavailableEndpoint`, saying what development mode does."""
    try:
        yield
    except Forbidden as error:
        if type(error) is not Forbidden:
            raise
        raise UnavailableEndpoint(
            error.status, f"{error.message}. Spotify no longer serves {endpoint.key} to apps in "
            "development mode. If every call is refused, add your account under User Management "
            "in the app's dashboard", error.reason, method=error.method, path=error.path) from error


class LibraryEndpoints(EndpointGroup):
    """Top items, saved items and followed artists."""

    def iter_saved_pages(self, kind: SavedKind, *,
                         progress: bool | None = None) -> Generator[Page, None, None]:
        """The raw pages of ``GET /me/{kind}``, newest first (the library cache stops early)."""
        endpoint = _SAVED[kind]
        with refused_in_development(endpoint):
            yield from self._pages(endpoint, progress=progress, what=f"saved {kind}")

    def read_saved(self, kind: SavedKind, *, progress: bool | None = None) -> Records:
        """Every saved item of `kind` from Spotify, newest first, as records (no cache)."""
        return Records(f"saved_{kind}", [saved_record(entry, kind[:-1])
                                         for page in self.iter_saved_pages(kind, progress=progress)
                                         for entry in page.items])

    def read_top(self, kind: TopKind, time_range: str = "medium_term", *,
                 progress: bool | None = None) -> Records:
        """The top `kind` over `time_range` (or ``all``) from Spotify, ranked from 1 (no cache)."""
        endpoint = _TOP[kind]
        build = top_record if kind == "tracks" else top_artist_record
        records = Records(f"top_{kind}")
        for term in time_ranges(time_range):
            with refused_in_development(endpoint):
                items = self._all_items(endpoint, params={"time_range": term}, progress=progress,
                                        what=f"top {kind} ({term})")
            records.extend(build(item, rank, term) for rank, item in enumerate(items, 1))
        return records

    def read_followed_artists(self, *, progress: bool | None = None) -> Records:
        """Every followed artist from Spotify (cursor paging; no cache)."""
        with refused_in_development(_FOLLOWING):
            items = self._all_items(_FOLLOWING, params={"type": "artist"}, wrapper="artists",
                                    progress=progress, what="followed artists")
        return Records("followed_artists", [artist_record(item) for item in items])

    # --- through the library cache -------------------------------------------------------

    def top_tracks(self, time_range: str = "medium_term", *, refresh: Refresh = True,
                   progress: bool | None = None) -> Records:
        """The user's top tracks (``GET /me/top/tracks``), ranked from 1.

        Args:
            time_range: ``short_term`` (about 4 weeks), ``medium_term`` (6 months),
                ``long_term`` (a year), or ``all`` for the three with a ``time_range`` column.
            refresh: True asks Spotify, False reads the library cache only, "full" as True.
            progress: None shows a bar past a few pages, True always, False never.

        Returns:
            ``top_tracks`` records (see :mod:`spotkit.records.library`).

        Raises:
            MissingScope: the login lacks ``user-top-read``.
        """
        return self.library_cache.top(self._reader(), "tracks", time_range, refresh=refresh,
                                      progress=progress)

    def top_artists(self, time_range: str = "medium_term", *, refresh: Refresh = True,
                    progress: bool | None = None) -> Records:
        """The user's top artists (``GET /me/top/artists``), ranked from 1; arguments as
        :meth:`top_tracks`. Returns ``top_artists`` records (see :mod:`spotkit.records.artists`)."""
        return self.library_cache.top(self._reader(), "artists", time_range, refresh=refresh,
                                      progress=progress)

    def saved_tracks(self, *, refresh: Refresh = True, progress: bool | None = None) -> Records:
        """Every saved track (``GET /me/tracks``), newest first, with ``added_at``.

        Args:
            refresh: True reads only what changed since the cached copy (one call when nothing
                did), False the cache only (no call), "full" everything again.
            progress: None shows a bar past a few pages, True always, False never.

        Returns:
            ``saved_tracks`` records (see :mod:`spotkit.records.library`).

        Raises:
            MissingScope: the login lacks ``user-library-read``.
            UnavailableEndpoint: Spotify refused the endpoint to this app (development mode).
        """
        return self.library_cache.saved(self._reader(), "tracks", refresh=refresh, progress=progress)

    def saved_albums(self, *, refresh: Refresh = True, progress: bool | None = None) -> Records:
        """Every saved album (``GET /me/albums``), newest first; arguments as :meth:`saved_tracks`."""
        return self.library_cache.saved(self._reader(), "albums", refresh=refresh, progress=progress)

    def saved_shows(self, *, refresh: Refresh = True, progress: bool | None = None) -> Records:
        """Every saved show (``GET /me/shows``), newest first; arguments as :meth:`saved_tracks`."""
        return self.library_cache.saved(self._reader(), "shows", refresh=refresh, progress=progress)

    def saved_episodes(self, *, refresh: Refresh = True, progress: bool | None = None) -> Records:
        """Every saved episode (``GET /me/episodes``), newest first; arguments as
        :meth:`saved_tracks`."""
        return self.library_cache.saved(self._reader(), "episodes", refresh=refresh, progress=progress)

    def followed_artists(self, *, refresh: Refresh = True,
                         progress: bool | None = None) -> Records:
        """Every followed artist (``GET /me/following?type=artist``, cursor paging).

        Args:
            refresh: True or "full" asks Spotify, False reads the library cache only.
            progress: None shows a bar past a few pages, True always, False never.

        Raises:
            MissingScope: the login lacks ``user-follow-read``.
            UnavailableEndpoint: Spotify refused the endpoint to this app (development mode).
        """
        return self.library_cache.followed_artists(self._reader(), refresh=refresh, progress=progress)
