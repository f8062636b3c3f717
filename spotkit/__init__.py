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
        "ServerError", "HistoryError",
    ),
    "spotkit.auth.login": ("login", "LoginFlow"),
    "spotkit.auth.token": ("Token",),
    "spotkit.auth.cache": ("TokenCache",),
    "spotkit.auth.tokens": ("TokenManager",),
    "spotkit.client": (
        "Spotify", "default_client", "set_default_client", "me", "playback", "now_playing",
        "recently_played", "play", "pause", "next_track", "previous_track",
    ),
    "spotkit.records": ("HistoryPage", "NOW_PLAYING_COLUMNS", "HISTORY_COLUMNS"),
    "spotkit.frames": ("to_frame",),
    "spotkit.history": ("HistoryLogger", "read_history"),
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
    from .client import (
        Spotify,
        default_client,
        me,
        next_track,
        now_playing,
        pause,
        play,
        playback,
        previous_track,
        recently_played,
        set_default_client,
    )
    from .config import Settings, load_settings
    from .diagnosis import Diagnosis, doctor
    from .errors import (
        AuthError,
        CacheCorrupt,
        ConfigError,
        Forbidden,
        HistoryError,
        LoginCancelled,
        LoginDenied,
        LoginRequired,
        LoginTimeout,
        MalformedResponse,
        MissingScope,
        NetworkError,
        NoActiveDevice,
        NotFound,
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
    )
    from .frames import to_frame
    from .history import HistoryLogger, read_history
    from .records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS, HistoryPage
    from .tutorial import Quickstart, quickstart
    from .widgets.login import LoginButton, login_button
    from .widgets.now_playing import NowPlayingWidget
