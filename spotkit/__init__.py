"""spotkit: Spotify in a Jupyter notebook.

Log in with one click, get what is playing as a dict or a DataFrame row, keep a live now-playing
widget in a cell and build a listening history that outlives Spotify's 50-track memory.

`import spotkit` stays light: every public name is loaded on first use, so pandas, ipywidgets and
the HTTP stack are only imported by the code that needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

# module -> the public names it defines; each loads on first use
_MODULES: dict[str, tuple[str, ...]] = {
    "spotkit.config": ("Settings", "load_settings"),
    "spotkit.errors": (
        "SpotkitError", "ConfigError", "AuthError", "LoginRequired", "CacheCorrupt", "StateMismatch",
        "LoginTimeout", "LoginDenied", "LoginCancelled", "PortInUse", "TokenRequestError",
        "MissingScope", "NetworkError", "MalformedResponse", "SpotifyAPIError", "Unauthorized",
        "Forbidden", "PremiumRequired", "NotFound", "NoActiveDevice", "RateLimited", "QuotaExceeded",
        "ServerError", "HistoryError", "PlaylistNotReadable", "UnavailableEndpoint",
        "LibraryCacheError", "MetadataError", "PartialWrite",
    ),
    "spotkit.auth.login": ("login", "LoginFlow"),
    "spotkit.auth.token": ("Token",),
    "spotkit.auth.cache": ("TokenCache",),
    "spotkit.auth.tokens": ("TokenManager",),
    "spotkit.http": ("RetryPolicy",),
    "spotkit.backoff": ("SharedBackoff",),
    "spotkit.client": (
        "Spotify", "default_client", "set_default_client", "me", "playback", "now_playing",
        "recently_played", "play", "pause", "next_track", "previous_track",
        "top_tracks", "top_artists", "saved_tracks", "saved_albums", "saved_shows",
        "saved_episodes", "followed_artists", "playlists", "playlist_items",
        "create_playlist", "add_to_playlist", "replace_playlist_items", "save_to_library",
        "remove_from_library",
    ),
    "spotkit.records": ("HistoryPage", "NOW_PLAYING_COLUMNS", "HISTORY_COLUMNS", "Records"),
    "spotkit.library": ("LibraryCache",),
    "spotkit.frames": ("to_frame",),
    "spotkit.history": ("HistoryLogger", "read_history"),
    "spotkit.metadata": ("enrich", "EnrichHandle", "EnrichProgress", "MetadataCache", "Pacer"),
    "spotkit.widgets.login": ("login_button", "LoginButton"),
    "spotkit.widgets.now_playing": ("NowPlayingWidget",),
    "spotkit.tutorial": ("quickstart", "Quickstart"),
    "spotkit.diagnosis": ("doctor", "Diagnosis"),
}
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:
    from .auth.cache import TokenCache
    from .auth.login import LoginFlow, login
    from .auth.token import Token
    from .auth.tokens import TokenManager
    from .backoff import SharedBackoff
    from .client import (
        Spotify,
        add_to_playlist,
        create_playlist,
        default_client,
        followed_artists,
        me,
        next_track,
        now_playing,
        pause,
        play,
        playback,
        playlist_items,
        playlists,
        previous_track,
        recently_played,
        remove_from_library,
        replace_playlist_items,
        save_to_library,
        saved_albums,
        saved_episodes,
        saved_shows,
        saved_tracks,
        set_default_client,
        top_artists,
        top_tracks,
    )
    from .config import Settings, load_settings
    from .diagnosis import Diagnosis, doctor
    from .errors import (
        AuthError,
        CacheCorrupt,
        ConfigError,
        Forbidden,
        HistoryError,
        LibraryCacheError,
        LoginCancelled,
        LoginDenied,
        LoginRequired,
        LoginTimeout,
        MalformedResponse,
        MetadataError,
        MissingScope,
        NetworkError,
        NoActiveDevice,
        NotFound,
        PartialWrite,
        PlaylistNotReadable,
        PortInUse,
        PremiumRequired,
        QuotaExceeded,
        RateLimited,
        ServerError,
        SpotifyAPIError,
        SpotkitError,
        StateMismatch,
        TokenRequestError,
        Unauthorized,
        UnavailableEndpoint,
    )
    from .frames import to_frame
    from .history import HistoryLogger, read_history
    from .http import RetryPolicy
    from .library import LibraryCache
    from .metadata import EnrichHandle, EnrichProgress, MetadataCache, Pacer, enrich
    from .records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS, HistoryPage, Records
    from .tutorial import Quickstart, quickstart
    from .widgets.login import LoginButton, login_button
    from .widgets.now_playing import NowPlayingWidget
