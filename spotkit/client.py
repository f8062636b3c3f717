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
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import requests

from ._values import Record
from .backoff import SharedBackoff
from .config import Settings, load_settings
from .endpoints import (
    ENDPOINTS,
    CatalogueEndpoints,
    LibraryEndpoints,
    PlayerEndpoints,
    PlaylistEndpoints,
    ProfileEndpoints,
    WriteEndpoints,
)
from .endpoints.paging import MAX_LIMIT
from .endpoints.player import Moment
from .http import DEFAULT_TIMEOUT, ApiTransport, RetryPolicy, Timeout, TokenSource, make_session
from .records import HistoryPage, Records

if TYPE_CHECKING:
    from .endpoints.playlists import PlaylistRef
    from .library.cache import Refresh

__all__ = [
    "ENDPOINT_SCOPES",
    "HistoryPage",
    "Spotify",
    "TokenSource",
    "add_to_playlist",
    "create_playlist",
    "default_client",
    "followed_artists",
    "me",
    "next_track",
    "now_playing",
    "pause",
    "play",
    "playback",
    "playlist_items",
    "playlists",
    "previous_track",
    "recently_played",
    "remove_from_library",
    "replace_playlist_items",
    "save_to_library",
    "saved_albums",
    "saved_episodes",
    "saved_shows",
    "saved_tracks",
    "set_default_client",
    "top_artists",
    "top_tracks",
]

#: The scopes each endpoint needs (``"GET /me/player": ("user-read-playback-state",)``), checked
#: before the call when the token source can tell; declared beside each method in `spotkit.endpoints`.
ENDPOINT_SCOPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {key: endpoint.scopes for key, endpoint in ENDPOINTS.items()})



class Spotify(ProfileEndpoints, PlayerEndpoints, LibraryEndpoints, WriteEndpoints,
              PlaylistEndpoints, CatalogueEndpoints):
    """A Spotify Web API client: one keep-alive Session, typed errors, flat records.

    Its endpoints are grouped by area in :mod:`spotkit.endpoints`.

    `settings` default to :func:`~spotkit.config.load_settings` (``SPOTKIT_API_URL`` gives the
    base URL). `auth` is the token source, by default the auth layer's ``TokenManager`` over the
    token cache. `timeout` is seconds, or (connect, read), for each socket operation.
    `policy` is the :class:`~spotkit.http.RetryPolicy` of both services (the Web API and, through
    the default token source, the accounts service): retries, how long a 429 may be waited out
    (`max_retry_wait`) and each request's overall `deadline` (15 s by default). The keywords
    `max_retry_wait`, `retries`, `backoff` and `backoff_cap` still work, in place of `policy`.
    `clock` gives `fetched_at` (tests pass a fixed one). `calls` counts the HTTP requests sent.
    `shared_backoff` is the app's :class:`~spotkit.backoff.SharedBackoff` (a 429 seen by any
    spotkit process of this client id makes every one wait): by default the one beside the token
    cache (none when the client id is unknown); False or None: this client keeps to itself.

    One instance may be shared by several threads (one keep-alive Session, no per-call state on
    the instance); see :mod:`spotkit.http` for the retry policy and what thread safety relies on.
    """

    def __init__(self, settings: Settings | None = None, *, auth: TokenSource | None = None,
                 timeout: Timeout = DEFAULT_TIMEOUT, policy: RetryPolicy | None = None,
                 max_retry_wait: float | None = None, retries: int | None = None,
                 session: requests.Session | None = None,
                 backoff: float | None = None, backoff_cap: float | None = None,
                 clock: Callable[[], datetime] | None = None,
                 shared_backoff: SharedBackoff | bool | None = True) -> None:
        self.settings = settings if settings is not None else load_settings()
        policy = _policy(policy, retries=retries, max_retry_wait=max_retry_wait, backoff=backoff,
                         backoff_cap=backoff_cap)
        owns = session is None
        if session is None:
            session = make_session()
        if shared_backoff is True:
            shared_backoff = SharedBackoff.for_app(self.settings)
        if auth is None:
            from .auth.tokens import TokenManager

            auth = TokenManager(self.settings, session=session, policy=policy,
                                backoff=shared_backoff or None)
        self.auth = auth
        self._http = ApiTransport(self.settings.api_url, auth, timeout=timeout, policy=policy,
                                  session=session, owns_session=owns,
                                  backoff=shared_backoff or None)
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def __repr__(self) -> str:
        return f"Spotify(api_url={self.settings.api_url!r}, calls={self.calls})"

    def __enter__(self) -> Spotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (if this client created it) and the library cache it opened."""
        self._http.close()
        if self._library_cache is not None:
            self._library_cache.close()

    @property
    def calls(self) -> int:
        """How many HTTP requests this client has sent (retries and refresh retries included)."""
        return self._http.calls

    @property
    def session(self) -> requests.Session:
        return self._http.session

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy and deadline of every request this client sends."""
        return self._http.policy

    @property
    def backoff(self) -> SharedBackoff | None:
        """The app's cross-process back-off (see :mod:`spotkit.backoff`), None if not shared."""
        return self._http.backoff

    def raw_get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON of ``GET {api_url}{path}`` (None for 204), with the client's policy."""
        if not path.startswith("/"):
            path = "/" + path
        endpoint = f"GET {path.split('?', 1)[0].rstrip('/')}"
        return self._http.request("GET", path, params=params,
                                  scopes=ENDPOINT_SCOPES.get(endpoint, ()))


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
                    limit: int = MAX_LIMIT) -> list[Record]:
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


