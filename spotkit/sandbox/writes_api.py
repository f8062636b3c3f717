"""The Web API's writes, 2026 shapes and rules: create a playlist, add or replace its items, save to
and remove from the library.

- ``POST /me/playlists`` {name, public, collaborative, description} -> 201 PlaylistObject
- ``POST /playlists/{id}/items`` {uris (1-100), position} -> 201 {snapshot_id}
- ``PUT /playlists/{id}/items`` {uris (0-100)} -> 200 {snapshot_id}: the items replaced
- ``PUT`` / ``DELETE /me/library?uris=`` (1-40 comma-separated URIs) -> 200, empty body

Only the owner or a collaborator may change a playlist (403 otherwise); every change gives a new
``snapshot_id``. Unknown or malformed URIs answer 400 and change nothing.
"""

from __future__ import annotations

from typing import Any

from .accounts import AccessGrant
from .catalogue import spotify_id
from .library import Entry, Library, Playlist
from .library_api import Handler
from .library_json import LibraryRenderer
from .state import SandboxState
from .wire import Request, Response, api_error, json_response

__all__ = ["PATTERN_ROUTES", "ROUTES"]

MAX_PLAYLIST_URIS = 100
MAX_LIBRARY_URIS = 40
_LIBRARY_KINDS = ("track", "album", "show", "episode")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = api_error(status, message)


def _json(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, "Error parsing JSON.") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _Refused(400, "Error parsing JSON.")
    return body


def _known(state: SandboxState, lib: Library, uri: str) -> bool:
    parts = uri.split(":") if isinstance(uri, str) else []
    if len(parts) != 3 or parts[0] != "spotify":
        return False
    kind, item_id = parts[1], parts[2]
    cat = state.catalogue
    if kind == "track":
        return item_id in lib.tracks or item_id in cat.track_uris
    if kind == "episode":
        return item_id in lib.episodes
    if kind == "album":
        return item_id in lib.albums
    if kind == "show":
        return item_id in lib.shows
    return False


