"""The library endpoints of the Web API, 2026 shapes and rules: top items, saved items, follows,
playlists and their items.

Paging objects carry ``href``, ``next``, ``previous``, ``total``, ``limit`` and ``offset`` (cursor
paging for follows); ``limit`` is 1-50 and anything else answers 400. A playlist's items are served
only to its owner and collaborators (403 otherwise). With ``legacy_fields=False`` the fields Spotify
removed for development-mode apps (``popularity``, ``followers``, ``available_markets``) are absent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .accounts import AccessGrant
from .library import Library, Playlist
from .library_json import LibraryRenderer, iso_time
from .state import SandboxState
from .wire import Request, Response, api_error, json_response

__all__ = ["PATTERN_ROUTES", "ROUTES", "Handler", "library_object"]

Handler = Callable[[SandboxState, Request, AccessGrant], Response]
_MAX_OFFSET = 100_000


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.response = api_error(400, message)


def _int(req: Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"Invalid {name}") from None
    if not low <= value <= high:
        raise _BadRequest(f"Invalid {name}: must be between {low} and {high}")
    return value


def _page(state: SandboxState, req: Request, path: str, items: list[Any],
          render: Callable[[Any], Any], extra: dict[str, str] | None = None) -> Response:
    """An offset paging object of `items` at `path`, with `limit` 1-50 (default 20)."""
    try:
        limit = _int(req, "limit", 20, 1, 50)
        offset = _int(req, "offset", 0, 0, _MAX_OFFSET)
    except _BadRequest as exc:
        return exc.response
    url = state.catalogue.api_url + path
    fixed = list((extra or {}).items())

    def link(at: int) -> str:
        return f"{url}?{urlencode([*fixed, ('offset', at), ('limit', limit)])}"

    chunk = items[offset:offset + limit]
    return json_response(200, {
        "href": link(offset),
        "items": [render(x) for x in chunk],
        "limit": limit,
        "next": link(offset + limit) if offset + limit < len(items) else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": len(items),
    })


def _library(state: SandboxState) -> Library:
    return state.library


def library_object(state: SandboxState, kind: str, item_id: str) -> dict[str, Any] | None:
    """A library track, album or artist as ``GET /{kind}s/{id}`` answers it; None if unknown."""
    lib = state.library
    render = LibraryRenderer(state, lib)
    if kind == "track" and item_id in lib.tracks:
        return render.track(lib.tracks[item_id])
    if kind == "album" and item_id in lib.albums:
        return render.album(lib.albums[item_id], full=True)
    if kind == "artist" and item_id in lib.artists:
        return render.artist(item_id, full=True)
    return None


# ---------------------------------------------------------------- handlers
def _top(kind: str) -> Handler:
    def handler(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
        term = req.arg("time_range") or "medium_term"
        lib = _library(state)
        if term not in lib.top[kind]:
            return api_error(400, "Invalid time range")
        r = LibraryRenderer(state, lib)
        render: Callable[[str], Any] = ((lambda i: r.track(lib.tracks[i])) if kind == "tracks"
                                        else (lambda i: r.artist(i, full=True)))
        return _page(state, req, f"/me/top/{kind}", lib.top[kind][term], render,
                     {"time_range": term})
    return handler


def _saved(kind: str) -> Handler:
    def handler(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
        lib = _library(state)
        r = LibraryRenderer(state, lib)
        objects: dict[str, Callable[[str], Any]] = {
            "tracks": r.any_track,
            "albums": lambda i: r.album(lib.albums[i], full=True),
            "shows": r.show,
            "episodes": r.episode,
        }
        make = objects[kind]
        return _page(state, req, f"/me/{kind}", lib.saved[kind],
                     lambda x: {"added_at": iso_time(x[1]), kind[:-1]: make(x[0])})
    return handler


def following(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    if req.arg("type") != "artist":
        return api_error(400, "Invalid type: only artist is supported")
    try:
        limit = _int(req, "limit", 20, 1, 50)
    except _BadRequest as exc:
        return exc.response
    lib = _library(state)
    r = LibraryRenderer(state, lib)
    after = req.arg("after")
    ids = lib.followed
    start = ids.index(after) + 1 if after in ids else 0
    chunk = ids[start:start + limit]
    url = f"{state.catalogue.api_url}/me/following"
    more = start + limit < len(ids)
    return json_response(200, {"artists": {
        "href": f"{url}?{urlencode([('type', 'artist'), ('limit', limit)])}",
        "items": [r.artist(i, full=True) for i in chunk],
        "limit": limit,
        "next": (f"{url}?{urlencode([('type', 'artist'), ('after', chunk[-1]), ('limit', limit)])}"
                 if more and chunk else None),
        "cursors": {"after": chunk[-1] if more and chunk else None},
        "total": len(ids),
    }})


def my_playlists(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    lib = _library(state)
    r = LibraryRenderer(state, lib)
    return _page(state, req, "/me/playlists", lib.playlists, r.playlist)


def _playlist_of(state: SandboxState, req: Request) -> Playlist | Response:
    parts = req.path.split("/")  # ["", "v1", "playlists", id, ...]
    playlist = _library(state).playlist(parts[3]) if len(parts) > 3 else None
    if playlist is None:
        return api_error(404, "Resource not found")
    return playlist


def playlist(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    found = _playlist_of(state, req)
    if isinstance(found, Response):
        return found
    body = LibraryRenderer(state, _library(state)).playlist(found)
    fields = req.arg("fields")
    if fields:
        wanted = {f.strip() for f in fields.split(",")}
        body = {k: v for k, v in body.items() if k in wanted}
    return json_response(200, body)


def playlist_items(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    found = _playlist_of(state, req)
    if isinstance(found, Response):
        return found
    lib = _library(state)
    if not lib.readable(found):
        return api_error(403, "You cannot read the items of a playlist you neither own nor "
                              "collaborate on")
    r = LibraryRenderer(state, lib)
    # next links keep the path asked for (/items, or the deprecated /tracks)
    return _page(state, req, req.path.removeprefix("/v1"), found.entries, r.entry)


# path -> method -> (scope needed or None, handler)
ROUTES: dict[str, dict[str, tuple[str | None, Handler]]] = {
    "/v1/me/top/tracks": {"GET": ("user-top-read", _top("tracks"))},
    "/v1/me/top/artists": {"GET": ("user-top-read", _top("artists"))},
    "/v1/me/tracks": {"GET": ("user-library-read", _saved("tracks"))},
    "/v1/me/albums": {"GET": ("user-library-read", _saved("albums"))},
    "/v1/me/shows": {"GET": ("user-library-read", _saved("shows"))},
    "/v1/me/episodes": {"GET": ("user-library-read", _saved("episodes"))},
    "/v1/me/following": {"GET": ("user-follow-read", following)},
    "/v1/me/playlists": {"GET": ("playlist-read-private", my_playlists)},
}
#: Routes with an id in the path: (prefix, suffix) -> method -> (scope, handler).
PATTERN_ROUTES: dict[tuple[str, str], dict[str, tuple[str | None, Handler]]] = {
    ("/v1/playlists/", "/items"): {"GET": ("playlist-read-private", playlist_items)},
    # deprecated in 2026 but still answered (older clients use it), with the same rules
    ("/v1/playlists/", "/tracks"): {"GET": ("playlist-read-private", playlist_items)},
    ("/v1/playlists/", ""): {"GET": ("playlist-read-private", playlist)},
}
