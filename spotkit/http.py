"""How spotkit talks HTTP to the Web API: one Session, timeouts, token refresh, retries, errors.

The policy, in one place:

- Every request has a (connect, read) timeout. The bearer token comes from a :class:`TokenSource`
  (the auth layer's ``TokenManager``), which keeps it in memory; a 401 makes it refresh once
  (``refresh(stale_token)``) and the request is sent once more; a second 401 is :class:`Unauthorized`.
- 429: when ``Retry-After`` is at most ``max_retry_wait`` seconds (and a retry is left) wait that
  long and retry; otherwise raise :class:`RateLimited` at once with ``retry_after`` set. Spotify's
  ``QUOTA_EXCEEDED`` is raised at once as :class:`QuotaExceeded`: waiting seconds won't help.
- 5xx and network failures: up to ``retries`` retries, exponential backoff with full jitter
  (a random wait in ``[0, min(backoff_cap, backoff * 2**attempt)]``), then :class:`ServerError` or
  :class:`NetworkError`. Only idempotent requests (GET, PUT, DELETE) are retried whenever that is
  safe. A POST (next/previous: a second one skips twice) is retried only when it certainly did not
  run: the connection could not be opened, a 429, or a 503 (the server refused it before work).
  A 500/502/504 or a read timeout after a POST raises at once.
- A body that is not JSON (an HTML error page, truncated JSON) is :class:`MalformedResponse` for a
  success status and a typed :class:`SpotifyAPIError` (message from the status line) for an error.

Thread safety: one :class:`ApiTransport` may be used by several threads at once. It keeps no
per-request state on itself; urllib3's connection pool is thread-safe, and spotkit never mutates
the Session (headers, cookies, adapters) after construction. Pass your own ``session`` only if you
do the same.

Debug logging (logger ``spotkit.http``): one line per request with method, path (never the query),
status and milliseconds. Headers are never logged.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests
from requests.auth import AuthBase
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from . import __version__
from .errors import (
    Forbidden,
    MalformedResponse,
    MissingScope,
    NetworkError,
    NoActiveDevice,
    NotFound,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
    SpotifyAPIError,
    Unauthorized,
)
from .logs import redact

__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiTransport",
    "RetryPolicy",
    "Timeout",
    "TokenSource",
    "error_from_response",
    "make_session",
    "parse_retry_after",
]

_log = logging.getLogger("spotkit.http")

Timeout = float | tuple[float, float]
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# where the tests replace the sleeping
_sleep = time.sleep


class TokenSource(Protocol):
    """What the client needs from the auth layer (``spotkit.auth.tokens.TokenManager`` is one).

    ``access_token()`` returns a valid access token, cheaply (from memory). ``refresh(stale)`` gets a
    new one after Spotify refused `stale`. Optionally ``require_scopes(*scopes)`` raises
    :class:`~spotkit.errors.MissingScope`; the client calls it when present.
    """

    def access_token(self) -> str: ...

    def refresh(self, stale_access_token: str | None, /) -> object: ...


class RetryPolicy:
    """How long and how often to retry. ``retries`` counts retries, not attempts.

    A plain class, like :class:`~spotkit.config.Settings`, to keep `dataclasses` off the import path.
    """

    __slots__ = ("backoff", "backoff_cap", "max_retry_wait", "retries")

    def __init__(self, retries: int = 3, max_retry_wait: float = 5.0, backoff: float = 0.5,
                 backoff_cap: float = 8.0) -> None:
        if retries < 0 or max_retry_wait < 0 or backoff < 0 or backoff_cap < 0:
            raise ValueError("retries, max_retry_wait, backoff and backoff_cap must be >= 0")
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self.backoff_cap = backoff_cap

    def __repr__(self) -> str:
        return (f"RetryPolicy(retries={self.retries}, max_retry_wait={self.max_retry_wait}, "
                f"backoff={self.backoff}, backoff_cap={self.backoff_cap})")

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, backoff * 2**attempt)]."""
        ceiling = min(self.backoff_cap, self.backoff * (2 ** min(attempt, 30)))
        return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not cryptography


class _Bearer(AuthBase):
    """Sets the Authorization header. Passing it per request also skips requests' .netrc look-up."""

    __slots__ = ("_token", "_value")

    def __init__(self, token: str) -> None:
        self._token = token
        self._value = f"Bearer {token}"

    def is_for(self, token: str) -> bool:
        return self._token == token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "_Bearer(***)"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _body_hint(content: bytes) -> str:
    head = content[:200].lstrip().lower()
    if not head:
        return "an empty body"
    if head.startswith((b"<!doctype", b"<html", b"<")):
        return "an HTML page"
    return "a body that is not valid JSON (truncated?)"