def _uris(state: SandboxState, lib: Library, value: object, low: int, high: int,
          kinds: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise _Refused(400, "Invalid uris: a list of Spotify URIs is required")
    if len(value) > high:
        raise _Refused(400, f"Too many ids requested: at most {high}")
    if len(value) < low:
        raise _Refused(400, "No uris given")
    for uri in value:
        kind = uri.split(":")[1] if uri.count(":") == 2 else None
        if kind not in kinds or not _known(state, lib, uri):
            raise _Refused(400, f"Invalid uri: {uri}")
    return list(value)


def _own_playlist(state: SandboxState, req: Request, grant: AccessGrant) -> Playlist:
    lib = state.library
    parts = req.path.split("/")  # ["", "v1", "playlists", id, "items"]
    playlist = lib.playlist(parts[3]) if len(parts) > 3 else None
    if playlist is None:
        raise _Refused(404, "Resource not found")
    if not lib.readable(playlist):   # owner or collaborator: the same rule as for reading
        raise _Refused(403, "You cannot change a playlist you neither own nor collaborate on")
    if ("playlist-modify-public" if playlist.public else "playlist-modify-private") \
            not in grant.scopes:
        raise _Refused(403, "Insufficient client scope")
    return playlist


def _answer(handler: Handler) -> Handler:
    def wrapped(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
        try:
            return handler(state, req, grant)
        except _Refused as refused:
            return refused.response
    return wrapped


@_answer
def create_playlist(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    body = _json(req)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Refused(400, "Missing required field: name")
    public = body.get("public", True)
    collaborative = body.get("collaborative", False)
    description = body.get("description", "")
    if not isinstance(public, bool) or not isinstance(collaborative, bool) or not isinstance(
            description, str):
        raise _Refused(400, "Invalid public, collaborative or description")
    if collaborative and public:
        raise _Refused(400, "Collaborative playlists can only be private.")
    needed = "playlist-modify-public" if public else "playlist-modify-private"
    if needed not in grant.scopes:
        raise _Refused(403, "Insufficient client scope")
    lib = state.library
    now = state.player.sync()
    playlist = Playlist(spotify_id(f"created-playlist:{len(lib.playlists)}:{now}:{name}"), name,
                        lib.user_id, lib.display_name, collaborative, public, description, [])
    lib.playlists.insert(0, playlist)   # newest first in GET /me/playlists, as on Spotify
    body = LibraryRenderer(state, lib).playlist(playlist)
    # a full PlaylistObject: its items as a paging object (empty, the playlist is new)
    body["items"] = body["tracks"] = {
        "href": f"{state.catalogue.api_url}/playlists/{playlist.id}/items?offset=0&limit=100",
        "items": [], "limit": 100, "next": None, "offset": 0, "previous": None, "total": 0}
    return json_response(201, body)


@_answer
def add_items(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    playlist = _own_playlist(state, req, grant)
    body = _json(req)
    lib = state.library
    uris = body.get("uris")
    if uris is None and req.arg("uris") is not None:
        uris = [u for u in (req.arg("uris") or "").split(",") if u]
    added = _uris(state, lib, uris, 1, MAX_PLAYLIST_URIS, ("track", "episode"))
    position = body.get("position", req.arg("position"))
    at = len(playlist.entries)
    if position is not None:
        try:
            at = int(position)
        except (TypeError, ValueError):
            raise _Refused(400, "Invalid position") from None
        if not 0 <= at <= len(playlist.entries):
            raise _Refused(400, "Index out of bounds")
    now = state.player.sync()
    playlist.entries[at:at] = [Entry(u, now, lib.user_id) for u in added]
    playlist.version += 1
    return json_response(201, {"snapshot_id": playlist.snapshot_id})


@_answer
def replace_items(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    playlist = _own_playlist(state, req, grant)
    body = _json(req)
    if "range_start" in body:
        raise _Refused(400, "Reordering is not supported by the sandbox; replace the items")
    lib = state.library
    uris = _uris(state, lib, body.get("uris"), 0, MAX_PLAYLIST_URIS, ("track", "episode"))
    now = state.player.sync()
    playlist.entries = [Entry(u, now, lib.user_id) for u in uris]
    playlist.version += 1
    return json_response(200, {"snapshot_id": playlist.snapshot_id})


def _library_uris(state: SandboxState, req: Request) -> list[str]:
    raw = req.arg("uris")
    if raw is None:
        raise _Refused(400, "Missing required parameter: uris")
    return _uris(state, state.library, [u for u in raw.split(",") if u], 1, MAX_LIBRARY_URIS,
                 _LIBRARY_KINDS)


@_answer
def save_to_library(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    lib = state.library
    now = state.player.sync()
    for uri in _library_uris(state, req):
        kind, item_id = uri.split(":")[1] + "s", uri.split(":")[2]
        if not any(i == item_id for i, _ in lib.saved[kind]):
            lib.saved[kind].insert(0, (item_id, now))
    return _empty_ok()


@_answer
def remove_from_library(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    lib = state.library
    uris = _library_uris(state, req)
    for uri in uris:
        kind, item_id = uri.split(":")[1] + "s", uri.split(":")[2]
        lib.saved[kind] = [(i, t) for i, t in lib.saved[kind] if i != item_id]
    return _empty_ok()


def _empty_ok() -> Response:
    return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})


ROUTES: dict[str, dict[str, tuple[str | None, Handler]]] = {
    "/v1/me/playlists": {"POST": (None, create_playlist)},   # the scope depends on `public`
    "/v1/me/library": {"PUT": ("user-library-modify", save_to_library),
                       "DELETE": ("user-library-modify", remove_from_library)},
}
PATTERN_ROUTES: dict[tuple[str, str], dict[str, tuple[str | None, Handler]]] = {
    ("/v1/playlists/", "/items"): {"POST": (None, add_items), "PUT": (None, replace_items)},
}
