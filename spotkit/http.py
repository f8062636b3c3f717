"""How spotkit talks HTTP to both Spotify services: one policy, in layers, for every request.

A Web API call goes down these layers, as an httpx request goes send -> auth -> redirects ->
single request::

    ApiTransport.request      scopes, then decode the JSON or type the error
      _send_handling_auth     a 401 makes the token source refresh once; the call is sent again
        Sender.send           the retry policy: 429 / 5xx / network failures, within a deadline
          Sender._send_once   one HTTP exchange, cut off by the deadline's watchdog

The accounts service (``/api/token``) goes through the same :class:`Sender` (see
:func:`spotkit.auth.oauth.request_token`), so a 429 or 503 there is retried and typed exactly
like one from the Web API.

The policy (:class:`RetryPolicy`):

- Deadline: every request has one (:data:`DEFAULT_DEADLINE` seconds by default) that covers
  connecting, the headers and the whole body, retries and waits included. A watchdog thread shuts
  the socket of a request that outlives it, so a server that trickles its answer a byte at a
  time, or says nothing at all, fails with :class:`NetworkError` when the deadline passes. The
  (connect, read) `timeout` still bounds each socket operation.
- 429: when ``Retry-After`` (seconds or an HTTP date) is at most ``max_retry_wait`` seconds (and a
  retry and the deadline are left) wait that long and retry; otherwise raise
  :class:`RateLimited` at once with ``retry_after`` set. Spotify's ``QUOTA_EXCEEDED`` is raised at
  once as :class:`QuotaExceeded`. A 429 also blocks the whole app (client id) for every spotkit
  process through :class:`spotkit.backoff.SharedBackoff`.
- 5xx and network failures: up to ``retries`` retries, exponential backoff with full jitter
  (a random wait in ``[0, min(backoff_cap, backoff * 2**attempt)]``), then :class:`ServerError` or
  :class:`NetworkError`. Only idempotent requests (GET, PUT, DELETE) are retried whenever that is
  safe. A POST (next/previous, a token grant) is retried only when it certainly did not run: the
  connection could not be opened, a 429, or a 503 (the server refused it before work).
- A body that is not JSON (an HTML error page, truncated JSON, nothing at all where a GET needs
  JSON) is :class:`MalformedResponse` for a success status and a typed
  :class:`SpotifyAPIError` (message from the status line) for an error.
- Proxies: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` are read once per host (one
  :class:`Sender` per service), so the accounts host can bypass a proxy the Web API goes through.

Thread safety: one :class:`ApiTransport` may be used by several threads at once. It keeps no
per-request state on itself; urllib3's connection pool is thread-safe, and spotkit never mutates
the Session (headers, cookies, adapters) after construction. Pass your own ``session`` only if you
do the same; the deadline's watchdog only reaches the sockets of sessions from
:func:`make_session` (on any other, the deadline is checked between attempts).

Debug logging (logger ``spotkit.http``): one line per request with method, path (never the query),
status and milliseconds. Headers are never logged.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
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
    SpotkitError,
    Unauthorized,
)
from .logs import redact

if TYPE_CHECKING:
    from .backoff import SharedBackoff

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "ApiTransport",
    "RetryPolicy",
    "Sender",
    "Timeout",
    "TokenSource",
    "error_from_response",
    "make_session",
    "parse_retry_after",
]

_log = logging.getLogger("spotkit.http")

Timeout = float | tuple[float, float]
#: (connect, read) seconds for each socket operation.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
#: Seconds one request may take in all: connect, headers, body, retries and waits.
DEFAULT_DEADLINE = 15.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# the one sleep of spotkit's HTTP policy: where the tests replace the sleeping
_sleep: Callable[[float], object] = time.sleep


class TokenSource(Protocol):
    """What the client needs from the auth layer (``spotkit.auth.tokens.TokenManager`` is one).

    ``access_token()`` returns a valid access token, cheaply (from memory). ``refresh(stale)`` gets a
    new one after Spotify refused `stale`. Optionally ``require_scopes(*scopes)`` raises
    :class:`~spotkit.errors.MissingScope`; the client calls it when present.
    """

    def access_token(self) -> str: ...

    def refresh(self, stale_access_token: str | None, /) -> object: ...


class RetryPolicy:
    """How long and how often to retry, and the deadline of each request.

    ``retries`` counts retries, not attempts. ``deadline`` (seconds) bounds a whole request:
    connect, headers, body, retries and waits; by default :data:`DEFAULT_DEADLINE`, or
    ``max_retry_wait + 10`` when that is longer, so that a wait you allowed is not cut off.
    A plain class, like :class:`~spotkit.config.Settings`, to keep `dataclasses` off the import
    path.
    """

    __slots__ = ("backoff", "backoff_cap", "deadline", "max_retry_wait", "retries")

    def __init__(self, retries: int = 3, max_retry_wait: float = 5.0, backoff: float = 0.5,
                 backoff_cap: float = 8.0, deadline: float | None = None) -> None:
        if retries < 0 or max_retry_wait < 0 or backoff < 0 or backoff_cap < 0:
            raise ValueError("retries, max_retry_wait, backoff and backoff_cap must be >= 0")
        if deadline is None:
            deadline = max(DEFAULT_DEADLINE, max_retry_wait + 10.0)
        if not deadline > 0 or not math.isfinite(deadline):
            raise ValueError(f"deadline must be a number of seconds > 0, not {deadline!r}")
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.deadline = float(deadline)

    def __repr__(self) -> str:
        return (f"RetryPolicy(retries={self.retries}, max_retry_wait={self.max_retry_wait}, "
                f"backoff={self.backoff}, backoff_cap={self.backoff_cap}, "
                f"deadline={self.deadline})")

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, backoff * 2**attempt)]."""
        ceiling = min(self.backoff_cap, self.backoff * (2 ** min(attempt, 30)))
        return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not cryptography


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


