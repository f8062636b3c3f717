"""The Token value: what the accounts service granted, with secrets kept out of every repr.

Since 2026 a Spotify refresh token lasts six months from the user's original sign-in, and
refreshing does not extend it. :attr:`Token.authorized_at` records that sign-in (kept across
refreshes) and :attr:`Token.valid_until` is when the login stops working.
"""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeGuard

__all__ = ["LOGIN_LIFETIME_MONTHS", "LOGIN_WARNING_DAYS", "Token"]

#: How long a login (its refresh token) lasts from the original sign-in.
LOGIN_LIFETIME_MONTHS = 6
#: Within this many days of :attr:`Token.valid_until`, spotkit warns that the login will end.
LOGIN_WARNING_DAYS = 14


def _add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _finite_number(value: object) -> TypeGuard[int | float]:
    """A JSON number that is neither a bool nor NaN nor infinite."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _scope_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise ValueError("scope must be a space-separated string or a list of strings")


@dataclass(frozen=True)
class Token:
    """An OAuth token as Spotify granted it.

    `expires_at` (the access token's end) and `authorized_at` (when the user signed in, None
    for logins cached before spotkit recorded it) are in Unix seconds. `repr()` and `str()` show
    the scopes and the expiry only: the access and refresh tokens never appear in output, logs or
    tracebacks.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scope: tuple[str, ...] = ()
    expires_at: float = 0.0
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    authorized_at: float | None = None

    def __repr__(self) -> str:
        remaining = self.expires_at - time.time()
        state = "expired" if remaining <= 0 else f"expires in {int(remaining)} s"
        refresh = "yes" if self.refresh_token else "no"
        return (f"Token(scope={' '.join(self.scope)!r}, {state}, refresh_token={refresh}, "
                f"access_token=***)")

    __str__ = __repr__

    def expired(self, margin: float = 60.0, now: float | None = None) -> bool:
        """True when the token expires within `margin` seconds (so refresh it before use)."""
        return (time.time() if now is None else now) + margin >= self.expires_at

    @property
    def valid_until(self) -> datetime | None:
        """When the login stops working (UTC): `authorized_at` plus six months; None if unknown."""
        if self.authorized_at is None:
            return None
        try:
            signed_in = datetime.fromtimestamp(self.authorized_at, timezone.utc)
            return _add_months(signed_in, LOGIN_LIFETIME_MONTHS)
        except (OverflowError, OSError, ValueError):
            return None

    def login_ends_soon(self, days: float = LOGIN_WARNING_DAYS, now: float | None = None) -> bool:
        """True when the login ends within `days` days (or has ended); False when unknown."""
        until = self.valid_until
        if until is None:
            return False
        return until.timestamp() - (time.time() if now is None else now) <= days * 86400

    def missing_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        """The scopes of `scopes` this token was not granted, in the order given."""
        granted = set(self.scope)
        return tuple(s for s in scopes if s not in granted)

    def has_scopes(self, *scopes: str) -> bool:
        """True when every scope in `scopes` was granted."""
        return not self.missing_scopes(scopes)

    @classmethod
    def from_response(cls, data: Mapping[str, Any], now: float | None = None,
                      previous: Token | None = None) -> Token:
        """A Token from the token endpoint's JSON answer.

        A refresh answer without `refresh_token` keeps `previous`'s (Spotify may or may not rotate
        it), and one without `scope` keeps `previous`'s scopes. `authorized_at` is `previous`'s
        (a refresh does not extend the login), or now for a new login. Raises ValueError on a malformed
        answer; the message names the field, never its value.
        """
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the token answer has no access_token")
        refresh = data.get("refresh_token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("the token answer's refresh_token is not a string")
        if not refresh:
            refresh = previous.refresh_token if previous is not None else None
        if "scope" in data:
            try:
                scope = _scope_tuple(data["scope"])
            except ValueError:
                raise ValueError("the token answer's scope is not a string") from None
        else:
            scope = previous.scope if previous is not None else ()
        expires_in = data.get("expires_in", 3600)
        if not _finite_number(expires_in):  # Infinity would be cached, then refused as corrupt
            raise ValueError("the token answer's expires_in is not a number")
        token_type = data.get("token_type") or "Bearer"
        if not isinstance(token_type, str):
            raise ValueError("the token answer's token_type is not a string")
        start = time.time() if now is None else now
        authorized_at = previous.authorized_at if previous is not None else start
        return cls(access_token=access, refresh_token=refresh, scope=scope,
                   expires_at=start + float(expires_in), token_type=token_type,
                   authorized_at=authorized_at)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for the token cache; it holds secrets)."""
        data: dict[str, Any] = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "scope": " ".join(self.scope),
            "expires_at": self.expires_at,
            "token_type": self.token_type,
        }
        if self.authorized_at is not None:
            data["authorized_at"] = self.authorized_at
        return data

    @classmethod
    def from_json(cls, data: object) -> Token:
        """The inverse of :meth:`to_json`. Raises ValueError (naming the field) on a bad shape."""
        if not isinstance(data, Mapping):
            raise ValueError("a token entry is not an object")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("a token entry has no access_token")
        refresh = data.get("refresh_token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("a token entry's refresh_token is not a string")
        expires_at = data.get("expires_at")
        if not _finite_number(expires_at):
            raise ValueError("a token entry's expires_at is not a number")
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str):
            raise ValueError("a token entry's token_type is not a string")
        try:
            scope = _scope_tuple(data.get("scope"))
        except ValueError:
            raise ValueError("a token entry's scope is not a string") from None
        authorized_at = data.get("authorized_at")
        if not _finite_number(authorized_at):
            authorized_at = None  # informational only: a bad value means "unknown"
        return cls(access_token=access, refresh_token=refresh or None, scope=scope,
                   expires_at=float(expires_at), token_type=token_type,
                   authorized_at=None if authorized_at is None else float(authorized_at))
