"""Every failure spotkit raises, one class per thing a caller may want to tell apart.

Catch :class:`SpotkitError` for all of them. Messages say what happened and what to do;
none of them ever contains a token, a code, a PKCE verifier or a client secret. The tree::

    SpotkitError
    ├── ConfigError (also ValueError)       a setting is missing or wrong
    ├── AuthError                           logging in or refreshing failed
    │   ├── LoginRequired                   nobody logged in, or the login was revoked/expired
    │   │   └── CacheCorrupt                the token cache cannot be read (left in place)
    │   ├── StateMismatch                   a callback with a state this login did not send
    │   ├── LoginTimeout                    nobody finished the login in time
    │   ├── LoginDenied                     the user pressed Cancel on Spotify's page
    │   ├── LoginCancelled                  cancelled from this side (button, stop(), Ctrl-C)
    │   ├── PortInUse                       the redirect URI's port is taken
    │   ├── TokenRequestError               the accounts service refused a grant (invalid_client...)
    │   └── MissingScope                    the login lacks a scope this call needs
    ├── NetworkError                        Spotify unreachable, or the request's deadline passed
    ├── MalformedResponse                   an answer that is not the JSON it should be
    ├── SpotifyAPIError                     an error status from either service (status, reason)
    │   ├── Unauthorized                    401 even after a refresh: run `spotkit login`
    │   ├── Forbidden                       403
    │   │   └── PremiumRequired             403 PREMIUM_REQUIRED
    │   ├── NotFound                        404
    │   │   └── NoActiveDevice              404 NO_ACTIVE_DEVICE
    │   ├── RateLimited                     429, `retry_after` seconds (either service)
    │   │   └── QuotaExceeded               429 QUOTA_EXCEEDED: waiting seconds won't help
    │   └── ServerError                     5xx after retries (either service)
    └── HistoryError                        the history database is locked, corrupt or newer

A 429 or 5xx from the accounts service (``/api/token``) is a :class:`RateLimited` or
:class:`ServerError` like one from the Web API, so callers treat a refresh that hits a 503 the
same as a call that does.
"""

from __future__ import annotations

import math

__all__ = [
    "AuthError",
    "CacheCorrupt",
    "ConfigError",
    "Forbidden",
    "HistoryError",
    "LibraryCacheError",
    "LoginCancelled",
    "LoginDenied",
    "LoginRequired",
    "LoginTimeout",
    "MalformedResponse",
    "MetadataError",
    "MissingScope",
    "NetworkError",
    "NoActiveDevice",
    "NotFound",
    "PartialWrite",
    "PlaylistNotReadable",
    "PortInUse",
    "PremiumRequired",
    "QuotaExceeded",
    "RateLimited",
    "ServerError",
    "SpotifyAPIError",
    "SpotkitError",
    "StateMismatch",
    "TokenRequestError",
    "Unauthorized",
    "UnavailableEndpoint",
]


class SpotkitError(Exception):
    """Base class of every error spotkit raises on purpose."""


class ConfigError(SpotkitError, ValueError):
    """A setting is missing or has a value Spotify would reject; the message says what to write."""


# --- logging in and tokens ---------------------------------------------------------------------


class AuthError(SpotkitError):
    """Logging in or refreshing a token failed."""


class LoginRequired(AuthError):
    """There is no usable token: the user has to log in (again), e.g. `spotkit login`."""


class CacheCorrupt(LoginRequired):
    """The token cache file cannot be read or parsed. It is left in place for inspection."""


class StateMismatch(AuthError):
    """A callback carried a `state` that this login did not send (a forged or stale request)."""


class LoginTimeout(AuthError):
    """Nobody completed the login in the browser before the timeout."""


class LoginDenied(AuthError):
    """The user pressed Cancel on Spotify's consent page (`error=access_denied`) or Spotify refused."""


class LoginCancelled(AuthError):
    """The login was cancelled from this side (a Cancel button, `stop()`, Ctrl-C)."""


class PortInUse(AuthError):
    """The redirect URI's port is taken, so the loopback listener cannot receive the callback."""


