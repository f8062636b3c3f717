"""spotkit: Spotify in a Jupyter notebook.

Log in with one click, get what is playing as a dict or a DataFrame row, keep a live now-playing
widget in a cell and build a listening history that outlives Spotify's 50-track memory.

`import spotkit` stays light: every public name is loaded on first use, so pandas, ipywidgets and
the HTTP stack are only imported by the code that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # configuration and errors
    "Settings": "spotkit.config",
    "load_settings": "spotkit.config",
    "SpotkitError": "spotkit.errors",
    "ConfigError": "spotkit.errors",
    "AuthError": "spotkit.errors",
    "LoginRequired": "spotkit.errors",
    "CacheCorrupt": "spotkit.errors",
    "StateMismatch": "spotkit.errors",
    "LoginTimeout": "spotkit.errors",
    "LoginDenied": "spotkit.errors",
    "LoginCancelled": "spotkit.errors",
    "PortInUse": "spotkit.errors",
    "TokenRequestError": "spotkit.errors",
    "MissingScope": "spotkit.errors",
    "NetworkError": "spotkit.errors",
    "MalformedResponse": "spotkit.errors",
    "SpotifyAPIError": "spotkit.errors",
    "Unauthorized": "spotkit.errors",
    "Forbidden": "spotkit.errors",
    "PremiumRequired": "spotkit.errors",
    "NotFound": "spotkit.errors",
    "NoActiveDevice": "spotkit.errors",
    "RateLimited": "spotkit.errors",
    "QuotaExceeded": "spotkit.errors",
    "ServerError": "spotkit.errors",
    "HistoryError": "spotkit.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spotkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from .config import Settings, load_settings
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
