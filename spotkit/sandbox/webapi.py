"""The Web API under /v1: /me and the player endpoints, with Spotify's errors and scope checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from . import library_api, writes_api
from .accounts import AccessGrant
from .catalogue import PLAYLIST_URI
from .player import AD, Play
from .state import SandboxState
from .wire import Request, Response, api_error, json_response

__all__ = ["ROUTES", "handle"]

Handler = Callable[[SandboxState, Request, AccessGrant], Response]

PREMIUM_REQUIRED = (403, "Player command failed: Premium required", "PREMIUM_REQUIRED")
NO_ACTIVE_DEVICE = (404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE")
RESTRICTED = (403, "Player command failed: Restriction violated", "UNKNOWN")


def _iso(ms: int) -> str:
    """Unix ms -> "2016-12-13T20:44:04.589Z", as played_at is written."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _no_content() -> Response:
    return Response(204, b"", {"Cache-Control": "private, max-age=0"})


# ---------------------------------------------------------------- GET endpoints
def me(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return json_response(200, state.catalogue.user(state.user, grant.scopes))


def _playback(state: SandboxState, req: Request, full: bool) -> Response:
    p = state.player
    now = p.sync()
    if p.current is None:
        return _no_content()
    types = {t.strip() for t in (req.arg("additional_types") or "").split(",")}
    uri = p.current
    item: dict[str, Any] | None
    if uri == AD:
        kind, item = "ad", None
    elif uri.startswith("spotify:episode:"):
        # without additional_types=episode Spotify names the type but leaves the item out
        kind, item = "episode", (state.catalogue.episode(uri) if "episode" in types else None)
    else:
        kind, item = "track", state.catalogue.track(uri)
    body: dict[str, Any] = {}
    if full:
        body.update(
            device={"id": state.device_id, "is_active": True, "is_private_session": False,
                    "is_restricted": False, "name": "Sandbox Speaker", "type": "Computer",
                    "volume_percent": 64, "supports_volume": True},
            shuffle_state=p.shuffle_state,
            smart_shuffle=False,
            repeat_state=p.repeat_state,
        )
    body.update(
        timestamp=p.changed_at_ms,
        context=state.catalogue.context(p.context_uri),
        progress_ms=p.progress_ms(now),
        item=item,
        currently_playing_type=kind,
        actions={"disallows": p.disallows()},
        is_playing=p.is_playing,
    )
    return json_response(200, body)


def player(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return _playback(state, req, full=True)


def currently_playing(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return _playback(state, req, full=False)


class _BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _int_arg(req: Request, name: str, low: int, high: int) -> int | None:
    raw = req.arg(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(api_error(400, f"Invalid {name}")) from None
    if not low <= value <= high:
        raise _BadRequest(api_error(400, f"Invalid {name}"))
    return value


def recently_played(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    try:
        limit = _int_arg(req, "limit", 1, 50)
        after = _int_arg(req, "after", 0, 2**63 - 1)
        before = _int_arg(req, "before", 0, 2**63 - 1)
    except _BadRequest as exc:
        return exc.response
    if after is not None and before is not None:
        return api_error(400, "Only one of after and before may be specified")
    limit = 20 if limit is None else limit
    state.player.sync()
    plays = state.player.recent_tracks()  # newest first, the 50 reachable
    page: list[Play]
    if after is not None:
        newer = [x for x in plays if x.played_at_ms > after]
        page = newer[-limit:]  # the plays right after the cursor, newest first
        more = len(newer) > len(page)
    elif before is not None:
        older = [x for x in plays if x.played_at_ms < before]
        page = older[:limit]
        more = len(older) > len(page)
    else:
        page = plays[:limit]
        more = len(plays) > len(page)
    url = f"{state.catalogue.api_url}/me/player/recently-played"
    given = [(k, v[0]) for k, v in req.query.items() if k in ("limit", "after", "before") and v]
    next_url = None
    if page and more:
        cursor = ("after", page[0].played_at_ms) if after is not None else (
            "before", page[-1].played_at_ms)
        next_url = f"{url}?{urlencode([cursor, ('limit', limit)])}"
    body = {
        "items": [{"track": state.catalogue.track(x.uri), "played_at": _iso(x.played_at_ms),
                   "context": state.catalogue.context(x.context_uri)} for x in page],
        "next": next_url,
        "cursors": ({"after": str(page[0].played_at_ms), "before": str(page[-1].played_at_ms)}
                    if page else None),
        "limit": limit,
        "href": url + (f"?{urlencode(given)}" if given else ""),
    }
    return json_response(200, body)


# ---------------------------------------------------------------- player commands
def _command_guard(state: SandboxState, req: Request, allow_idle: bool = False) -> Response | None:
    if state.user["product"] != "premium":
        return api_error(*PREMIUM_REQUIRED)
    state.player.sync()
    device_id = req.arg("device_id")
    if device_id is not None and device_id != state.device_id:
        return api_error(404, "Device not found")
    if state.player.current is None and not (allow_idle and device_id is not None):
        return api_error(*NO_ACTIVE_DEVICE)
    return None


def play(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    problem = _command_guard(state, req, allow_idle=True)
    if problem is not None:
        return problem
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return api_error(400, "Malformed json")
    if body is not None and not isinstance(body, dict):
        return api_error(400, "Malformed json")
    body = body or {}
    p, cat = state.player, state.catalogue
    uris = body.get("uris")
    context_uri = body.get("context_uri")
    offset_spec = body.get("offset") or {}
    position_ms = body.get("position_ms", 0)
    if not isinstance(position_ms, int) or position_ms < 0:
        return api_error(400, "Invalid position_ms")
    if uris is not None and (not isinstance(uris, list) or not uris
            or not all(isinstance(u, str) and cat.duration_ms(u) for u in uris)):
        return api_error(400, "Invalid track uri")
    if context_uri is not None:
        album_ok = (isinstance(context_uri, str) and context_uri.startswith("spotify:album:")
                    and cat.album_tracks(context_uri.rsplit(":", 1)[-1]))
        if not (album_ok or context_uri == PLAYLIST_URI):
            return api_error(400, "Non supported context uri")
    offset = 0
    if isinstance(offset_spec, dict):
        if isinstance(offset_spec.get("position"), int):
            offset = offset_spec["position"]
        elif isinstance(offset_spec.get("uri"), str):
            candidates = uris or (p.queue if context_uri == PLAYLIST_URI else
                                  cat.album_tracks(str(context_uri).rsplit(":", 1)[-1]))
            if offset_spec["uri"] not in candidates:
                return api_error(400, "Invalid offset")
            offset = list(candidates).index(offset_spec["uri"])
    if uris is None and context_uri is None:
        if p.is_playing:
            return api_error(*RESTRICTED)
        if p.current is None:
            p.set_playing(p.queue[p.queue_pos], True, 0)
        else:
            p.play()
    elif context_uri == PLAYLIST_URI:
        p.set_playing(p.queue[offset % len(p.queue)], True, position_ms)
    else:
        p.play(uris=uris, context_uri=context_uri, offset=offset, position_ms=position_ms)
    return _no_content()


def pause(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    problem = _command_guard(state, req)
    if problem is not None:
        return problem
    if not state.player.is_playing:
        return api_error(*RESTRICTED)
    state.player.pause()
    return _no_content()


def skip_next(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    problem = _command_guard(state, req)
    if problem is not None:
        return problem
    if state.player.disallows().get("skipping_next"):
        return api_error(*RESTRICTED)
    state.player.next()
    return _no_content()


def skip_previous(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    problem = _command_guard(state, req)
    if problem is not None:
        return problem
    if state.player.disallows().get("skipping_prev"):
        return api_error(*RESTRICTED)
    state.player.previous()
    return _no_content()


# ---------------------------------------------------------------- the catalogue, one item a call
_BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")


_DEV_MODE_GONE = frozenset({"available_markets", "popularity", "followers", "linked_from",
                            "preview_url"})


def _dev_mode(value: Any) -> Any:
    """`value` without the fields Spotify stopped sending development-mode apps in 2026."""
    if isinstance(value, dict):
        return {k: _dev_mode(v) for k, v in value.items() if k not in _DEV_MODE_GONE}
    if isinstance(value, list):
        return [_dev_mode(v) for v in value]
    return value


def _one(state: SandboxState, req: Request, kind: str, keys: dict[str, str],
         render: Callable[[str], dict[str, Any]]) -> Response:
    """A catalogue item (the curated and generated ones first, then the user's library's)."""
    item_id = req.path.rsplit("/", 1)[-1]
    if not _BASE62_ID.fullmatch(item_id):
        return api_error(400, "Invalid base62 id")
    key = keys.get(item_id)
    body = render(key) if key is not None else library_api.library_object(state, kind, item_id)
    if body is None:
        return api_error(404, "Resource not found")
    return json_response(200, _dev_mode(body))


def one_track(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return _one(state, req, "track", state.catalogue.track_uris, state.catalogue.track)


def one_album(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return _one(state, req, "album", state.catalogue.album_keys, state.catalogue.full_album)


def one_artist(state: SandboxState, req: Request, grant: AccessGrant) -> Response:
    return _one(state, req, "artist", state.catalogue.artist_keys, state.catalogue.full_artist)


def _merged(*tables: dict[Any, dict[str, tuple[str | None, Handler]]]
            ) -> dict[Any, dict[str, tuple[str | None, Handler]]]:
    """Route tables joined, the methods of a path shared by several of them united."""
    out: dict[Any, dict[str, tuple[str | None, Handler]]] = {}
    for table in tables:
        for key, methods in table.items():
            out.setdefault(key, {}).update(methods)
    return out


# path -> method -> (scope needed or None, handler)
ROUTES: dict[str, dict[str, tuple[str | None, Handler]]] = {
    "/v1/me": {"GET": (None, me)},
    "/v1/me/player": {"GET": ("user-read-playback-state", player)},
    "/v1/me/player/currently-playing": {"GET": ("user-read-currently-playing", currently_playing)},
    "/v1/me/player/recently-played": {"GET": ("user-read-recently-played", recently_played)},
    "/v1/me/player/play": {"PUT": ("user-modify-playback-state", play)},
    "/v1/me/player/pause": {"PUT": ("user-modify-playback-state", pause)},
    "/v1/me/player/next": {"POST": ("user-modify-playback-state", skip_next)},
    "/v1/me/player/previous": {"POST": ("user-modify-playback-state", skip_previous)},
    **_merged(library_api.ROUTES, writes_api.ROUTES),
}
#: Routes with an id in the path: (prefix, suffix) -> method -> (scope, handler).
PATTERN_ROUTES: dict[tuple[str, str], dict[str, tuple[str | None, Handler]]] = {
    **_merged(library_api.PATTERN_ROUTES, writes_api.PATTERN_ROUTES),
    ("/v1/tracks/", ""): {"GET": (None, one_track)},
    ("/v1/albums/", ""): {"GET": (None, one_album)},
    ("/v1/artists/", ""): {"GET": (None, one_artist)},
}


def _methods(path: str) -> dict[str, tuple[str | None, Handler]] | None:
    methods = ROUTES.get(path)
    if methods is not None:
        return methods
    for (prefix, suffix), routed in PATTERN_ROUTES.items():
        if path.startswith(prefix) and path.endswith(suffix):
            middle = path[len(prefix):len(path) - len(suffix)]
            if middle and "/" not in middle:
                return routed
    return None


def handle(state: SandboxState, req: Request) -> Response:
    """Answer one /v1 request (the caller holds the state lock)."""
    methods = _methods(req.path)
    if methods is None:
        return api_error(404, "Service not found")
    route = methods.get(req.method)
    if route is None:
        return api_error(405, "Method not allowed")
    grant = state.accounts.bearer(req.headers.get("authorization"))
    if not isinstance(grant, AccessGrant):
        status, message = grant
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = (
                f'Bearer realm="spotify", error="invalid_token", error_description="{message}"')
        return api_error(status, message, headers=headers)
    scope, handler = route
    if scope is not None and scope not in grant.scopes:
        return api_error(403, "Insufficient client scope")
    return handler(state, req, grant)
