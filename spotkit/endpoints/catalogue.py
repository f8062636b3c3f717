"""The catalogue, one item a call: ``GET /tracks/{id}``, ``/albums/{id}``, ``/artists/{id}``.

Since February 2026 the several-items endpoints (``/tracks?ids=``) are gone for development-mode
apps; these three remain. Each returns the object as Spotify sends it (read it defensively: 2026
dropped ``popularity``, ``followers`` and ``available_markets``). For many items at once, with a
cache and pacing, use :func:`spotkit.enrich`. Items are read by :mod:`spotkit.ids`.
"""

from __future__ import annotations

from typing import Any

from ..errors import MalformedResponse
from ..ids import item_id
from ._base import Endpoint, EndpointGroup

__all__ = ["KINDS", "CatalogueEndpoints"]

_TRACK = Endpoint("GET", "/tracks/{id}")
_ALBUM = Endpoint("GET", "/albums/{id}")
_ARTIST = Endpoint("GET", "/artists/{id}")
_BY_KIND = {"track": _TRACK, "album": _ALBUM, "artist": _ARTIST}
#: The kinds of catalogue item fetched one at a time.
KINDS: tuple[str, ...] = tuple(_BY_KIND)


class CatalogueEndpoints(EndpointGroup):
    """Single tracks, albums and artists."""

    def catalogue_item(self, kind: str, item: str) -> dict[str, Any]:
        """The `kind` ("track", "album" or "artist") object of `item` as Spotify sends it.

        Args:
            kind: "track", "album" or "artist".
            item: its id, URI or open.spotify.com link.

        Raises:
            ValueError: for an unknown kind or an unreadable item.
            NotFound: when Spotify knows no such item.
            MalformedResponse: when the body is not a JSON object.
        """
        endpoint = _BY_KIND.get(kind)
        if endpoint is None:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        body = self._call(endpoint, path=endpoint.format(id=item_id(item, kind)))
        if not isinstance(body, dict):
            raise MalformedResponse(f"Spotify sent no {kind} object for {endpoint.key}.")
        return body

    def track(self, track: str) -> dict[str, Any]:
        """``GET /tracks/{id}``: the TrackObject of a track id, URI or link."""
        return self.catalogue_item("track", track)

    def album(self, album: str) -> dict[str, Any]:
        """``GET /albums/{id}``: the AlbumObject of an album id, URI or link."""
        return self.catalogue_item("album", album)

    def artist(self, artist: str) -> dict[str, Any]:
        """``GET /artists/{id}``: the ArtistObject of an artist id, URI or link."""
        return self.catalogue_item("artist", artist)