# --- the deadline -----------------------------------------------------------------------------


class Deadline:
    """The moment (monotonic clock) a request must be over by."""

    __slots__ = ("end", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def allows(self, wait: float) -> bool:
        """True when waiting `wait` seconds still leaves time for another attempt."""
        return wait + 0.05 < self.remaining()

    def cap(self, timeout: Timeout) -> tuple[float, float]:
        """`timeout` as (connect, read), neither beyond what is left of the deadline."""
        left = max(0.001, self.remaining())
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        return min(connect, left), min(read, left)


class _Guard:
    """One exchange under watch: the connection it uses, and whether the watchdog cut it off."""

    __slots__ = ("conn", "done", "end", "fired", "lock")

    def __init__(self, end: float) -> None:
        self.end = end
        self.conn: HTTPConnection | None = None
        self.fired = False
        self.done = False
        self.lock = threading.Lock()

    def finish(self) -> None:
        with self.lock:
            self.done = True

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.fired = True
            sock = getattr(self.conn, "sock", None)
        if sock is not None:
            # wakes a recv() blocked in another thread; the connection is dropped after
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that cuts off the exchanges that outlive their deadline.

    It sleeps until the earliest deadline and is woken only when a new one is earlier than that,
    so a stream of requests that finish in time costs a heap push each and no thread switch.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._waking_at = math.inf

    def watch(self, guard: _Guard) -> None:
        with self._cond:
            heap = self._heap
            while heap and heap[0][2].done:
                heapq.heappop(heap)
            heapq.heappush(heap, (guard.end, next(self._seq), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="spotkit-http-deadline",
                                                daemon=True)
                self._thread.start()
            elif guard.end < self._waking_at:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    self._waking_at = math.inf
                    self._cond.wait()
                    continue
                end = heap[0][0]
                wait = end - time.monotonic()
                if wait > 0:
                    self._waking_at = end
                    self._cond.wait(wait)
                    continue
                guard = heapq.heappop(heap)[2]
                guard.fire()


_watchdog = _Watchdog()
_local = threading.local()


def _attach(conn: HTTPConnection) -> None:
    guard: _Guard | None = getattr(_local, "guard", None)
    if guard is not None:
        guard.conn = conn
        if guard.fired:
            raise TimeoutError("the request's deadline has passed")


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same watching; super() reaches HTTPSConnection's connect and request first."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections the deadline's watchdog can cut off."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def make_session(api_url: str | None = None) -> requests.Session:
    """A Session with spotkit's default headers, keep-alive and the deadline's watchdog.

    It does not read the environment on every call (``trust_env`` is off: requests would read
    proxies and ``.netrc`` again each time, a quarter of a keep-alive call's client time). The
    CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) is read here; proxies are read once per host
    by each :class:`Sender`. `api_url` is accepted for compatibility and not needed.
    """
    import os

    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": f"spotkit/{__version__}"})
    adapter = _DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def proxies_for(url: str) -> dict[str, str]:
    """The environment's proxies for `url`'s host ({} when NO_PROXY lists it or none is set)."""
    return {k: v for k, v in requests.utils.get_environ_proxies(url).items() if k != "no"}


# --- errors -----------------------------------------------------------------------------------


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
        text = f"{error}: {description}" if isinstance(description, str) else error
        return redact(text)[:500], None
    return f"{resp.reason or 'error'} ({hint})", None


def error_from_response(resp: requests.Response, method: str | None = None,
                        path: str | None = None) -> SpotifyAPIError:
    """The typed exception for an error answer (status >= 400) from either Spotify service."""
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


# --- the retry layer --------------------------------------------------------------------------


class Sender:
    """Sends requests to one Spotify service (one host) with spotkit's retry policy and deadline.

    `base_url` is the service's address (its host picks the proxies, read once here). `backoff`,
    when given, is consulted before every attempt and told of every 429 (see
    :class:`spotkit.backoff.SharedBackoff`). `calls` counts the HTTP exchanges sent.
    """

    def __init__(self, base_url: str, session: requests.Session, *,
                 policy: RetryPolicy | None = None, timeout: Timeout = DEFAULT_TIMEOUT,
                 backoff: SharedBackoff | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self.session = session
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.backoff = backoff
        # a session that reads the environment itself (trust_env) is left to do so
        self.proxies: dict[str, str] | None = (None if session.trust_env
                                               else proxies_for(self.base_url) or None)
        self._count_lock = threading.Lock()
        self.calls = 0

    def __repr__(self) -> str:
        return f"Sender({self.base_url!r}, calls={self.calls})"

    def send(self, method: str, url: str, *, path: str, deadline: Deadline | None = None,
             **kwargs: Any) -> requests.Response:
        """Send with retries; the last answer (whatever its status) or NetworkError/RateLimited.

        `path` names the request in logs and errors (never its query). A 429 or 5xx comes back
        as a response once no retry is allowed; a 429 whose wait is too long comes back at once.
        Raises :class:`NetworkError` when the server cannot be reached or the deadline passes,
        and :class:`RateLimited` when the app is blocked by another process's 429.
        """
        policy = self.policy
        deadline = deadline or Deadline(policy.deadline)
        idempotent = method in _IDEMPOTENT
        attempt = 0
        waited_out = False  # True right after waiting for a 429: that block is over
        while True:
            # the message is built only when blocked: this runs before every request
            if self.backoff is not None and not waited_out and self.backoff.remaining() > 0:
                self.backoff.wait_or_raise(policy.max_retry_wait, deadline=deadline.remaining(),
                                           sleep=_sleep, what=f"{method} {_log_path(path)}")
            try:
                resp = self._send_once(method, url, path, deadline, kwargs)
            except _DeadlinePassed as exc:
                raise self._deadline_error(method, path, deadline, attempt) from exc.__cause__
            except requests.RequestException as exc:
                if attempt < policy.retries and (idempotent or _never_sent(exc)):
                    delay = policy.backoff_delay(attempt)
                    if deadline.allows(delay):
                        self._wait(delay, method, path, type(exc).__name__)
                        waited_out = False
                        attempt += 1
                        continue
                raise self._network_error(exc, method, path, attempt) from exc
            status = resp.status_code
            if status != 429 and status < 500:
                return resp
            error = error_from_response(resp, method, _log_path(path))
            if isinstance(error, RateLimited) and self.backoff is not None \
                    and error.retry_after is not None and not isinstance(error, QuotaExceeded):
                self.backoff.block(error.retry_after)
            retry_in = self._retry_delay(error, attempt, idempotent)
            if retry_in is None or attempt >= policy.retries or not deadline.allows(retry_in):
                return resp
            self._wait(retry_in, method, path, str(status))
            waited_out = status == 429
            attempt += 1

    def _send_once(self, method: str, url: str, path: str, deadline: Deadline,
                   kwargs: Mapping[str, Any]) -> requests.Response:
        """One exchange, cut off by the watchdog when the deadline passes."""
        if deadline.remaining() <= 0:
            raise _DeadlinePassed
        with self._count_lock:
            self.calls += 1
        guard = _Guard(deadline.end)
        _local.guard = guard
        _watchdog.watch(guard)
        start = time.perf_counter()
        try:
            resp = self.session.request(method, url, timeout=deadline.cap(self.timeout),
                                        proxies=self.proxies, **kwargs)
        except (requests.RequestException, OSError) as exc:
            if guard.fired or deadline.remaining() <= 0:
                raise _DeadlinePassed from exc
            if isinstance(exc, requests.RequestException):
                raise
            raise requests.ConnectionError(exc) from exc
        finally:
            guard.finish()
            _local.guard = None
        if guard.fired:  # cut off mid-answer: what arrived is not the answer (headers or body)
            resp.close()
            raise _DeadlinePassed
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s -> %d in %.1f ms", method, _log_path(path), resp.status_code,
                       (time.perf_counter() - start) * 1000.0)
        return resp

    def _retry_delay(self, error: SpotifyAPIError, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait before retrying after `error`, or None to give it back now."""
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

    def _deadline_error(self, method: str, path: str, deadline: Deadline,
                        retries: int) -> NetworkError:
        tries = f" ({retries + 1} attempts)" if retries else ""
        maybe = ("; the command may or may not have been applied"
                 if method not in _IDEMPOTENT else "")
        return NetworkError(f"{method} {_log_path(path)} to {self.host} did not finish within "
                            f"its {deadline.seconds:g} s deadline{tries}{maybe}: the server is "
                            "not answering, or answering too slowly. Check your network "
                            "connection and try again.")

    def _network_error(self, exc: requests.RequestException, method: str, path: str,
                       retries: int) -> NetworkError:
        if isinstance(exc, requests.exceptions.ProxyError):
            what = "failed at the proxy (check HTTPS_PROXY / NO_PROXY)"
        elif isinstance(exc, requests.Timeout):
            what = "timed out"
        elif isinstance(exc, requests.ConnectionError):
            what = "could not connect" if _never_sent(exc) else "lost the connection"
        else:
            what = f"failed ({type(exc).__name__})"
        tries = f" after {retries + 1} attempts" if retries else ""
        maybe = ("; the command may or may not have been applied"
                 if method not in _IDEMPOTENT and not _never_sent(exc) else "")
        return NetworkError(f"{method} {_log_path(path)} to {self.host} {what}{tries}{maybe}. "
                            "Check your network connection and try again.")


class _DeadlinePassed(Exception):
    """Internal: the watchdog cut the exchange off, or no time was left to start one."""


# --- the auth layer and the Web API -----------------------------------------------------------


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


class ApiTransport:
    """Sends Web API requests with spotkit's policy (see the module docstring)."""

    def __init__(self, api_url: str, auth: TokenSource, *, timeout: Timeout = DEFAULT_TIMEOUT,
                 policy: RetryPolicy | None = None,
                 session: requests.Session | None = None,
                 owns_session: bool | None = None,
                 backoff: SharedBackoff | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self._owns_session = session is None if owns_session is None else owns_session
        self.session = session if session is not None else make_session()
        self.sender = Sender(self.api_url, self.session, policy=policy, timeout=timeout,
                             backoff=backoff)
        self._urls: dict[str, str] = {}
        self._bearer: _Bearer | None = None
        self._require_scopes = getattr(auth, "require_scopes", None)
        # (the bearer the scopes were checked for, the scope sets checked): no token kept here
        self._scopes_checked: tuple[_Bearer | None, frozenset[tuple[str, ...]]] = (None,
                                                                                  frozenset())

    def __repr__(self) -> str:
        return f"ApiTransport(api_url={self.api_url!r}, calls={self.calls})"

    @property
    def policy(self) -> RetryPolicy:
        return self.sender.policy

    @property
    def timeout(self) -> Timeout:
        return self.sender.timeout

    @property
    def backoff(self) -> SharedBackoff | None:
        """The app's cross-process back-off (None when the app's client id is unknown)."""
        return self.sender.backoff

    @property
    def calls(self) -> int:
        return self.sender.calls

    def close(self) -> None:
        """Close the Session if this transport created it."""
        if self._owns_session:
            self.session.close()

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

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, scopes: tuple[str, ...] = ()) -> Any:
        """Send `method path` (path relative to the API URL, may carry a fixed query).

        Returns the decoded JSON, or None for 204 (or an empty answer to a command). Raises the
        typed errors of :mod:`spotkit.errors`.
        """
        token = self.auth.access_token()
        bearer = self._auth_for(token)
        if scopes:
            self._check_scopes(scopes, bearer)
        resp = self._send_handling_auth(method, path, params, json_body, token)
        if resp.status_code >= 400:
            raise self._typed_error(resp, method, path, scopes)
        return self._decode(resp, method, path)

    def _send_handling_auth(self, method: str, path: str, params: Mapping[str, Any] | None,
                            json_body: Any, token: str) -> requests.Response:
        """The auth layer: a 401 makes the token source refresh once, and the call goes again."""
        deadline = Deadline(self.sender.policy.deadline)
        url = self.url(path)
        resp = self.sender.send(method, url, path=path, deadline=deadline, params=params,
                                json=json_body, auth=self._auth_for(token))
        if resp.status_code != 401:
            return resp
        self.auth.refresh(token)
        token = self.auth.access_token()
        return self.sender.send(method, url, path=path, deadline=deadline, params=params,
                                json=json_body, auth=self._auth_for(token))

    @staticmethod
    def _typed_error(resp: requests.Response, method: str, path: str,
                     scopes: tuple[str, ...]) -> SpotkitError:
        error = error_from_response(resp, method, _log_path(path))
        if scopes and type(error) is Forbidden and "scope" in error.message.lower():
            missing = MissingScope(
                f"Spotify refused {method} {_log_path(path)}: the login did not grant the "
                f"scope {' '.join(scopes)}. Run `spotkit login` again with that scope.",
                missing=scopes)
            missing.__cause__ = error
            return missing
        return error

    @staticmethod
    def _decode(resp: requests.Response, method: str, path: str) -> Any:
        content = resp.content
        if resp.status_code == 204:
            return None
        if not content or content.isspace():
            if method == "GET":
                raise MalformedResponse(
                    f"Spotify answered {resp.status_code} to GET {_log_path(path)} with an empty "
                    "body instead of JSON. Try again; if it persists, Spotify may be having "
                    "problems.", status=resp.status_code)
            return None
        try:
            return json.loads(content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            raise MalformedResponse(
                f"Spotify answered {resp.status_code} to {method} {_log_path(path)} with "
                f"{_body_hint(content)} instead of JSON.", status=resp.status_code) from None