def _error_fields(resp: requests.Response) -> tuple[str, str | None]:
    """Message and reason from a Web API error body; a fallback message for anything else."""
    try:
        body = json.loads(resp.content) if resp.content else None
    except ValueError:
        body = None
        hint = _body_hint(resp.content)
    else:
        hint = "no error details" if body is None else "an unexpected error body"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        reason = error.get("reason")
        if isinstance(message, str) and message:
            return message[:500], reason if isinstance(reason, str) and reason else None
        return resp.reason or f"HTTP {resp.status_code}", reason if isinstance(reason, str) else None
    if isinstance(error, str) and error:  # accounts-service style {"error", "error_description"}
        description = body.get("error_description") if isinstance(body, dict) else None
        return (f"{error}: {description}" if isinstance(description, str) else error)[:500], None
    return f"{resp.reason or 'error'} ({hint})", None


def error_from_response(resp: requests.Response, method: str | None = None,
                        path: str | None = None) -> SpotifyAPIError:
    """The typed exception for an error answer (status >= 400)."""
    status = resp.status_code
    message, reason = _error_fields(resp)
    kwargs: dict[str, Any] = {"method": method, "path": path}
    if status == 429:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        cls = QuotaExceeded if reason == "QUOTA_EXCEEDED" else RateLimited
        return cls(status, message, reason, retry_after=retry_after, **kwargs)
    if status == 401:
        return Unauthorized(status, message, reason, **kwargs)
    if status == 403:
        cls403 = PremiumRequired if reason == "PREMIUM_REQUIRED" else Forbidden
        return cls403(status, message, reason, **kwargs)
    if status == 404:
        cls404 = NoActiveDevice if reason == "NO_ACTIVE_DEVICE" else NotFound
        return cls404(status, message, reason, **kwargs)
    if status >= 500:
        return ServerError(status, message, reason, **kwargs)
    return SpotifyAPIError(status, message, reason, **kwargs)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (so even a POST may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _log_path(path: str) -> str:
    return redact(path.split("?", 1)[0])


def make_session(api_url: str | None = None) -> requests.Session:
    """A Session with spotkit's default headers (keep-alive comes with the Session).

    The environment's proxy and CA-bundle settings (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...)
    are read once, here, for `api_url`: requests would otherwise read them again on every call,
    which costs about a quarter of a keep-alive request's client time.
    """
    import os

    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": f"spotkit/{__version__}"})
    if api_url is not None:
        session.proxies.update(requests.utils.get_environ_proxies(api_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    return session


class ApiTransport:
    """Sends Web API requests with spotkit's policy (see the module docstring)."""

    def __init__(self, api_url: str, auth: TokenSource, *, timeout: Timeout = DEFAULT_TIMEOUT,
                 policy: RetryPolicy | None = None,
                 session: requests.Session | None = None,
                 owns_session: bool | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._owns_session = session is None if owns_session is None else owns_session
        self.session = session if session is not None else make_session(self.api_url)
        self._urls: dict[str, str] = {}
        self._bearer: _Bearer | None = None
        self._require_scopes = getattr(auth, "require_scopes", None)
        # (the bearer the scopes were checked for, the scope sets checked): no token kept here
        self._scopes_checked: tuple[_Bearer | None, frozenset[tuple[str, ...]]] = (None,
                                                                                  frozenset())
        self._count_lock = threading.Lock()
        self.calls = 0

    def __repr__(self) -> str:
        return f"ApiTransport(api_url={self.api_url!r}, calls={self.calls})"

    def close(self) -> None:
        """Close the Session if this transport created it."""
        if self._owns_session:
            self.session.close()

    # --- the hot path ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.api_url + path
        return url

    def _auth_for(self, token: str) -> _Bearer:
        bearer = self._bearer
        if bearer is None or not bearer.is_for(token):
            bearer = self._bearer = _Bearer(token)
        return bearer

    def _check_scopes(self, scopes: tuple[str, ...], bearer: _Bearer) -> None:
        """Ask the token source about `scopes` once per access token (scopes come with a token)."""
        if self._require_scopes is None:
            return
        checked_for, checked = self._scopes_checked
        if checked_for is bearer and scopes in checked:
            return
        self._require_scopes(*scopes)
        base = checked if checked_for is bearer else frozenset()
        self._scopes_checked = (bearer, base | {scopes})

    def _send(self, method: str, url: str, path: str, params: Mapping[str, Any] | None,
              json_body: Any, bearer: _Bearer) -> requests.Response:
        with self._count_lock:
            self.calls += 1
        start = time.perf_counter()
        resp = self.session.request(method, url, params=params, json=json_body,
                                    auth=bearer, timeout=self.timeout)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s -> %d in %.1f ms", method, _log_path(path), resp.status_code,
                       (time.perf_counter() - start) * 1000.0)
        return resp

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, scopes: tuple[str, ...] = ()) -> Any:
        """Send `method path` (path relative to the API URL, may carry a fixed query).

        Returns the decoded JSON, or None for 204 / an empty body. Raises the typed errors of
        :mod:`spotkit.errors`.
        """
        url = self.url(path)
        policy = self.policy
        idempotent = method in _IDEMPOTENT
        token = self.auth.access_token()
        bearer = self._auth_for(token)
        if scopes:
            self._check_scopes(scopes, bearer)
        refreshed = False
        attempt = 0
        while True:
            try:
                resp = self._send(method, url, path, params, json_body, bearer)
            except requests.RequestException as exc:
                if attempt < policy.retries and (idempotent or _never_sent(exc)):
                    self._wait(policy.backoff_delay(attempt), method, path, type(exc).__name__)
                    attempt += 1
                    token = self.auth.access_token()
                    bearer = self._auth_for(token)
                    continue
                raise self._network_error(exc, method, path, attempt) from exc
            status = resp.status_code
            if status < 300:
                return self._decode(resp, method, path)
            if status == 401 and not refreshed:
                refreshed = True
                self.auth.refresh(token)
                token = self.auth.access_token()
                bearer = self._auth_for(token)
                continue
            error = error_from_response(resp, method, path)
            if attempt < policy.retries:
                delay = self._retry_delay(error, attempt, idempotent)
                if delay is not None:
                    self._wait(delay, method, path, str(status))
                    attempt += 1
                    token = self.auth.access_token()
                    bearer = self._auth_for(token)
                    continue
            if (scopes and type(error) is Forbidden
                    and "scope" in error.message.lower()):
                raise MissingScope(
                    f"Spotify refused {method} {_log_path(path)}: the login did not grant the "
                    f"scope {' '.join(scopes)}. Run `spotkit login` again with that scope.",
                    missing=scopes) from error
            raise error

    def _retry_delay(self, error: SpotifyAPIError, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait before retrying after `error`, or None to raise it now."""
        if isinstance(error, QuotaExceeded):
            return None
        if isinstance(error, RateLimited):  # never ran: safe for every method
            wait = error.retry_after
            if wait is None:
                wait = self.policy.backoff_delay(attempt)
            return wait if wait <= self.policy.max_retry_wait else None
        if isinstance(error, ServerError) and (idempotent or error.status == 503):
            return self.policy.backoff_delay(attempt)
        return None

    @staticmethod
    def _wait(seconds: float, method: str, path: str, why: str) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s: %s, retrying in %.2f s", method, _log_path(path), why, seconds)
        _sleep(seconds)

    @staticmethod
    def _decode(resp: requests.Response, method: str, path: str) -> Any:
        content = resp.content
        if resp.status_code == 204 or not content or content.isspace():
            return None
        try:
            return json.loads(content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            raise MalformedResponse(
                f"Spotify answered {resp.status_code} to {method} {_log_path(path)} with "
                f"{_body_hint(content)} instead of JSON.", status=resp.status_code) from None

    def _network_error(self, exc: requests.RequestException, method: str, path: str,
                       retries: int) -> NetworkError:
        host = self.api_url.split("://", 1)[-1].split("/", 1)[0]
        if isinstance(exc, requests.Timeout):
            what = "timed out"
        elif isinstance(exc, requests.ConnectionError):
            what = "could not connect" if _never_sent(exc) else "lost the connection"
        else:
            what = f"failed ({type(exc).__name__})"
        tries = f" after {retries + 1} attempts" if retries else ""
        maybe = ("; the command may or may not have been applied"
                 if method not in _IDEMPOTENT and not _never_sent(exc) else "")
        return NetworkError(f"{method} {_log_path(path)} to {host} {what}{tries}{maybe}. "
                            "Check your network connection and try again.")
