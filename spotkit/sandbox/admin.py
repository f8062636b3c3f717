"""The test-control API under /_sandbox/ and the operations behind Sandbox's helper methods.

Every function here expects the caller to hold the state lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from .accounts import SCOPES
from .faults import fault_from_json
from .player import AD
from .ratelimit import RollingWindow
from .state import SandboxState
from .wire import Request, Response, json_response

__all__ = ["handle", "mint_token", "refusal", "set_playing", "set_rate_limit", "set_user",
           "snapshot"]


def mint_token(state: SandboxState, scopes: Iterable[str] | None = None) -> dict[str, Any]:
    """A token answer as if the user had logged in (all known scopes unless given)."""
    chosen = list(SCOPES) if scopes is None else list(scopes)
    return state.accounts.issue(state.accounts.app.client_id, chosen)


def set_playing(state: SandboxState, uri: str | None, is_playing: bool = True,
                progress_ms: int = 0) -> None:
    if uri is not None and uri != AD and state.catalogue.duration_ms(uri) is None:
        raise ValueError(f"unknown URI {uri!r}: use one of the sandbox catalogue's tracks/episodes")
    state.player.set_playing(uri, is_playing, progress_ms)


def set_user(state: SandboxState, product: str | None = None,
             display_name: str | None = None) -> None:
    if product is not None:
        if product not in ("premium", "free", "open"):
            raise ValueError("product must be 'premium' or 'free'")
        state.user["product"] = product
    if display_name is not None:
        state.user["display_name"] = display_name


def set_rate_limit(state: SandboxState, limit: int | None, window: float = 30.0) -> None:
    """At most `limit` /v1 calls per rolling `window` seconds (None: no limit)."""
    state.rate_limit = None if limit is None else RollingWindow(limit, window)


def snapshot(state: SandboxState) -> dict[str, Any]:
    p = state.player
    now = p.sync()
    app = state.accounts.app
    return {
        "base_url": state.base_url,
        "api_url": state.base_url + "/v1",
        "accounts_url": state.base_url,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uris": list(app.redirect_uris),
        "user": state.user_view(),
        "now_ms": now,
        "speed": state.clock.speed,
        "device_id": state.device_id,
        "player": {
            "uri": p.current,
            "is_playing": p.is_playing,
            "progress_ms": p.progress_ms(now),
            "context_uri": p.context_uri,
            "queue": list(p.queue),
        },
        "faults": state.faults.pending(),
        "catalogue": {
            "tracks": sorted(state.catalogue.tracks_by_uri),
            "episodes": sorted(state.catalogue.episodes_by_uri),
        },
    }


def _body(req: Request) -> dict[str, Any]:
    data = req.json()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _ok(payload: Any = None) -> Response:
    return json_response(200, {"ok": True} if payload is None else payload)


def _faults(state: SandboxState, req: Request) -> Response:
    if req.method == "DELETE":
        state.faults.clear()
        return _ok()
    if req.method == "GET":
        return _ok(state.faults.pending())
    state.faults.add(fault_from_json(_body(req)))
    return _ok()


def _tokens(state: SandboxState, req: Request) -> Response:
    scopes = _body(req).get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    return _ok(mint_token(state, scopes))


def _expire(state: SandboxState, req: Request) -> Response:
    state.accounts.expire_access_tokens()
    return _ok()


def _revoke(state: SandboxState, req: Request) -> Response:
    state.accounts.revoke_refresh_tokens()
    return _ok()


def _number(data: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    """data[name] as a finite number within [low, high]; ValueError naming the field otherwise."""
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")
    if not low <= value <= high:  # NaN and infinities fail this too
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return float(value)


_DAY_MS = 86_400_000.0


def _player(state: SandboxState, req: Request) -> Response:
    data = _body(req)
    progress = _number(data, "progress_ms", 0, 0, _DAY_MS)
    set_playing(state, data.get("uri"), bool(data.get("is_playing", True)), int(progress))
    return _ok()


def _user(state: SandboxState, req: Request) -> Response:
    data = _body(req)
    set_user(state, data.get("product"), data.get("display_name"))
    return _ok(state.user_view())


def _clock(state: SandboxState, req: Request) -> Response:
    data = _body(req)
    speed = _number(data, "speed", 1, 1e-3, 1e6) if data.get("speed") is not None else None
    advance = (_number(data, "advance_ms", 0, 0, 3650 * _DAY_MS)
               if data.get("advance_ms") is not None else None)
    state.player.sync()
    if speed is not None:
        state.clock.set_speed(speed)
    if advance is not None:
        state.clock.advance(advance)
    return _ok({"now_ms": state.player.sync(), "speed": state.clock.speed})


def _requests(state: SandboxState, req: Request) -> Response:
    return _ok(state.log.entries(req.arg("path")))


def _reset_log(state: SandboxState, req: Request) -> Response:
    state.log.reset()
    return _ok()


def _library(state: SandboxState, req: Request) -> Response:
    return _ok(state.library.summary())


def _uris(data: dict[str, Any]) -> list[str]:
    uris = data.get("uris")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ValueError("uris must be a list of Spotify URIs")
    return uris


def _library_save(state: SandboxState, req: Request) -> Response:
    added = state.library.save(_uris(_body(req)), state.player.sync())
    return _ok({"added": added})


def _library_remove(state: SandboxState, req: Request) -> Response:
    return _ok({"removed": state.library.remove(_uris(_body(req)))})


def _playlist_edit(state: SandboxState, req: Request) -> Response:
    data = _body(req)
    playlist = state.library.edit_playlist(
        str(data.get("id")), add=data.get("add") or [], remove=data.get("remove") or [],
        name=data.get("name"), now_ms=state.player.sync())
    return _ok({"id": playlist.id, "snapshot_id": playlist.snapshot_id,
                "items": len(playlist.entries)})


def _latency(state: SandboxState, req: Request) -> Response:
    """{"seconds": 0.15, "path": "/v1/me/tracks"} (path defaults to every /v1 endpoint);
    DELETE clears them all."""
    if req.method == "DELETE":
        state.latency.clear()
        return _ok()
    data = _body(req)
    seconds = float(data.get("seconds", 0))
    path = str(data.get("path") or "/v1/")
    if not 0 <= seconds <= 30 or not path.startswith("/"):
        raise ValueError("seconds must be 0-30 and path an absolute path prefix")
    if seconds:
        state.latency[path] = seconds
    else:
        state.latency.pop(path, None)
    return _ok(dict(state.latency))


def _rate_limit(state: SandboxState, req: Request) -> Response:
    if req.method == "POST":
        data = _body(req)
        limit = data.get("limit")
        set_rate_limit(state, None if limit is None else int(limit),
                       float(data.get("window", 30.0)))
    elif req.method == "DELETE":
        set_rate_limit(state, None)
    limiter = state.rate_limit
    return _ok({"limit": None} if limiter is None else limiter.describe())


def _catalogue(state: SandboxState, req: Request) -> Response:
    tracks = _body(req).get("tracks")
    if isinstance(tracks, bool) or not isinstance(tracks, int) or not 0 <= tracks <= 100_000:
        raise ValueError("tracks must be a whole number from 0 to 100000")
    return _ok({"tracks": state.catalogue.extend(tracks)})


def _history(state: SandboxState, req: Request) -> Response:
    state.player.sync()
    return _ok([p.as_dict() for p in state.player.history])


_Handler = Callable[[SandboxState, Request], Response]
ROUTES: dict[tuple[str, str], _Handler] = {
    ("GET", "/_sandbox/state"): lambda s, r: _ok(snapshot(s)),
    ("GET", "/_sandbox/requests"): _requests,
    ("GET", "/_sandbox/counts"): lambda s, r: _ok(s.log.counts()),
    ("POST", "/_sandbox/reset-log"): _reset_log,
    ("GET", "/_sandbox/faults"): _faults,
    ("POST", "/_sandbox/faults"): _faults,
    ("DELETE", "/_sandbox/faults"): _faults,
    ("POST", "/_sandbox/tokens"): _tokens,
    ("POST", "/_sandbox/tokens/expire"): _expire,
    ("POST", "/_sandbox/tokens/revoke"): _revoke,
    ("POST", "/_sandbox/player"): _player,
    ("POST", "/_sandbox/user"): _user,
    ("POST", "/_sandbox/clock"): _clock,
    ("GET", "/_sandbox/history"): _history,
    ("GET", "/_sandbox/library"): _library,
    ("POST", "/_sandbox/library/save"): _library_save,
    ("POST", "/_sandbox/library/remove"): _library_remove,
    ("POST", "/_sandbox/playlists/edit"): _playlist_edit,
    ("POST", "/_sandbox/latency"): _latency,
    ("DELETE", "/_sandbox/latency"): _latency,
    ("GET", "/_sandbox/rate-limit"): _rate_limit,
    ("POST", "/_sandbox/rate-limit"): _rate_limit,
    ("DELETE", "/_sandbox/rate-limit"): _rate_limit,
    ("POST", "/_sandbox/catalogue"): _catalogue,
}


def refusal(state: SandboxState, req: Request) -> Response | None:
    """A 403 for an admin request that may come from a web page, else None.

    The admin API mints tokens and reads secrets, so only the sandbox's own clients may use it:
    the Host must be the loopback address the sandbox serves (a DNS-rebinding page sends its own
    name), and a browser's cross-site request (an Origin other than the sandbox's) is refused
    even though its answer could not be read (no CORS header), since a POST would still act.
    """
    own = urlsplit(state.base_url).netloc.lower()
    host = req.headers.get("host", "").strip().lower()
    if host != own:
        return json_response(403, {"error": f"the admin API answers only requests for Host {own}, "
                                            f"not {host or 'none'}"})
    origin = req.headers.get("origin")
    if origin is not None and origin.rstrip("/").lower() != state.base_url.lower():
        return json_response(403, {"error": "the admin API does not answer web pages "
                                            "(cross-origin request)"})
    return None


def handle(state: SandboxState, req: Request) -> Response:
    handler = ROUTES.get((req.method, req.path))
    if handler is None:
        return json_response(404, {"error": "no such admin endpoint"})
    try:
        return handler(state, req)
    except RecursionError:
        return json_response(400, {"error": "the body is nested too deeply"})
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        return json_response(400, {"error": str(exc) or type(exc).__name__})
