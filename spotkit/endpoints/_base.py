"""What every group of endpoints shares: the `Endpoint` declaration and the one way to call it.

An endpoint is declared once, beside the method that calls it, with the scopes it needs::

    _ME = Endpoint("GET", "/me")
    _PLAYER = Endpoint("GET", "/me/player", "user-read-playback-state")

Its key (``"GET /me/player"``) is derived, never spelled twice, and every declared endpoint is in
:data:`ENDPOINTS`, from which the client's scope table is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from .paging import MAX_LIMIT, Page, iter_pages

if TYPE_CHECKING:
    from ..http import ApiTransport
    from ..library.cache import LibraryCache, LibraryClient

_cache_lock = threading.Lock()

__all__ = ["ENDPOINTS", "Endpoint", "EndpointGroup"]

#: Every declared endpoint by its key, e.g. ``"GET /me/player"``.
ENDPOINTS: dict[str, Endpoint] = {}


class Endpoint:
    """One Web API endpoint: its method, path template (``/playlists/{playlist_id}/items``) and
    the scopes a token needs for it."""

    __slots__ = ("key", "method", "path", "scopes")

    def __init__(self, method: str, path: str, *scopes: str) -> None:
        self.method = method
        self.path = path
        self.scopes: tuple[str, ...] = scopes
        self.key = f"{method} {path}"
        ENDPOINTS[self.key] = self

    def __repr__(self) -> str:
        return f"Endpoint({self.key!r}, scopes={self.scopes!r})"

    def format(self, **path_args: str) -> str:
        """The path with its placeholders filled in, each value percent-encoded."""
        if not path_args:
            return self.path
        return self.path.format(**{k: quote(v, safe="") for k, v in path_args.items()})


class EndpointGroup:
    """The base of every group of endpoints; `Spotify` composes the groups and sets these."""

    _http: ApiTransport
    _clock: Callable[[], datetime]
    _library_cache: LibraryCache | None = None

    @property
    def library_cache(self) -> LibraryCache:
        """The :class:`~spotkit.library.cache.LibraryCache` the library reads go through, opened
        on first use in spotkit's data folder; assign another one (e.g. in a temporary folder)."""
        cache = self._library_cache
        if cache is None:
            with _cache_lock:
                if self._library_cache is None:
                    from ..library.cache import LibraryCache

                    self._library_cache = LibraryCache()
                cache = self._library_cache
        return cache

    @library_cache.setter
    def library_cache(self, cache: LibraryCache) -> None:
        self._library_cache = cache

    def _reader(self) -> LibraryClient:
        """This client as the library cache uses it: `Spotify` composes every group, so it has
        every read the cache needs."""
        return cast("LibraryClient", self)

    def _call(self, endpoint: Endpoint, *, path: str | None = None,
              params: Mapping[str, Any] | None = None, json_body: Any = None) -> Any:
        """Send `endpoint` (at `path` when given: its template filled in, or a fixed query added)
        with the scopes it declares; the decoded JSON, or None for 204."""
        return self._http.request(endpoint.method, endpoint.path if path is None else path,
                                  params=params, json_body=json_body, scopes=endpoint.scopes)

    def _pages(self, endpoint: Endpoint, *, path: str | None = None,
               params: Mapping[str, str] | None = None, wrapper: str | None = None,
               limit: int = MAX_LIMIT, progress: bool | None = None,
               what: str | None = None) -> Iterator[Page]:
        """The pages of a paged `endpoint` (see :mod:`spotkit.endpoints.paging`); `what` names
        the read in a progress bar and errors."""
        return iter_pages(lambda query: self._call(endpoint, path=path, params=query),
                          what or endpoint.key, params=params, wrapper=wrapper, limit=limit,
                          progress=progress)

    def _all_items(self, endpoint: Endpoint, *, path: str | None = None,
                   params: Mapping[str, str] | None = None, wrapper: str | None = None,
                   progress: bool | None = None, what: str | None = None) -> list[Any]:
        """Every raw item of a paged `endpoint`, read with the largest limit."""
        return [item for page in self._pages(endpoint, path=path, params=params, wrapper=wrapper,
                                             progress=progress, what=what)
                for item in page.items]
