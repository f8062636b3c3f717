"""Every failure spotkit raises, one class per thing a caller may want to tell apart.

Catch :class:`SpotkitError` for all of them. Messages say what happened and what to do;
none of them ever contains a token, a code, a PKCE verifier or a client secret.
"""

from __future__ import annotations

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


class QuotaExceeded(RateLimited):
    """429 QUOTA_EXCEEDED: the developer account's quota is used up; waiting a few seconds won't help."""


class ServerError(SpotifyAPIError):
    """5xx: Spotify failed, still after retries with backoff."""



# --- history -------------------------------------------------------------------------------------


class HistoryError(SpotkitError):
    """The history database is locked, corrupt or from a newer spotkit; nothing was dropped."""


class LibraryCacheError(SpotkitError):
    """The library cache file cannot be opened, read or written; the message names it."""


class MetadataError(SpotkitError):
    """The metadata cache is locked, damaged or from a newer spotkit; nothing fetched was lost."""
