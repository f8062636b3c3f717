"""`Spotify`: the Web API client a notebook leans on, and module-level shortcuts over a default one.

>>> sp = Spotify()                      # settings from the environment / .env, token from the cache
>>> sp.now_playing()                    # a flat record (see spotkit.records) or None
>>> sp.recently_played(limit=10)        # flat history records, newest first

The HTTP policy (timeouts, 401 refresh, 429 / 5xx retries, typed errors, debug log) lives in
:mod:`spotkit.http`; the JSON-to-record mapping in :mod:`spotkit.records`. A `Spotify` may be
shared between threads (see :mod:`spotkit.http` for what that relies on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from .config import Settings, load_settings
from .errors import MalformedResponse
from .http import DEFAULT_TIMEOUT, ApiTransport, RetryPolicy, Timeout, TokenSource, make_session
from .records import HistoryPage, history_page, now_playing_record

__all__ = [
    "ENDPOINT_SCOPES",
    "HistoryPage",
    "Spotify",
    "TokenSource",
    "default_client",
    "me",
    "next_track",
    "now_playing",
    "pause",
    "play",
    "playback",
    "previous_track",
    "recently_played",
    "set_default_client",
]

#: The scope each endpoint needs, checked before the call when the token source can tell.
ENDPOINT_SCOPES: dict[str, tuple[str, ...]] = {
    "GET /me": (),
    "GET /me/player": ("user-read-playback-state",),
    "GET /me/player/currently-playing": ("user-read-currently-playing",),
    "GET /me/player/recently-played": ("user-read-recently-played",),
    "PUT /me/player/play": ("user-modify-playback-state",),
    "PUT /me/player/pause": ("user-modify-playback-state",),
    "POST /me/player/next": ("user-modify-playback-state",),
    "POST /me/player/previous": ("user-modify-playback-state",),
}

DEFAULT_ADDITIONAL_TYPES = "track,episode"
_MAX_LIMIT = 50

Record = dict[str, Any]
Moment = int | datetime


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ms(value: Moment | None, name: str) -> int | None:
    """Unix milliseconds from an int (already ms) or a datetime (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # integer arithmetic, so a cursor never depends on float rounding
        return (value - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a datetime or Unix milliseconds (an int >= 0), "
                         f"not {value!r}")
    return value


def _player_query(additional_types: str | None, market: str | None) -> str:
    parts = []
    if additional_types:
        parts.append(f"additional_types={additional_types}")
    if market:
        parts.append(f"market={market}")
    return "?" + "&".join(parts) if parts else ""


class Spotify:
    """A Spotify Web API client: one keep-alive Session, typed errors, flat records.

    `settings` default to :func:`~spotkit.config.load_settings` (``SPOTKIT_API_URL`` gives the
    base URL). `auth` is the token source, by default the auth layer's ``TokenManager`` over the
    token cache. `timeout` is seconds, or (connect, read). A 429 is waited out only when its
    Retry-After is at most `max_retry_wait` seconds; 5xx and network errors are retried `retries`
    times with backoff. `clock` gives `fetched_at` (tests pass a fixed one). `calls` counts the
    HTTP requests sent.

    One instance may be shared by several threads (one keep-alive Session, no per-call state on
    the instance); see :mod:`spotkit.http` for the retry policy and what thread safety relies on.
    """

    def __init__(self, settings: Settings | None = None, *, auth: TokenSource | None = None,
                 timeout: Timeout = DEFAULT_TIMEOUT, max_retry_wait: float = 5.0,
                 retries: int = 3, session: requests.Session | None = None,
                 backoff: float = 0.5, backoff_cap: float = 8.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        policy = RetryPolicy(retries=retries, max_retry_wait=max_retry_wait, backoff=backoff,
                             backoff_cap=backoff_cap)
        owns = session is None
        if session is None:
            session = make_session(self.settings.api_url)
        if auth is None:
            from .auth.tokens import TokenManager

            auth = TokenManager(self.settings, session=session)
        self.auth = auth
        self._http = ApiTransport(self.settings.api_url, auth, timeout=timeout, policy=policy,
                                  session=session, owns_session=owns)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._now_path = "/me/player/currently-playing" + _player_query(DEFAULT_ADDITIONAL_TYPES,
                                                                         None)
        self._playback_path = "/me/player" + _player_query(DEFAULT_ADDITIONAL_TYPES, None)

    def __repr__(self) -> str:
        return f"Spotify(api_url={self.settings.api_url!r}, calls={self.calls})"

    def __enter__(self) -> Spotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (if this client created it)."""
        self._http.close()

    @property
    def calls(self) -> int:
        """How many HTTP requests this client has sent (retries and refresh retries included)."""
        return self._http.calls

    @property
    def session(self) -> requests.Session:
        return self._http.session

    def _call(self, method: str, path: str, *, endpoint: str,
              params: Mapping[str, Any] | None = None, json_body: Any = None) -> Any:
        return self._http.request(method, path, params=params, json_body=json_body,
                                  scopes=ENDPOINT_SCOPES[endpoint])

    # --- reading ---------------------------------------------------------------------------

    def raw_get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON of ``GET {api_url}{path}`` (None for 204), with the client's policy."""
        if not path.startswith("/"):
            path = "/" + path
        endpoint = f"GET {path.split('?', 1)[0].rstrip('/')}"
        return self._http.request("GET", path, params=params,
                                  scopes=ENDPOINT_SCOPES.get(endpoint, ()))

    def me(self) -> dict[str, Any]:
        """The current user's profile (``GET /me``) as Spotify sends it; every field optional."""
        body = self._call("GET", "/me", endpoint="GET /me")
        if not isinstance(body, dict):
            raise MalformedResponse("Spotify sent no user profile for GET /me.")
        return body

    def playback(self, *, additional_types: str | None = DEFAULT_ADDITIONAL_TYPES,
                 market: str | None = None) -> Record | None:
        """The playback state (``GET /me/player``) as a now-playing record, None when idle (204)."""
        path = (self._playback_path if additional_types == DEFAULT_ADDITIONAL_TYPES
                and market is None else "/me/player" + _player_query(additional_types, market))
        body = self._call("GET", path, endpoint="GET /me/player")
        return now_playing_record(body, self._clock()) if body is not None else None

    def now_playing(self, *, additional_types: str | None = DEFAULT_ADDITIONAL_TYPES,
                    market: str | None = None) -> Record | None:
        """What plays now (``GET /me/player/currently-playing``), None when nothing does (204).

        Episodes are asked for by default, so a podcast gives a record with its name, not None.
        """
        path = (self._now_path if additional_types == DEFAULT_ADDITIONAL_TYPES and market is None
                else "/me/player/currently-playing" + _player_query(additional_types, market))
        body = self._call("GET", path, endpoint="GET /me/player/currently-playing")
        return now_playing_record(body, self._clock()) if body is not None else None

    def recently_played_page(self, after: Moment | None = None, before: Moment | None = None,
                             limit: int = _MAX_LIMIT) -> HistoryPage:
        """One page of ``GET /me/player/recently-played``: records (newest first) and cursors.

        `after` / `before` are datetimes or Unix ms, not both; `limit` is 1-50.
        """
        if after is not None and before is not None:
            raise ValueError("pass either after or before, not both (Spotify accepts one)")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise ValueError(f"limit must be an int from 1 to {_MAX_LIMIT}, not {limit!r}")
        params: dict[str, int] = {"limit": limit}
        after_ms, before_ms = _ms(after, "after"), _ms(before, "before")
        if after_ms is not None:
            params["after"] = after_ms
        if before_ms is not None:
            params["before"] = before_ms
        body = self._call("GET", "/me/player/recently-played", params=params,
                          endpoint="GET /me/player/recently-played")
        return history_page(body)

    def recently_played(self, after: Moment | None = None, before: Moment | None = None,
                        limit: int = _MAX_LIMIT) -> list[Record]:
        """Flat history records (newest first) of the last plays; Spotify keeps only 50."""
        return self.recently_played_page(after=after, before=before, limit=limit).records

    def iter_recently_played(self, after: Moment | None = None, before: Moment | None = None,
                             limit: int = _MAX_LIMIT,
                             max_pages: int | None = None) -> Iterator[Record]:
        """Every record reachable by following the cursors, page by page.

        With `after`, walks forward in time (each page newest first); otherwise walks back from
        `before` (or now). Stops at a short or empty page, a missing or repeated cursor, or
        `max_pages`.
        """
        forward = after is not None
        cursor = _ms(after if forward else before, "after" if forward else "before")
        pages = 0
        while max_pages is None or pages < max_pages:
            page = (self.recently_played_page(after=cursor, limit=limit) if forward
                    else self.recently_played_page(before=cursor, limit=limit))
            pages += 1
            yield from page.records
            following = page.cursor_after if forward else page.cursor_before
            if page.raw_count < limit or following is None or following == cursor:
                return
            cursor = following

    # --- playback control (Premium) ---------------------------------------------------------

    @staticmethod
    def _device(device_id: str | None) -> dict[str, str] | None:
        return {"device_id": device_id} if device_id else None

    def play(self, device_id: str | None = None, *, context_uri: str | None = None,
             uris: Sequence[str] | None = None, position_ms: int | None = None) -> None:
        """Start or resume playback (``PUT /me/player/play``)."""
        body: dict[str, Any] = {}
        if context_uri:
            body["context_uri"] = context_uri
        if uris:
            body["uris"] = list(uris)
        if position_ms is not None:
            body["position_ms"] = position_ms
        self._call("PUT", "/me/player/play", params=self._device(device_id),
                   json_body=body or None, endpoint="PUT /me/player/play")

    def pause(self, device_id: str | None = None) -> None:
        """Pause playback (``PUT /me/player/pause``)."""
        self._call("PUT", "/me/player/pause", params=self._device(device_id),
                   endpoint="PUT /me/player/pause")

    def next(self, device_id: str | None = None) -> None:
        """Skip to the next item (``POST /me/player/next``); never sent twice by a retry."""
        self._call("POST", "/me/player/next", params=self._device(device_id),
                   endpoint="POST /me/player/next")

    def previous(self, device_id: str | None = None) -> None:
        """Skip to the previous item (``POST /me/player/previous``); never sent twice by a retry."""
        self._call("POST", "/me/player/previous", params=self._device(device_id),
                   endpoint="POST /me/player/previous")


# --- module-level shortcuts over a default client ---------------------------------------------

_default: Spotify | None = None
_default_lock = threading.Lock()


def default_client() -> Spotify:
    """The shared client behind the shortcuts, created on first use from the environment."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Spotify()
            client = _default
    return client


def set_default_client(client: Spotify | None) -> Spotify | None:
    """Use `client` for the shortcuts (None: create a fresh one on next use); returns the old one."""
    global _default
    with _default_lock:
        old, _default = _default, client
    return old


def me() -> dict[str, Any]:
    """:meth:`Spotify.me` on the default client."""
    return default_client().me()


def now_playing() -> Record | None:
    """:meth:`Spotify.now_playing` on the default client."""
    return default_client().now_playing()


def playback() -> Record | None:
    """:meth:`Spotify.playback` on the default client."""
    return default_client().playback()


def recently_played(after: Moment | None = None, before: Moment | None = None,
                    limit: int = _MAX_LIMIT) -> list[Record]:
    """:meth:`Spotify.recently_played` on the default client."""
    return default_client().recently_played(after=after, before=before, limit=limit)


def play(device_id: str | None = None) -> None:
    """:meth:`Spotify.play` on the default client."""
    default_client().play(device_id)


def pause(device_id: str | None = None) -> None:
    """:meth:`Spotify.pause` on the default client."""
    default_client().pause(device_id)


def next_track(device_id: str | None = None) -> None:
    """:meth:`Spotify.next` on the default client (not named `next`: that is a builtin)."""
    default_client().next(device_id)


def previous_track(device_id: str | None = None) -> None:
    """:meth:`Spotify.previous` on the default client."""
    default_client().previous(device_id)
