"""TokenManager: hands out a valid access token and refreshes it once, however many ask at once.

The client never touches the cache or the token endpoint itself. It calls :meth:`TokenManager.token`
(or :meth:`~TokenManager.access_token`) before each request, and after a 401 calls
:meth:`TokenManager.refresh` with the access token that was refused, then retries once.

Single flight: a refresh holds a per-cache :class:`threading.Lock` (threads of this process) and
the cache's file lock (other processes), then re-reads the cache. When the token there is no longer
the stale one and is fresh, someone else refreshed already and that token is returned without a
request. So N threads in M processes that find the same expired token cause exactly one refresh.

Writes that fail: when the refreshed tokens cannot be written (read-only folder, full disk), the
manager keeps using them from memory (a rotated refresh token is never lost), warns once naming
the cache, and retries the write on later calls (at most every :data:`SAVE_RETRY_SECONDS`).

The login's end: a refresh token lasts six months from the sign-in (:attr:`Token.valid_until`);
within :data:`~spotkit.auth.token.LOGIN_WARNING_DAYS` of it the manager warns once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import requests

from ..config import Settings, load_settings
from ..errors import AuthError, LoginRequired, MalformedResponse, MissingScope
from ..logs import logger
from .cache import CachedLogin, TokenCache
from .token import Token

if TYPE_CHECKING:
    from ..backoff import SharedBackoff
    from ..http import RetryPolicy, Sender

__all__ = ["SAVE_RETRY_SECONDS", "TokenManager"]

#: After a failed write of refreshed tokens, seconds before the next attempt.
SAVE_RETRY_SECONDS = 30.0

_REFRESH_LOCKS: dict[str, threading.Lock] = {}
_REFRESH_LOCKS_GUARD = threading.Lock()


@contextmanager
def _process_lock(cache: TokenCache, timeout: float) -> Iterator[None]:
    """The in-process half of single flight: one lock per cache file, shared by every manager."""
    key = str(cache.path.absolute())
    with _REFRESH_LOCKS_GUARD:
        lock = _REFRESH_LOCKS.setdefault(key, threading.Lock())
    if not lock.acquire(timeout=timeout):
        raise AuthError(f"Another thread has been refreshing the token for more than {timeout:g} s; "
                        "try again.")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _file_lock(cache: TokenCache) -> Iterator[None]:
    """The cross-process half of single flight, when the folder lets us create the lock file."""
    with ExitStack() as stack:
        try:
            stack.enter_context(cache.lock())
        except OSError as exc:  # a read-only folder: refresh anyway, one process at a time here
            logger.debug("token cache lock unavailable (%s); refreshing without it",
                         exc.strerror or type(exc).__name__)
        yield


class TokenManager:
    """Valid tokens for one app (client id) and one user, from the cache at `settings.cache_path`.

    `margin` is how many seconds before expiry a token is refreshed proactively. `user_id` picks
    a user when several logged in with this app (default: the one who logged in last). `session`
    and `policy` are used for the accounts service (spotkit's one HTTP policy; the accounts host
    gets its own proxy settings). `backoff` is the app's
    :class:`~spotkit.backoff.SharedBackoff`, consulted before and told of a 429 from the token
    endpoint like the Web API's: by default the one beside the token cache; False or None: none.
    """

    def __init__(self, settings: Settings | None = None, cache: TokenCache | None = None,
                 session: requests.Session | None = None, *, user_id: str | None = None,
                 margin: float = 60.0, policy: RetryPolicy | None = None,
                 backoff: SharedBackoff | bool | None = True) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.client_id = self.settings.require_client_id()
        self.cache = cache if cache is not None else TokenCache(self.settings.cache_path)
        self.session = session
        self.policy = policy
        if backoff is True:
            from ..backoff import SharedBackoff

            backoff = SharedBackoff.for_app(self.settings)
        self.backoff: SharedBackoff | None = backoff or None
        self.margin = margin
        self._user_id = user_id
        self._display_name: str | None = None
        self._current: Token | None = None
        self._lock_timeout = max(self.cache.lock_timeout, 30.0)
        self._sender: Sender | None = None
        # a refreshed login the cache could not take, kept here until a write succeeds
        self._unsaved: CachedLogin | None = None
        self._next_save = 0.0
        self._warned_save = False
        self._warned_end = False

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self.client_id!r}, cache={str(self.cache.path)!r})"

    # --- what the client uses -------------------------------------------------------------------

    def token(self) -> Token:
        """A token valid for at least `margin` seconds; refreshes first when needed.

        Raises LoginRequired when nobody logged in (or the login was revoked or expired).
        """
        current = self._current
        if current is None:
            current = self._adopt(self._load_entry())
        if self._unsaved is not None and time.monotonic() >= self._next_save:
            self._save_unsaved()
        if current.expired(self.margin):
            return self.refresh(current.access_token)
        return current

    def access_token(self) -> str:
        """The access token of :meth:`token`, for an `Authorization: Bearer` header."""
        return self.token().access_token

    def refresh(self, stale_access_token: str | None = None) -> Token:
        """Get a new access token, unless another thread or process already did.

        `stale_access_token` is the token that was refused (a 401) or found expired; default: the
        one this manager holds. If the cache already holds a different, fresh token, that one is
        returned and no request is sent.
        """
        with _process_lock(self.cache, self._lock_timeout), _file_lock(self.cache):
            # while the cache could not take our last refresh, memory holds the newest login
            entry = self._unsaved if self._unsaved is not None else self._load_entry()
            cached = entry.token
            stale = stale_access_token
            if stale is None:
                stale = self._current.access_token if self._current else cached.access_token
            if cached.access_token != stale and not cached.expired(self.margin):
                logger.debug("token already refreshed by another thread or process")
                return self._adopt(entry)
            if not cached.refresh_token:
                raise LoginRequired("The cached token cannot be refreshed (it has no refresh "
                                    "token). Run `spotkit login` to log in again.")
            from .oauth import refresh_access_token  # not needed while the cached token is valid

            answer = refresh_access_token(self.settings, cached.refresh_token,
                                          sender=self.accounts_sender())
            try:
                new = Token.from_response(answer, previous=cached)
            except ValueError as exc:
                raise MalformedResponse(f"Spotify's token endpoint sent a bad answer ({exc}).",
                                        status=200) from None
            rotated = new.refresh_token != cached.refresh_token
            refreshed = CachedLogin(entry.client_id, entry.user_id, new, entry.display_name)
            self._unsaved = refreshed
            self._save_unsaved()
            logger.debug("access token refreshed (refresh token %s)",
                         "rotated" if rotated else "kept")
            return self._adopt(refreshed)

    def accounts_sender(self) -> Sender:
        """The :class:`~spotkit.http.Sender` for the accounts service (made once)."""
        if self._sender is None:
            from .oauth import accounts_sender

            self._sender = accounts_sender(self.settings, session=self.session,
                                           policy=self.policy, backoff=self.backoff)
        return self._sender

    @property
    def unsaved(self) -> bool:
        """True while refreshed tokens are held in memory because the cache could not be written."""
        return self._unsaved is not None

    def _save_unsaved(self) -> None:
        """Write the login held in memory; on failure keep it, warn once, retry later."""
        pending = self._unsaved
        if pending is None:
            return
        try:
            self.cache.save(self.client_id, pending.user_id, pending.token, make_current=False)
        except OSError as exc:
            self._next_save = time.monotonic() + SAVE_RETRY_SECONDS
            if not self._warned_save:
                self._warned_save = True
                logger.warning(
                    "could not save the refreshed Spotify login to %s (%s); spotkit keeps using "
                    "it from memory and will retry the write. Make the folder writable (or free "
                    "disk space) so that other spotkit processes and the next session stay "
                    "logged in.", self.cache.path, exc.strerror or type(exc).__name__)
            return
        if self._unsaved is pending:
            self._unsaved = None
        if self._warned_save:
            logger.warning("the refreshed Spotify login is now saved to %s", self.cache.path)
            self._warned_save = False

    def require_scopes(self, *scopes: str) -> Token:
        """The token, if it was granted every scope in `scopes`; else MissingScope naming them."""
        token = self.token()
        missing = token.missing_scopes(scopes)
        if not missing:
            return token
        names = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        if all(s in self.settings.scopes for s in missing):
            advice = "Run `spotkit login` again to grant it (your configured scopes include it)."
        else:
            wanted = " ".join(dict.fromkeys((*self.settings.scopes, *missing)))
            advice = (f"Log in again with it: spotkit login --scopes {wanted} (or add it to "
                      "SPOTKIT_SCOPES).")
        raise MissingScope(f"The cached login was not granted the scope{plural} {names}, which "
                           f"this call needs. {advice}", missing=missing)

    # --- who is logged in -----------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The Spotify user id of the cached login (None if nobody logged in)."""
        if self._user_id is not None:
            return self._user_id
        return self.cache.current_user(self.client_id)

    @property
    def display_name(self) -> str | None:
        """The display name recorded at login, if any."""
        if self._display_name is None:
            entry = self.cache.load_entry(self.client_id, self._user_id)
            if entry is not None:
                self._display_name = entry.display_name
        return self._display_name

    def logout(self) -> CachedLogin | None:
        """Remove this user's token from the cache; returns what was removed (None if nothing)."""
        removed = self.cache.remove(self.client_id, self._user_id)
        self._current = None
        self._unsaved = None
        return removed

    # --- internals ------------------------------------------------------------------------------

    def _load_entry(self) -> CachedLogin:
        entry = self.cache.load_entry(self.client_id, self._user_id)
        if entry is None:
            raise LoginRequired(f"No Spotify login is cached for the app {self.client_id} in "
                                f"{self.cache.path}. Run `spotkit login` (or spotkit.login() in "
                                "a notebook).")
        return entry

    def _adopt(self, entry: CachedLogin) -> Token:
        self._user_id = entry.user_id
        if entry.display_name is not None:
            self._display_name = entry.display_name
        self._current = entry.token
        if not self._warned_end and entry.token.login_ends_soon():
            self._warned_end = True
            until = entry.token.valid_until
            logger.warning("your Spotify login ends on %s (six months after you signed in); run "
                           "`spotkit login` before then to stay logged in.",
                           until.strftime("%Y-%m-%d") if until else "?")
        return entry.token
