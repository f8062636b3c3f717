"""`spotkit doctor`: check a setup step by step and say what to do about each problem.

::

    import spotkit
    spotkit.doctor()        # in a notebook: a table; in a terminal: `spotkit doctor`

The checks run in the order a setup is built: configuration, client id, redirect URI, token cache,
scopes, the refresh token's end, the accounts service, the Web API and `/me`, then which spotkit
features work for this account. Each ends ok, warning (works, but something is worth knowing or
doing) or problem (something will fail), with what to do. Most of the hard problems come from
Spotify's developer dashboard, not from spotkit, so every dashboard error spotkit knows of is
explained with the dashboard step that fixes it (:data:`DASHBOARD_FIXES`).

Nothing here changes anything: no login, no write to the token cache except the refresh a normal
call would make, and no secret in any message.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode, urlsplit

from .config import ENV_KEYS, Settings, load_settings
from .errors import (
    CacheCorrupt,
    ConfigError,
    Forbidden,
    LoginRequired,
    MalformedResponse,
    NetworkError,
    RateLimited,
    SpotifyAPIError,
    SpotkitError,
    TokenRequestError,
    Unauthorized,
)

if TYPE_CHECKING:
    from .auth.token import Token

__all__ = ["DASHBOARD", "DASHBOARD_FIXES", "FEATURES", "Check", "Diagnosis", "Status", "doctor",
           "explain"]

Status = Literal["ok", "warning", "problem"]
DASHBOARD = "https://developer.spotify.com/dashboard"
_CLIENT_ID = re.compile(r"[0-9a-f]{32}")

#: what spotkit can do, and the scopes each needs (plus Premium for the player controls)
FEATURES: dict[str, tuple[str, ...]] = {
    "now playing": ("user-read-currently-playing",),
    "the now-playing widget and devices": ("user-read-playback-state",),
    "play, pause, next, previous": ("user-modify-playback-state",),
    "the history logger": ("user-read-recently-played",),
    "your playlists": ("playlist-read-private",),
    "saved tracks, albums and shows": ("user-library-read",),
    "top tracks and artists": ("user-top-read",),
    "followed artists": ("user-follow-read",),
    "creating and filling playlists": ("playlist-modify-private",),
    "saving to and removing from the library": ("user-library-modify",),
}
_CONTROLS = "play, pause, next, previous"

#: Spotify's words for a dashboard mistake -> what it means and the dashboard step that fixes it
DASHBOARD_FIXES: dict[str, str] = {
    "Invalid redirect URI": (
        "the redirect URI is not registered for this app, byte for byte. In the dashboard open your "
        "app, Settings, Edit, add {redirect_uri} under Redirect URIs and Save (or set "
        "SPOTIFY_REDIRECT_URI to one that is registered)."),
    "Invalid client": (
        "Spotify does not know this client id (a typo, or the app was deleted). In the dashboard "
        "open your app, Settings, copy the Client ID into SPOTIFY_CLIENT_ID."),
    "Invalid client secret": (
        "the client secret is wrong or was rotated. Copy it again from the dashboard (your app, "
        "Settings, View client secret), or remove SPOTIFY_CLIENT_SECRET to log in with PKCE."),
    "not registered": (
        "this Spotify account is not a user of the app. An app in development mode only works for "
        "the accounts added by hand: in the dashboard open your app, User Management, add the "
        "account's name and e-mail (at most 5 users)."),
    "PREMIUM_REQUIRED": (
        "player controls need Spotify Premium, and since 2026 an app in development mode also "
        "needs a Premium owner. Reading what plays works for every account."),
    "Invalid refresh token": (
        "the login ended: refresh tokens end 6 months after you authorised the app, or the access "
        "was removed (spotify.com, Account, Manage apps). Run `spotkit login` again."),
}


@dataclass(frozen=True)
class Check:
    """One line of the diagnosis."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Diagnosis:
    """The checks in order; a table in a notebook, lines in a terminal."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found a problem (warnings are fine)."""
        return all(c.status != "problem" for c in self.checks)

    def __getitem__(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def text(self) -> str:
        """The checks as lines for a terminal."""
        marks = {"ok": "ok     ", "warning": "WARNING", "problem": "PROBLEM"}
        lines = []
        for c in self.checks:
            lines.append(f"{marks[c.status]}  {c.name}: {c.detail}")
            if c.fix:
                lines.append(f"         -> {c.fix}")
        problems = sum(c.status == "problem" for c in self.checks)
        warnings = sum(c.status == "warning" for c in self.checks)
        lines.append(f"{problems} problem{'s' * (problems != 1)}, {warnings} "
                     f"warning{'s' * (warnings != 1)}.")
        return "\n".join(lines)

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        import html

        colours = {"ok": "#1db954", "warning": "#e69500", "problem": "#d62728"}
        rows = "".join(
            f"<tr><td style='color:{colours[c.status]};font-weight:bold'>{c.status}</td>"
            f"<td style='text-align:left'>{html.escape(c.name)}</td>"
            f"<td style='text-align:left'>{html.escape(c.detail)}</td>"
            f"<td style='text-align:left'>{html.escape(c.fix)}</td></tr>" for c in self.checks)
        return ("<table><thead><tr><th>status</th><th>check</th><th>what spotkit found</th>"
                f"<th>what to do</th></tr></thead><tbody>{rows}</tbody></table>")


def explain(error: BaseException | str, settings: Settings | None = None) -> str | None:
    """What a Spotify error caused by the developer dashboard means, and the step that fixes it.

    Args:
        error: an exception spotkit raised, or the text Spotify showed (e.g. on its error page).
        settings: to name the redirect URI to register.

    Returns:
        The explanation, or None when the error is not one the dashboard causes.
    """
    text = str(error)
    if isinstance(error, SpotifyAPIError) and error.reason:
        text += f" {error.reason}"
    for marker in sorted(DASHBOARD_FIXES, key=len, reverse=True):  # "Invalid client secret" first
        if marker in text:
            return DASHBOARD_FIXES[marker].format(
                redirect_uri=settings.redirect_uri if settings else "your redirect URI")
    if isinstance(error, Forbidden) and (error.path or "").rstrip("/").endswith("/me"):
        return DASHBOARD_FIXES["not registered"]
    return None


def doctor(settings: Settings | None = None, *, timeout: float = 10.0) -> Diagnosis:
    """Check the setup in order and say what to do about each problem.

    Args:
        settings: what to check; default: :func:`~spotkit.config.load_settings` (environment, `.env`).
        timeout: seconds for each request to Spotify.

    Returns:
        The checks, in order (shown as a table in a notebook).
    """
    diagnosis = Diagnosis()
    for check in _checks(settings, timeout):
        diagnosis.checks.append(check)
    return diagnosis


# --- the checks, in order -------------------------------------------------------------------------


@dataclass
class _State:
    """What the earlier checks learnt, for the later ones."""

    settings: Settings
    timeout: float
    token: Token | None = None
    profile: dict[str, Any] | None = None
    granted: tuple[str, ...] = ()


def _checks(settings: Settings | None, timeout: float) -> Iterator[Check]:
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            yield Check("configuration", "problem", str(exc), "fix the value named above")
            return
    yield _configuration(settings)
    if not settings.client_id:
        yield Check("features", "ok", "the sandbox (spotkit demo, the tutorials), Spotify's data "
                    "export (notebook 4, `spotkit history import`): none needs an app or a login")
        return
    state = _State(settings, timeout)
    steps: list[Callable[[_State], Check | None]] = [
        _client_id, _redirect_uri, _token_cache, _scopes, _refresh_token, _accounts_service,
        _web_api, _playback_control, _features]
    for step in steps:
        check = step(state)
        if check is not None:
            yield check


def _configuration(settings: Settings) -> Check:
    dotenv = Path(".env").resolve()
    from_env = [k for k in ENV_KEYS if os.environ.get(k, "").strip()]
    from_file = [k for k in _dotenv_keys(dotenv) if k in ENV_KEYS and k not in from_env]
    where = []
    if from_file:
        where.append(f"{dotenv}: {', '.join(from_file)}")
    if from_env:
        where.append(f"the environment: {', '.join(from_env)}")
    found = "; ".join(where) if where else "no settings (neither a .env here nor the environment)"
    if not settings.client_id:
        return Check("configuration", "warning", f"{found}; no SPOTIFY_CLIENT_ID, so spotkit uses "
                     "its offline sandbox",
                     f"for your own Spotify, create an app at {DASHBOARD} and put "
                     "SPOTIFY_CLIENT_ID=... in a .env file here")
    return Check("configuration", "ok", found)


def _dotenv_keys(path: Path) -> list[str]:
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    return [k for k, v in dotenv_values(path).items() if v and v.strip()]


def _client_id(state: _State) -> Check:
    client_id = state.settings.client_id or ""
    how = "a client secret" if state.settings.client_secret else "PKCE, no client secret needed"
    if not _CLIENT_ID.fullmatch(client_id):
        return Check("client id", "problem", f"{client_id!r} is not 32 lowercase hex characters",
                     f"copy the Client ID again from {DASHBOARD} (your app, Settings)")
    return Check("client id", "ok", f"{client_id} (logs in with {how})")


def _redirect_uri(state: _State) -> Check:
    uri = state.settings.redirect_uri
    parts = urlsplit(uri)
    register = "it must be registered byte for byte in the dashboard (your app, Settings, Redirect URIs)"
    if parts.hostname not in ("127.0.0.1", "::1") or parts.port is None:
        return Check("redirect URI", "ok", f"{uri}: not on this machine, so logging in ends with the "
                     f"paste box; {register}")
    family = socket.AF_INET6 if parts.hostname == "::1" else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as the login listener does: a port left in TIME_WAIT by the last login is free to it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((parts.hostname, parts.port))
        except OSError:
            other = parts.port + 1
            return Check("redirect URI", "warning",
                         f"{uri}: port {parts.port} is in use (JupyterLab's default is 8888), so "
                         "`spotkit login` cannot listen there",
                         f"stop what uses it, or register http://127.0.0.1:{other}{parts.path} in "
                         f"the dashboard and set SPOTIFY_REDIRECT_URI to it")
    return Check("redirect URI", "ok", f"{uri}, port {parts.port} free; {register}")


def _token_cache(state: _State) -> Check:
    from .auth.cache import TokenCache

    path = state.settings.cache_path
    if not path.exists():
        return Check("token cache", "warning", f"{path} does not exist: nobody logged in yet",
                     "run `spotkit login` (or the login button in a notebook)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        return Check("token cache", "problem",
                     f"{path} can be read by other users (mode {mode:o})",
                     f"chmod 600 {path}; if others may have read it, remove the app's access on "
                     "spotify.com (Account, Manage apps) and log in again")
    try:
        state.token = TokenCache(path).load(state.settings.client_id or "")
    except CacheCorrupt as exc:
        return Check("token cache", "problem", str(exc), "`spotkit login` moves it aside and "
                     "writes a new one")
    if state.token is None:
        return Check("token cache", "warning", f"{path} has no login for this client id",
                     "run `spotkit login`")
    return Check("token cache", "ok", f"{path}, private (mode {mode:o})")


def _scopes(state: _State) -> Check | None:
    if state.token is None:
        return None
    state.granted = state.token.scope
    missing = [s for s in state.settings.scopes if s not in state.granted]
    if missing:
        lost = [name for name, needs in FEATURES.items() if any(s in missing for s in needs)]
        return Check("scopes", "warning",
                     f"not granted: {' '.join(missing)} (so not: {', '.join(lost) or 'nothing'})",
                     "run `spotkit login` again and agree to them")
    return Check("scopes", "ok", f"every scope spotkit asks for ({len(state.settings.scopes)})")


def _refresh_token(state: _State) -> Check | None:
    token = state.token
    if token is None:
        return None
    if not token.refresh_token:
        return Check("refresh token", "warning", "none: the login ends with the access token, "
                     "within the hour", "run `spotkit login`")
    from .auth.token import LOGIN_WARNING_DAYS

    end = token.valid_until  # the sign-in plus six months: one home for that rule, auth/token.py
    if end is None:
        return Check("refresh token", "ok", "valid until 6 months after you last logged in "
                     "(this cache was written before spotkit recorded when that was)")
    left = end.timestamp() - time.time()
    day = f"{end:%Y-%m-%d}"
    if left <= 0:
        return Check("refresh token", "problem", f"ended on {day} (6 months after you authorised)",
                     "run `spotkit login` again")
    if left < LOGIN_WARNING_DAYS * 86400:
        return Check("refresh token", "warning", f"valid until {day}, in {left / 86400:.0f} days",
                     "run `spotkit login` again before then")
    return Check("refresh token", "ok", f"valid until {day}")


def _accounts_service(state: _State) -> Check:
    """Ask the authorize page about this client id and redirect URI, as a browser would.

    A plain GET without following redirects, outside the API's retry policy on purpose: the
    answer to read is the page itself (Spotify's error page names the dashboard mistake).
    """
    from .http import make_session

    settings = state.settings
    query = urlencode({"client_id": settings.client_id or "", "response_type": "code",
                       "redirect_uri": settings.redirect_uri})
    url = f"{settings.authorize_url}?{query}"
    host = urlsplit(settings.accounts_url).netloc
    try:
        with make_session(settings.accounts_url) as session:
            resp = session.get(url, allow_redirects=False, timeout=state.timeout)
    except OSError as exc:
        return Check("accounts service", "problem", f"cannot reach {host}: {type(exc).__name__}",
                     "check the network, or the proxy settings (HTTPS_PROXY, NO_PROXY)")
    page = resp.text[:20_000] if resp.status_code >= 400 else ""
    for marker in ("Invalid redirect URI", "Invalid client"):
        if marker in page:
            return Check("accounts service", "problem", f"{host} says INVALID_CLIENT: {marker}",
                         explain(marker, settings) or "")
    if resp.status_code >= 500:
        return Check("accounts service", "warning", f"{host} answered {resp.status_code}",
                     "Spotify has trouble: try again later")
    if resp.status_code >= 400:
        return Check("accounts service", "problem", f"{host} refused the login page "
                     f"({resp.status_code})", "check SPOTKIT_ACCOUNTS_URL and the client id")
    return Check("accounts service", "ok", f"{host} knows this client id and redirect URI")


def _web_api(state: _State) -> Check | None:
    if state.token is None:
        return None
    from .client import Spotify

    host = urlsplit(state.settings.api_url).netloc
    try:
        with Spotify(state.settings, timeout=state.timeout) as client:
            state.profile = client.me()
    except (TokenRequestError, LoginRequired) as exc:
        return Check("Web API and /me", "problem", f"refreshing the login failed: {exc}",
                     explain(exc, state.settings) or "run `spotkit login` again")
    except NetworkError as exc:
        return Check("Web API and /me", "problem", f"cannot reach {host}: {exc}",
                     "check the network, or the proxy settings (HTTPS_PROXY, NO_PROXY)")
    except RateLimited as exc:
        return Check("Web API and /me", "warning", str(exc),
                     "wait a while; a QUOTA_EXCEEDED lasts until the app's quota resets")
    except Unauthorized as exc:
        return Check("Web API and /me", "problem", str(exc), "run `spotkit login` again")
    except (SpotifyAPIError, MalformedResponse) as exc:
        return Check("Web API and /me", "problem", str(exc),
                     explain(exc, state.settings) or "try again later; run `spotkit -v whoami` to see "
                                                     "the requests")
    except SpotkitError as exc:
        return Check("Web API and /me", "problem", str(exc), "")
    name = state.profile.get("display_name") or state.profile.get("id") or "?"
    return Check("Web API and /me", "ok", f"{host} answers; logged in as {name}")


def _playback_control(state: _State) -> Check | None:
    if state.profile is None:
        return None
    product = state.profile.get("product")
    if product == "premium":
        return Check("playback control", "ok", "Premium account: play, pause, next, previous work")
    if product is None:
        return Check("playback control", "ok", "Spotify does not say whether the account has "
                     "Premium (it stopped telling development-mode apps in 2026); controls need it")
    return Check("playback control", "warning", f"{product} account: reading playback works, "
                 "the player controls answer PREMIUM_REQUIRED", explain("PREMIUM_REQUIRED") or "")


def _features(state: _State) -> Check | None:
    if state.profile is None:
        return None
    working, not_working = [], []
    for name, needs in FEATURES.items():
        if any(s not in state.granted for s in needs):
            not_working.append(f"{name} (scope)")
        elif name == _CONTROLS and state.profile.get("product") not in (None, "premium"):
            not_working.append(f"{name} (Premium)")
        else:
            working.append(name)
    working.append("history import from the data export")
    detail = f"works: {', '.join(working)}"
    if not_working:
        return Check("features", "warning", f"{detail}; not: {', '.join(not_working)}",
                     "see the checks above")
    return Check("features", "ok", detail)