class TokenRequestError(AuthError):
    """The accounts service refused a token request (`invalid_client`, `invalid_request`, ...)."""

    def __init__(self, message: str, *, error: str | None = None, description: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.status = status


class MissingScope(AuthError):
    """The cached token was granted without a scope that this call needs."""

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


# --- the Web API -------------------------------------------------------------------------------


class NetworkError(SpotkitError):
    """Spotify could not be reached (connection refused, DNS, timeout) even after retries."""


class MalformedResponse(SpotkitError):
    """Spotify answered with a body that is not the JSON it should be (an HTML page, truncated JSON)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SpotifyAPIError(SpotkitError):
    """The Web API answered with an error status; `status`, `message` and `reason` come from its body."""

    def __init__(self, status: int, message: str, reason: str | None = None, *,
                 method: str | None = None, path: str | None = None) -> None:
        self.status = status
        self.message = message
        self.reason = reason
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method and path else ""
        why = f" [{reason}]" if reason else ""
        super().__init__(f"Spotify answered {status}{where}: {message}{why}")


class Unauthorized(SpotifyAPIError):
    """401: the access token is bad or expired, and refreshing did not help."""

    def __str__(self) -> str:
        return (f"{super().__str__()}. Spotify refused the token even after refreshing it: run "
                "`spotkit login` to log in again.")


class Forbidden(SpotifyAPIError):
    """403: the request is not allowed for this user or app."""


class PremiumRequired(Forbidden):
    """403 PREMIUM_REQUIRED: player controls need a Spotify Premium account."""


class PlaylistNotReadable(Forbidden):
    """403 on a playlist's items: since 2026 only its owner or a collaborator may read them."""


class UnavailableEndpoint(Forbidden):
    """403 on an endpoint Spotify no longer serves to this app (development mode)."""


class NotFound(SpotifyAPIError):
    """404: the resource does not exist."""


class NoActiveDevice(NotFound):
    """404 NO_ACTIVE_DEVICE: start Spotify on a device (or pass `device_id`) and try again."""


class RateLimited(SpotifyAPIError):
    """429: too many requests. `retry_after` is how many seconds Spotify asked us to wait."""

    def __init__(self, status: int, message: str, reason: str | None = None, *,
                 retry_after: float | None = None, method: str | None = None,
                 path: str | None = None) -> None:
        super().__init__(status, message, reason, method=method, path=path)
        self.retry_after = retry_after

    def __str__(self) -> str:
        wait = self.retry_after
        if wait is None:
            advice = "Spotify did not say how long to wait; wait a minute and try again."
        elif wait < 90:
            advice = f"Wait {math.ceil(wait)} s and try again."
        elif wait < 2 * 3600:
            advice = f"Wait {math.ceil(wait / 60)} minutes and try again."
        else:
            advice = f"Wait {wait / 3600:.1f} hours and try again."
        return f"{super().__str__()}. {advice}"


class QuotaExceeded(RateLimited):
    """429 QUOTA_EXCEEDED: the developer account's quota is used up; waiting a few seconds won't help."""

    def __str__(self) -> str:
        return (f"{SpotifyAPIError.__str__(self)}. The app's quota is used up: waiting a few "
                "seconds won't help; see the app's quota on Spotify's developer dashboard.")


class ServerError(SpotifyAPIError):
    """5xx: Spotify failed, still after retries with backoff."""



# --- history -------------------------------------------------------------------------------------


class HistoryError(SpotkitError):
    """The history database is locked, corrupt or from a newer spotkit; nothing was dropped."""


class LibraryCacheError(SpotkitError):
    """The library cache file cannot be opened, read or written; the message names it."""


class MetadataError(SpotkitError):
    """The metadata cache is locked, damaged or from a newer spotkit; nothing fetched was lost."""


# --- writing -------------------------------------------------------------------------------------


class PartialWrite(SpotkitError):
    """A write stopped part-way: `written` of `total` items went through; the message says how to
    go on. `playlist_id` and `snapshot_id` name the playlist as last seen (None for the library)."""

    def __init__(self, message: str, *, written: int, total: int, playlist_id: str | None = None,
                 snapshot_id: str | None = None) -> None:
        super().__init__(message)
        self.written = written
        self.total = total
        self.playlist_id = playlist_id
        self.snapshot_id = snapshot_id
