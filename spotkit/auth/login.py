"""Logging in: :func:`login` (blocking, bounded by a timeout) and :class:`LoginFlow` (non-blocking).

A :class:`LoginFlow` is one login attempt: a fresh `state`, a PKCE pair, the authorize URL and a
loopback listener. The code is exchanged, the user's profile read and the token cached *before*
the browser's page is written, so the page tells the truth. The flow ends exactly once, on
success, denial, failure, :meth:`~LoginFlow.cancel` or timeout, and its socket is always closed.

Threads: the listener serves in daemon threads; `on_done` callbacks run in the thread that ended
the flow (a listener thread after a browser callback, the timer thread on timeout, the caller's
thread for `cancel()` and `complete_from_url()`). Keep callbacks short and do not block in them.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from .. import _runtime
from ..config import Settings, load_settings
from ..errors import (
    AuthError,
    LoginCancelled,
    LoginDenied,
    LoginTimeout,
    MalformedResponse,
    SpotkitError,
    StateMismatch,
    Unauthorized,
)
from ..http import ApiTransport, RetryPolicy, make_session
from ..logs import logger
from . import oauth
from .cache import TokenCache
from .listener import Callback, LoopbackListener, Page
from .token import Token

__all__ = ["DoneCallback", "LoginFlow", "fetch_profile", "login"]

DoneCallback = Callable[[Token | None, BaseException | None], object]

_POLL = 0.05  # seconds between two looks of LoginFlow.wait at whether the flow ended


class _GrantedToken:
    """The token source of a login's first call: the token just granted, nothing to refresh."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def access_token(self) -> str:
        return self._token

    def refresh(self, stale_access_token: str | None, /) -> None:
        raise Unauthorized(401, "Spotify refused the token it has just granted", method="GET",
                           path="/me")


def fetch_profile(settings: Settings, access_token: str, *,
                  session: requests.Session | None = None) -> dict[str, Any]:
    """GET {api_url}/me with `access_token`: the user's id and display name (a tiny request).

    The same request, through the same policy, as :meth:`spotkit.Spotify.me`.
    """
    transport = ApiTransport(settings.api_url, _GrantedToken(access_token), session=session,
                             policy=RetryPolicy(retries=1))
    try:
        body = transport.request("GET", "/me")
    finally:
        transport.close()
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise MalformedResponse("GET /me answered without a user id.", status=200)
    return body


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - login() talks to the user on stdout


