"""The library endpoints of the Web API, 2026 shapes and rules: top items, saved items, follows,
playlists and their items.

Paging objects carry ``href``, ``next``, ``previous``, ``total``, ``limit`` and ``offset`` (cursor
paging for follows); ``limit`` is 1-50 and anything else answers 400. A playlist's items are served
only to its owner and collaborators (403 otherwise). With ``legacy_fields=False`` the fields Spotify
removed for development-mode apps (``popularity``, ``followers``, ``available_markets``) are absent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from .accounts import AccessGrant
from .catalogue import MARKETS
from .library import Entry, LibAlbum, Library, LibTrack, Playlist
from .state import SandboxState
from .wire import Request, Response, api_error, json_response

__all__ = ["PATTERN_ROUTES", "ROUTES", "Handler", "library_object"]

Handler = Callable[[SandboxState, Request, AccessGrant], Response]
_MAX_OFFSET = 100_000


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.response = api_error(400, message)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class _Renderer:
    """The library's objects as Spotify JSON, at one sandbox's URLs."""

    def __init__(self, state: SandboxState, library: Library) -> None:
        self.cat = state.catalogue
        self.lib = library
        self.legacy = state.config.legacy_fields

    def _links(self, kind: str, id_: str) -> dict[str, Any]:
        return self.cat._links(kind, kind + "s", id_)

    def artist(self, artist_id: str, full: bool = False) -> dict[str, Any]:
        a = self.lib.artists[artist_id]
        body: dict[str, Any] = {**self._links("artist", a.id), "name": a.name}
        if full:
            body["genres"] = list(a.genres)
            body["images"] = self.cat.images("lib-artist:" + a.id)
            if self.legacy:
                body["popularity"] = a.popularity
                body["followers"] = {"href": None, "total": a.followers}
        return body

    def album(self, album: LibAlbum, full: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "album_type": album.album_type,
            "total_tracks": len(album.track_ids),
            **self._links("album", album.id),
            "images": self.cat.images("lib-album:" + album.id),
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": album.precision,
            "artists": [self.artist(a) for a in album.artist_ids],
        }
        if self.legacy:
            body["available_markets"] = list(MARKETS)
        if full:
            tracks = [self.track(self.lib.tracks[t], simplified=True) for t in album.track_ids]
            body.update(
                tracks={"href": f"{self.cat.api_url}/albums/{album.id}/tracks?offset=0&limit=50",
                        "items": tracks[:50], "limit": 50, "next": None, "offset": 0,
                        "previous": None, "total": len(tracks)},
                copyrights=[{"text": f"(P) {album.release_date[:4]} {album.label}", "type": "P"}],
                external_ids={"upc": str(int(hashlib.sha256(album.id.encode()).hexdigest(),
                                                16))[:12]},
                genres=[],
                label=album.label,
                popularity=50 if self.legacy else None,
            )
            if not self.legacy:
                del body["popularity"]
        return body

    def track(self, t: LibTrack, simplified: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "artists": [self.artist(a) for a in t.artist_ids],
            "disc_number": 1,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            **self._links("track", t.id),
            "is_local": False,
            "name": t.name,
            "track_number": t.track_number,
        }
        if not simplified:
            body["album"] = self.album(self.lib.albums[t.album_id])
            body["external_ids"] = {"isrc": "QZLIB" + str(int(hashlib.sha256(
                t.id.encode()).hexdigest(), 16))[:7]}
        if self.legacy:
            body["available_markets"] = list(MARKETS)
            body["preview_url"] = None
            if not simplified:
                body["popularity"] = t.popularity
        return body

    def any_track(self, track_id: str) -> dict[str, Any]:
        """A track of the library's catalogue, or else of the sandbox's own (saved or added to a
        playlist through the Web API)."""
        if track_id in self.lib.tracks:
            return self.track(self.lib.tracks[track_id])
        return self.cat.track(self.cat.track_uris[track_id])

    def show(self, show_id: str) -> dict[str, Any]:
        s = self.lib.shows[show_id]
        body: dict[str, Any] = {
            "copyrights": [],
            "description": f"Conversations from {s.publisher}.",
            "html_description": f"<p>Conversations from {s.publisher}.</p>",
            "explicit": False,
            **self._links("show", s.id),
            "images": self.cat.images("lib-show:" + s.id),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": s.name,
            "publisher": s.publisher,
            "total_episodes": len(s.episode_ids),
        }
        if self.legacy:
            body["available_markets"] = list(MARKETS)
        return body

    def episode(self, episode_id: str) -> dict[str, Any]:
        e = self.lib.episodes[episode_id]
        return {
            "audio_preview_url": None,
            "description": f"{e.name}.",
            "html_description": f"<p>{e.name}.</p>",
            "duration_ms": e.duration_ms,
            "explicit": False,
            **self._links("episode", e.id),
            "images": self.cat.images("lib-show:" + e.show_id),
            "is_externally_hosted": False,
            "is_playable": True,
            "languages": ["en"],
            "name": e.name,
            "release_date": e.release_date,
            "release_date_precision": "day",
            "show": self.show(e.show_id),
            "type": "episode",
        }

    def entry(self, e: Entry) -> dict[str, Any]:
        item: dict[str, Any] | None
        if e.local is not None:
            # as Spotify sends a local file: nulls where the catalogue has ids and links
            name, artist, album, duration = e.local
            nothing: dict[str, Any] = {"external_urls": {}, "href": None, "id": None, "uri": None}
            item = {
                "album": {**nothing, "album_type": None, "artists": [], "available_markets": [],
                          "images": [], "name": album, "release_date": None,
                          "release_date_precision": None, "type": "album"},
                "artists": [{**nothing, "name": artist, "type": "artist"}],
                "available_markets": [], "disc_number": 0, "duration_ms": duration,
                "episode": False, "explicit": False, "external_ids": {}, **nothing,
                "is_local": True, "name": name, "popularity": 0, "preview_url": None,
                "track": True, "track_number": 0, "type": "track",
                "uri": f"spotify:local:{artist}:{album}:{name}:{duration // 1000}"}
        elif e.uri is None:
            item = None
        elif e.uri.startswith("spotify:episode:"):
            # in a playlist, Spotify flags which of the two an item is
            item = {**self.episode(e.uri.rsplit(":", 1)[-1]), "episode": True, "track": False}
        else:
            item = {**self.any_track(e.uri.rsplit(":", 1)[-1]), "episode": False, "track": True}
        return {"added_at": _iso(e.added_at_ms), "primary_color": None,
                "video_thumbnail": {"url": None},
                "added_by": {**self._links("user", e.added_by), "external_urls": {
                    "spotify": f"https://open.spotify.com/user/{e.added_by}"}},
                "is_local": e.local is not None, "item": item, "track": item}

    def playlist(self, p: Playlist) -> dict[str, Any]:
        ref = {"href": f"{self.cat.api_url}/playlists/{p.id}/items", "total": len(p.entries)}
        return {
            "collaborative": p.collaborative,
            "description": p.description,
            **self._links("playlist", p.id),
            "images": self.cat.images("lib-playlist:" + p.id, (640,)),
            "name": p.name,
            "owner": {**self._links("user", p.owner_id), "display_name": p.owner_name},
            "primary_color": None,  # Spotify sends it, null for user playlists
            "public": p.public,
            "snapshot_id": p.snapshot_id,
            "items": ref,
            "tracks": ref,
        }


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
    render = _Renderer(state, lib)
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
        r = _Renderer(state, lib)
        render: Callable[[str], Any] = ((lambda i: r.track(lib.tracks[i])) if kind == "tracks"
                                        else (lambda i: r.artist(i, full=True)))
        return _page(state, req, f"/me/top/{kind}", lib.top[kind][term], render,
                     {"time_range": term})
    return handler


def _saved(kind: str) -> Handler:
    def handler(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
        lib = _library(state)
        r = _Renderer(state, lib)
        objects: dict[str, Callable[[str], Any]] = {
            "tracks": r.any_track,
            "albums": lambda i: r.album(lib.albums[i], full=True),
            "shows": r.show,
            "episodes": r.episode,
        }
        make = objects[kind]
        return _page(state, req, f"/me/{kind}", lib.saved[kind],
                     lambda x: {"added_at": _iso(x[1]), kind[:-1]: make(x[0])})
    return handler


def following(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    if req.arg("type") != "artist":
        return api_error(400, "Invalid type: only artist is supported")
    try:
        limit = _int(req, "limit", 20, 1, 50)
    except _BadRequest as exc:
        return exc.response
    lib = _library(state)
    r = _Renderer(state, lib)
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
    r = _Renderer(state, lib)
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
    body = _Renderer(state, _library(state)).playlist(found)
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
    r = _Renderer(state, lib)
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
