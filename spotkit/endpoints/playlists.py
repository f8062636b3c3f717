"""Playlists: the user's own, collaborative and followed ones, and the items of a playlist.

Since 2026 Spotify serves a playlist's items only to its owner and collaborators; any other
playlist answers 403, raised here as :class:`~spotkit.errors.PlaylistNotReadable`.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Forbidden, PlaylistNotReadable
from ..ids import is_id, item_id
from ..records import Records, playlist_item_record, playlist_record
from ._base import Endpoint, EndpointGroup
from .paging import Page

if TYPE_CHECKING:
    from ..library.cache import Refresh

__all__ = ["PlaylistEndpoints", "PlaylistRef", "not_readable", "playlist_id"]

PlaylistRef = str | Mapping[str, Any]

_MY_PLAYLISTS = Endpoint("GET", "/me/playlists", "playlist-read-private")
_PLAYLIST = Endpoint("GET", "/playlists/{playlist_id}", "playlist-read-private")
_ITEMS = Endpoint("GET", "/playlists/{playlist_id}/items", "playlist-read-private")


def playlist_id(playlist: PlaylistRef) -> str:
    """The id of a playlist given as anything :func:`spotkit.ids.parse` reads (an id, a URI, an
    open.spotify.com link) or as a playlist record (its ``playlist_id``).

    Raises:
        ValueError: for anything else, or a URI or link of another kind of item.
    """
    if isinstance(playlist, Mapping):
        value = playlist.get("playlist_id")
        if isinstance(value, str) and is_id(value):
            return value
        raise ValueError(f"this record has no playlist_id: {dict(playlist)!r:.120}")
    return item_id(playlist, "playlist")


def not_readable(pid: str, error: Forbidden | None = None) -> PlaylistNotReadable:
    """The error for playlist `pid`'s items: Spotify's 403 `error`, or (None) the same 403
    remembered by the library cache for an unchanged playlist."""
    return PlaylistNotReadable(
        403 if error is None else error.status,
        f"the items of playlist {pid} cannot be read: since 2026 Spotify gives a playlist's items "
        "only to its owner and collaborators. Copy it into a playlist of your own in the Spotify "
        "app (select all, Add to playlist > New playlist) and read that one",
        None if error is None else error.reason,
        method="GET", path=_ITEMS.format(playlist_id=pid) if error is None else error.path)


class PlaylistEndpoints(EndpointGroup):
    """``/me/playlists`` and ``/playlists/{id}/items``."""

    def read_playlists(self, *, progress: bool | None = None) -> Records:
        """Every playlist the user owns, collaborates on or follows, from Spotify (no cache)."""
        items = self._all_items(_MY_PLAYLISTS, progress=progress, what="playlists")
        return Records("playlists", [playlist_record(item) for item in items
                                     if isinstance(item, Mapping)])

    def iter_playlist_item_pages(self, playlist: PlaylistRef, *,
                                 progress: bool | None = None) -> Generator[Page, None, None]:
        """The raw pages of a playlist's items. Raises PlaylistNotReadable on a 403."""
        pid = playlist_id(playlist)
        try:
            yield from self._pages(_ITEMS, path=_ITEMS.format(playlist_id=pid), progress=progress,
                                   what=f"playlist {pid}")
        except Forbidden as error:
            if type(error) is not Forbidden:
                raise
            raise not_readable(pid, error) from error

    def read_playlist_items(self, playlist: PlaylistRef, *,
                            progress: bool | None = None) -> Records:
        """Every item of `playlist`, in order, from Spotify (no cache).

        Raises:
            PlaylistNotReadable: the user neither owns nor collaborates on the playlist.
            ValueError: `playlist` is not an id, URI, URL or playlist record.
        """
        pid = playlist_id(playlist)
        entries = [entry for page in self.iter_playlist_item_pages(pid, progress=progress)
                   for entry in page.items]
        return Records("playlist_items", [playlist_item_record(entry, pid, position)
                                          for position, entry in enumerate(entries)])

    def playlist_snapshot(self, playlist: PlaylistRef) -> str | None:
        """A playlist's current ``snapshot_id`` (``GET /playlists/{id}?fields=snapshot_id``)."""
        pid = playlist_id(playlist)
        body = self._call(_PLAYLIST, path=_PLAYLIST.format(playlist_id=pid),
                          params={"fields": "snapshot_id"})
        snapshot = body.get("snapshot_id") if isinstance(body, Mapping) else None
        return snapshot if isinstance(snapshot, str) and snapshot else None

    # --- through the library cache -------------------------------------------------------

    def playlists(self, *, refresh: Refresh = True, progress: bool | None = None) -> Records:
        """The playlists the user owns, collaborates on or follows (``GET /me/playlists``).

        Args:
            refresh: True or "full" asks Spotify (one call per 50 playlists), False reads the
                library cache only.
            progress: None shows a bar past a few pages, True always, False never.

        Returns:
            ``playlists`` records with ``owner_id``, ``collaborative``, ``snapshot_id``,
            ``items_total``... (see :mod:`spotkit.records.playlists`).
        """
        return self.library_cache.playlists(self._reader(), refresh=refresh, progress=progress)

    def playlist_items(self, playlist: PlaylistRef, *, refresh: Refresh = True,
                       progress: bool | None = None) -> Records:
        """The items of a playlist, in order (``GET /playlists/{id}/items``).

        Args:
            playlist: an id, a ``spotify:playlist:`` URI, an open.spotify.com URL or a playlist
                record (from :meth:`playlists`).
            refresh: True reads the items again only if the playlist's ``snapshot_id`` changed
                (no call when the record passed, or a :meth:`playlists` read in the last five
                minutes, vouches for it), False reads the library cache only, "full" reads again.
            progress: None shows a bar past a few pages, True always, False never.

        Returns:
            ``playlist_items`` records; local files and items no longer available are records
            with None ids.

        Raises:
            PlaylistNotReadable: the user neither owns nor collaborates on the playlist.
            ValueError: `playlist` is not an id, URI, URL or playlist record.
        """
        return self.library_cache.playlist_items(self._reader(), playlist, refresh=refresh,
                                                 progress=progress)