class LoginFlow:
    """One login attempt, usable without blocking (the notebook login button uses it).

    ::

        flow = LoginFlow(settings)        # a fresh state and PKCE pair; nothing bound yet
        flow.on_done(lambda token, error: ...)
        flow.start(timeout=300)           # binds the loopback listener (PortInUse if taken)
        print(flow.authorize_url)         # open it in a browser
        token = flow.wait(60)             # or poll flow.done, then flow.result()

    Remote kernels, where the browser cannot reach this machine's loopback address: paste the
    address the browser ends on into :meth:`complete_from_url`.

    Raises :class:`~spotkit.errors.AuthError` at once, naming the path, when the token cache
    cannot be written (a read-only folder, a path under a file), before any browser is opened.
    """

    def __init__(self, settings: Settings | None = None,
                 scopes: Iterable[str] | str | None = None, show_dialog: bool = False, *,
                 cache: TokenCache | None = None, session: requests.Session | None = None,
                 pkce: bool | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.client_id = self.settings.require_client_id()
        if scopes is None:
            self.scopes: tuple[str, ...] = self.settings.scopes
        elif isinstance(scopes, str):
            self.scopes = tuple(scopes.replace(",", " ").split())
        else:
            self.scopes = tuple(scopes)
        self.cache = cache if cache is not None else TokenCache(self.settings.cache_path)
        # before anyone is sent to the browser: a login that could not be saved is no login
        self.cache.check_writable()
        self.session = session
        use_pkce = self.settings.uses_pkce if pkce is None else pkce
        if not use_pkce and self.settings.uses_pkce:
            raise ValueError("PKCE is required when no client secret is configured")
        self._pkce = oauth.PKCE.generate() if use_pkce else None
        self._state = oauth.new_state()
        self.authorize_url = oauth.build_authorize_url(
            self.settings, state=self._state, scopes=self.scopes, pkce=self._pkce,
            show_dialog=show_dialog)
        #: set after success: the Spotify user who logged in, and their profile (``GET /me``)
        self.display_name: str | None = None
        self.user_id: str | None = None
        self.profile: dict[str, Any] | None = None
        #: seconds spent after the callback arrived: exchange, profile, cache, total
        self.timings: dict[str, float] = {}
        self._lock = threading.Lock()
        self._finished = False
        self._claimed = False
        self._done = threading.Event()
        self._token: Token | None = None
        self._error: BaseException | None = None
        self._callbacks: list[DoneCallback] = []
        self._listener: LoopbackListener | None = None
        self._timer: threading.Timer | None = None
        self._pending: tuple[Token | None, BaseException | None] = (None, None)

    def __repr__(self) -> str:
        if not self._finished:
            status = "waiting" if self._listener is not None else "new"
        elif self._error is not None:
            status = f"failed: {type(self._error).__name__}"
        else:
            status = f"logged in as {self.display_name!r}"
        return f"LoginFlow({status})"

    # --- driving it ---------------------------------------------------------------------------

    def start(self, timeout: float | None = 300) -> LoginFlow:
        """Bind the loopback listener and serve in the background; returns at once.

        After `timeout` seconds (None: never) the flow ends with LoginTimeout. Raises PortInUse
        when the redirect URI's port is taken, ConfigError when it is not a loopback URI.
        """
        with self._lock:
            if self._finished:
                raise AuthError("This login has already ended; start a new one.")
            if self._listener is not None:
                return self
            listener = LoopbackListener(self.settings.redirect_uri, self._state,
                                        self._on_callback, self._on_page_sent)
            listener.start()
            self._listener = listener
            if timeout is not None:
                timer = threading.Timer(timeout, self._expire, args=(timeout,))
                timer.daemon = True
                timer.start()
                self._timer = timer
            _runtime.stop_at_exit(self)
        return self

    def wait(self, timeout: float | None = None) -> Token:
        """Block until the flow ends (at most `timeout` seconds) and return the token.

        Raises what ended the flow (LoginDenied, LoginCancelled, ...). When `timeout` passes
        first, the flow ends with LoginTimeout. Ctrl-C (a notebook interrupt) cancels the flow.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            if not self._sleep_until_done(deadline):
                self._expire(timeout or 0.0)
                # a callback being handled, or another thread closing up, ends it soon:
                # the exchange's requests are bounded by their own timeouts
                self._sleep_until_done(time.monotonic() + 60)
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self.result()

    def _sleep_until_done(self, deadline: float | None) -> bool:
        """Sleep until the flow ends (True) or the monotonic `deadline` passes (False).

        Polls instead of blocking in ``self._done.wait()``: Ctrl-C raises in the sleeping thread,
        and a KeyboardInterrupt that lands inside Event.wait, as its lock is taken, can leave
        that lock held (CPython's with-statement gap); cancel()'s Event.set() would then block
        for ever and the process never end.
        """
        while not self._done.is_set():
            left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if left <= 0:
                return False
            time.sleep(left)
        return True

    def cancel(self) -> None:
        """End the flow with LoginCancelled (no-op once it ended) and close the listener."""
        self._finish(None, LoginCancelled("The login was cancelled."))

    def stop(self, timeout: float | None = None) -> None:
        """Same as :meth:`cancel` (so the flow ends at interpreter exit like every thread owner)."""
        self.cancel()

    def run(self, open_browser: bool | Callable[[str], object] = True,
            timeout: float = 300) -> Token:
        """Start, print the authorize URL on a line of its own, open a browser, wait.

        `open_browser` may be a callable that gets the URL (e.g. something that plays the
        browser in tests and tutorials). Returns the token; raises what ended the flow.
        """
        self.start(timeout=timeout)
        _say("Log in to Spotify in your browser. If no browser opens, visit this address:")
        _say(self.authorize_url)
        try:
            if callable(open_browser):
                open_browser(self.authorize_url)
            elif open_browser and _runtime.open_in_browser(self.authorize_url) is None:
                _say("(No browser found here: open the address above on this machine.)")
        except BaseException:
            self.cancel()
            raise
        return self.wait(timeout)

    # --- state ----------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the flow ended (successfully or not); the listener is closed by then."""
        return self._done.is_set()

    def result(self) -> Token:
        """The token after success; raises the error after a failure, AuthError while running."""
        if not self._done.is_set():
            raise AuthError("The login has not finished yet: call wait(), or check done first.")
        if self._error is not None:
            raise self._error
        if self._token is None:  # pragma: no cover - _finish always sets one of the two
            raise AuthError("The login ended without a token.")
        return self._token

    def exception(self) -> BaseException | None:
        """What ended the flow, or None (after success, or while it is still running)."""
        return self._error if self._done.is_set() else None

    def on_done(self, callback: DoneCallback) -> None:
        """Call `callback(token, error)` once the flow ends (at once if it already has).

        It runs in the thread that ended the flow (see the module doc); exceptions are logged.
        """
        with self._lock:
            if not self._finished:
                self._callbacks.append(callback)
                return
        self._run_callback(callback)

    # --- completing -----------------------------------------------------------------------------

    def complete_from_url(self, pasted_url: str) -> Token:
        """Finish with the address the browser ended on (for when the callback cannot arrive).

        Accepts the full redirect address or just its query. A wrong state raises StateMismatch
        and the flow goes on; otherwise the code is exchanged and the flow ends.
        """
        text = pasted_url.strip()
        query = urlsplit(text).query if "?" in text else text.lstrip("?")
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items() if v}
        state = params.get("state")
        if state is None or not hmac.compare_digest(state.encode(), self._state.encode()):
            raise StateMismatch("The pasted address does not belong to this login (its state "
                                "does not match). Paste the address the browser shows after you "
                                "agree on the page of this login's URL.")
        if not params.get("code") and not params.get("error"):
            raise AuthError("The pasted address carries no code: paste the whole address the "
                            "browser ends on after you agree.")
        if self._done.is_set():
            return self.result()
        page = self._on_callback(Callback(code=params.get("code") or None,
                                          error=params.get("error") or None,
                                          error_description=params.get("error_description")))
        if page.status != 409:
            self._on_page_sent()
        return self.wait(60)

    def _claim(self) -> bool:
        with self._lock:
            if self._finished or self._claimed:
                return False
            self._claimed = True
            return True

    def _on_callback(self, callback: Callback) -> Page:
        """Runs in a listener thread for the first callback with the right state."""
        if not self._claim():
            return Page(409, "Login already finished",
                        "This login has already ended (or was cancelled or timed out). "
                        "Start a new one if you are not logged in.")
        if callback.error is not None:
            denied = self._denied(callback.error, callback.error_description)
            self._pending = (None, denied)
            return Page(403, "Login cancelled", f"{denied} You can close this tab.")
        if callback.code is None:  # pragma: no cover - the listener checks this
            self._pending = (None, AuthError("The callback carried no code."))
            return Page(400, "Login failed", "The callback carried no code.")
        try:
            token = self._exchange(callback.code)
        except SpotkitError as exc:
            self._pending = (None, exc)
            return Page(502, "Login failed", f"{exc} You can close this tab.")
        except Exception as exc:
            logger.debug("login: unexpected failure", exc_info=True)
            error = AuthError(f"The login failed unexpectedly ({type(exc).__name__}).")
            self._pending = (None, error)
            return Page(500, "Login failed", str(error))
        self._pending = (token, None)
        return Page(200, "Logged in", f"You are logged in as {self.display_name}. You can close "
                                      "this tab and go back to spotkit.")

    def _on_page_sent(self) -> None:
        token, error = self._pending
        self._pending = (None, None)
        if token is None and error is None:
            return
        self._finish(token, error)

    def _exchange(self, code: str) -> Token:
        if self.session is not None:
            return self._exchange_with(code, self.session)
        with make_session() as session:  # one keep-alive Session for the token and the profile
            return self._exchange_with(code, session)

    def _exchange_with(self, code: str, session: requests.Session) -> Token:
        started = time.perf_counter()
        answer = oauth.exchange_code(
            self.settings, code, code_verifier=self._pkce.verifier if self._pkce else None,
            session=session)
        try:
            token = Token.from_response(answer)
        except ValueError as exc:
            raise MalformedResponse(f"Spotify's token endpoint sent a bad answer ({exc}).",
                                    status=200) from None
        if not token.scope:
            token = replace(token, scope=self.scopes)
        exchanged = time.perf_counter()
        profile = fetch_profile(self.settings, token.access_token, session=session)
        user_id = str(profile["id"])
        name = profile.get("display_name")
        display = name if isinstance(name, str) and name else user_id
        profiled = time.perf_counter()
        self.cache.save(self.client_id, user_id, token, display_name=display)
        cached = time.perf_counter()
        self.user_id, self.display_name, self.profile = user_id, display, profile
        self.timings = {"exchange": exchanged - started, "profile": profiled - exchanged,
                        "cache": cached - profiled, "total": cached - started}
        logger.debug("login: token cached for user %s in %.1f ms", user_id,
                     self.timings["total"] * 1000)
        return token

    @staticmethod
    def _denied(error: str, description: str | None) -> LoginDenied:
        if error == "access_denied":
            return LoginDenied("You declined the authorization on Spotify's page "
                               "(access_denied). Log in again and press Agree to use spotkit.")
        detail = f"{error}: {description}" if description else error
        return LoginDenied(f"Spotify refused the login ({detail[:200]}).")

    def _expire(self, timeout: float) -> None:
        with self._lock:
            if self._claimed:
                return  # the callback arrived in time; its exchange ends the flow
        self._finish(None, LoginTimeout(
            f"Nobody completed the login in the browser within {timeout:g} s. Run the login "
            "again (each login's address is valid for that attempt only)."))

    def _finish(self, token: Token | None, error: BaseException | None) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._token, self._error = token, error
            callbacks, self._callbacks = self._callbacks, []
            listener, timer = self._listener, self._timer
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if listener is not None:
            listener.stop()
        _runtime.forget_at_exit(self)
        self._done.set()
        for callback in callbacks:
            self._run_callback(callback)

    def _run_callback(self, callback: DoneCallback) -> None:
        try:
            callback(self._token, self._error)
        except Exception:
            logger.exception("login: an on_done callback failed")


def login(settings: Settings | None = None, *,
          open_browser: bool | Callable[[str], object] = True, timeout: float = 300,
          scopes: Iterable[str] | str | None = None, show_dialog: bool = False) -> Token:
    """Log in to Spotify once; the token is cached and refreshed from then on.

    Prints the authorize URL on a line of its own, opens a browser when there is one (or calls
    `open_browser(url)` if it is callable), waits at most `timeout` seconds for the callback,
    caches the token and returns it. Never blocks longer than `timeout`, so it is safe in a
    notebook cell; for a non-blocking login use :class:`LoginFlow` (or the login button).
    """
    flow = LoginFlow(settings, scopes=scopes, show_dialog=show_dialog)
    token = flow.run(open_browser=open_browser, timeout=timeout)
    _say(f"Logged in as {flow.display_name}")
    return token

