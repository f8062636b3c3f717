"""The now-playing card's status line: what went wrong, in words a listener understands.

Every failure the poller meets becomes one short text and a kind ("info", "warning", "error"),
never a traceback; texts go through :func:`spotkit.logs.redact`, so no token can show.
"""

from __future__ import annotations

import math

from ..errors import (
    LoginRequired,
    MalformedResponse,
    MissingScope,
    NetworkError,
    NoActiveDevice,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
    SpotifyAPIError,
    SpotkitError,
)
from ..logs import redact

__all__ = ["describe_error"]


def describe_error(exc: BaseException, retry_in: float | None = None) -> tuple[str, str]:
    """(status text, kind) for a failure; never contains a token (text goes through `redact`)."""
    later = f" Retrying in {_seconds(retry_in)}." if retry_in is not None else ""
    if isinstance(exc, PremiumRequired):
        text, kind = "Spotify Premium is required to control playback.", "warning"
    elif isinstance(exc, NoActiveDevice):
        text, kind = ("No active device: start playing on a Spotify device, then try again.",
                      "warning")
    elif isinstance(exc, QuotaExceeded):
        text, kind = f"Spotify's request quota for this app is used up (429 QUOTA_EXCEEDED).{later}", \
            "error"
    elif isinstance(exc, RateLimited):
        text, kind = f"Spotify asked us to slow down (429 Too Many Requests).{later}", "warning"
    elif isinstance(exc, MissingScope):
        text, kind = str(exc), "error"
    elif isinstance(exc, LoginRequired):
        text, kind = ("Not logged in: run spotkit.login_button() in a cell (or `spotkit login`); "
                      "this widget picks the login up by itself."), "warning"
    elif isinstance(exc, NetworkError):
        text, kind = f"Spotify cannot be reached: {exc}{later}", "error"
    elif isinstance(exc, ServerError):
        text, kind = f"Spotify is having trouble ({exc.status}).{later}", "error"
    elif isinstance(exc, MalformedResponse):
        text, kind = f"Spotify sent an unreadable answer.{later}", "error"
    elif isinstance(exc, (SpotifyAPIError, SpotkitError)):
        text, kind = f"{exc}{later}", "error"
    else:
        text, kind = f"Unexpected error ({type(exc).__name__}: {exc}).{later}", "error"
    return redact(text), kind


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value:.1f} s"
    if value < 120:
        return f"{math.ceil(value)} s"
    return f"{math.ceil(value / 60)} min"