def top_tracks(time_range: str = "medium_term", *, refresh: Refresh = True,
               progress: bool | None = None) -> Records:
    """:meth:`Spotify.top_tracks` on the default client."""
    return default_client().top_tracks(time_range, refresh=refresh, progress=progress)


def top_artists(time_range: str = "medium_term", *, refresh: Refresh = True,
                progress: bool | None = None) -> Records:
    """:meth:`Spotify.top_artists` on the default client."""
    return default_client().top_artists(time_range, refresh=refresh, progress=progress)


def saved_tracks(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.saved_tracks` on the default client."""
    return default_client().saved_tracks(refresh=refresh, progress=progress)


def saved_albums(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.saved_albums` on the default client."""
    return default_client().saved_albums(refresh=refresh, progress=progress)


def saved_shows(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.saved_shows` on the default client."""
    return default_client().saved_shows(refresh=refresh, progress=progress)


def saved_episodes(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.saved_episodes` on the default client."""
    return default_client().saved_episodes(refresh=refresh, progress=progress)


def followed_artists(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.followed_artists` on the default client."""
    return default_client().followed_artists(refresh=refresh, progress=progress)


def playlists(*, refresh: Refresh = True, progress: bool | None = None) -> Records:
    """:meth:`Spotify.playlists` on the default client."""
    return default_client().playlists(refresh=refresh, progress=progress)


def playlist_items(playlist: PlaylistRef, *, refresh: Refresh = True,
                   progress: bool | None = None) -> Records:
    """:meth:`Spotify.playlist_items` on the default client."""
    return default_client().playlist_items(playlist, refresh=refresh, progress=progress)


def _policy(policy: RetryPolicy | None, **keywords: float | None) -> RetryPolicy:
    """`policy`, or one made of the older separate keywords (not both)."""
    given = {k: v for k, v in keywords.items() if v is not None}
    if policy is not None:
        if given:
            raise TypeError(f"pass either policy= or {', '.join(sorted(given))}=, not both "
                            "(put them in the RetryPolicy)")
        return policy
    return RetryPolicy(**given)  # type: ignore[arg-type]


def create_playlist(name: str, items: Any = (), *, public: bool = False,
                    description: str | None = None, unique: bool = False) -> Record:
    """:meth:`Spotify.create_playlist` on the default client."""
    return default_client().create_playlist(name, items, public=public, description=description,
                                            unique=unique)


def add_to_playlist(playlist: PlaylistRef, items: Any, position: int | None = None, *,
                    unique: bool = False) -> str | None:
    """:meth:`Spotify.add_to_playlist` on the default client."""
    return default_client().add_to_playlist(playlist, items, position, unique=unique)


def replace_playlist_items(playlist: PlaylistRef, items: Any, *,
                           unique: bool = False) -> str | None:
    """:meth:`Spotify.replace_playlist_items` on the default client."""
    return default_client().replace_playlist_items(playlist, items, unique=unique)


def save_to_library(items: Any) -> int:
    """:meth:`Spotify.save_to_library` on the default client."""
    return default_client().save_to_library(items)


def remove_from_library(items: Any) -> int:
    """:meth:`Spotify.remove_from_library` on the default client."""
    return default_client().remove_from_library(items)
