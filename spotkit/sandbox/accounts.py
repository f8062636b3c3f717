"""The accounts service: the consent page (/authorize) and the token endpoint (/api/token).

Follows Spotify's authorization code flow, with or without PKCE, as of late 2026: no implicit
grant, redirect URIs matched exactly (loopback IPs registered without a port match any port,
`localhost` never), single-use expiring codes and OAuth-style JSON errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from .wire import Request, Response, html_response, json_response, oauth_error, redirect

__all__ = ["SCOPES", "AccessGrant", "Accounts", "App", "redirect_uri_allowed"]

# what the consent screen says for each scope (wording after Spotify's scope list)
SCOPES: dict[str, str] = {
    "ugc-image-upload": "Upload images to Spotify on your behalf",
    "user-read-playback-state": "Read your currently playing content and Spotify Connect devices "
                                "information",
    "user-modify-playback-state": "Control playback on your Spotify clients and Spotify Connect "
                                  "devices",
    "user-read-currently-playing": "Read your currently playing content",
    "app-remote-control": "Communicate with the Spotify app on your device",
    "streaming": "Play content and control playback on your other devices",
    "playlist-read-private": "Access your private playlists",
    "playlist-read-collaborative": "Access your collaborative playlists",
    "playlist-modify-private": "Manage your private playlists",
    "playlist-modify-public": "Manage your public playlists",
    "user-follow-modify": "Manage who you are following",
    "user-follow-read": "Access your followers and who you are following",
    "user-read-playback-position": "Read your position in content you have played",
    "user-top-read": "Read your top artists and content",
    "user-read-recently-played": "Access your recently played items",
    "user-library-modify": "Manage your saved content",
    "user-library-read": "Access your saved content",
    "user-read-email": "Get your real email address",
    "user-read-private": "Access your subscription details",
}

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_LOOPBACK = {"127.0.0.1", "::1"}


def _port(uri: str) -> int | None:
    try:
        return urlsplit(uri).port
    except ValueError:
        return -1


def redirect_uri_allowed(uri: str, registered: Iterable[str]) -> bool:
    """Spotify's rule: exact match, except a loopback URI registered without a port matches any
    port; `localhost` is never accepted and plain HTTP only for loopback IP literals."""
    try:
        got = urlsplit(uri)
        host = got.hostname
        port = got.port
    except ValueError:
        return False
    if not host or host == "localhost" or got.fragment or port == 0:
        return False  # nothing can listen on port 0: Spotify refuses it as well
    if got.scheme != "https" and not (got.scheme == "http" and host in _LOOPBACK):
        return False
    for reg in registered:
        if uri == reg:
            return True
        r = urlsplit(reg)
        if (r.hostname in _LOOPBACK and r.port is None and port is not None
                and (r.scheme, r.hostname, r.path, r.query) == (got.scheme, host, got.path, got.query)):
            return True
    return False


@dataclass
class App:
    """The one app registered with the sandbox."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    created: float
    family: str
    used: bool = False


@dataclass
class AccessGrant:
    """What an access token stands for."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float
    family: str


@dataclass
class _RefreshGrant:
    client_id: str
    scopes: tuple[str, ...]
    family: str
    public: bool
    revoked: bool = False


@dataclass
class Accounts:
    """OAuth state and logic. Not thread safe by itself: the sandbox holds its lock around calls."""

    app: App
    access_token_ttl: int = 3600
    code_ttl: float = 300.0
    rotate_refresh_tokens: bool = True
    auto_consent: bool = False
    wall: Callable[[], float] = time.time
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, AccessGrant] = field(default_factory=dict)
    refresh: dict[str, _RefreshGrant] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)     # scopes the user agreed to
    revoked_families: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ authorize
    def _check_authorize(self, params: Mapping[str, str]) -> Response | None:
        """Validate an authorize request: an error page, an error redirect, or None when fine."""
        if params.get("client_id") != self.app.client_id:
            return _error_page("INVALID_CLIENT: Invalid client")
        uri = params.get("redirect_uri", "")
        if not uri or not redirect_uri_allowed(uri, self.app.redirect_uris):
            return _error_page("INVALID_CLIENT: Invalid redirect URI")
        state = params.get("state")
        if params.get("response_type") != "code":
            return _redirect_with(uri, state, error="unsupported_response_type")
        method = params.get("code_challenge_method")
        challenge = params.get("code_challenge")
        if method is not None or challenge is not None:
            if method != "S256":
                return _redirect_with(uri, state, error="invalid_request",
                                      error_description="code_challenge_method must be S256")
            if not challenge or not _CHALLENGE.fullmatch(challenge):
                return _redirect_with(uri, state, error="invalid_request",
                                      error_description="Invalid code_challenge")
        unknown = [s for s in _split_scopes(params.get("scope")) if s not in SCOPES]
        if unknown:
            return _redirect_with(uri, state, error="invalid_scope",
                                  error_description="Invalid scope")
        return None

    def authorize(self, req: Request, display_name: str) -> Response:
        params = {k: v[0] for k, v in req.query.items() if v}
        problem = self._check_authorize(params)
        if problem is not None:
            return problem
        scopes = _split_scopes(params.get("scope"))
        show_dialog = params.get("show_dialog", "false").lower() == "true"
        if self.auto_consent or (not show_dialog and set(scopes) <= self.approved
                                 and self.approved):
            return self._grant(params)
        return html_response(200, self._consent_page(params, scopes, display_name))

    def decision(self, req: Request) -> Response:
        form = req.form()
        params = {k: v for k, v in form.items() if k != "decision"}
        problem = self._check_authorize(params)
        if problem is not None:
            return problem
        if form.get("decision") != "agree":
            return _redirect_with(params["redirect_uri"], params.get("state"),
                                  error="access_denied")
        self.approved.update(_split_scopes(params.get("scope")))
        return self._grant(params)

    def _grant(self, params: Mapping[str, str]) -> Response:
        code = "AQ" + secrets.token_urlsafe(48)
        self.codes[code] = _Code(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scopes=tuple(_split_scopes(params.get("scope"))),
            challenge=params.get("code_challenge"),
            created=self.wall(),
            family=secrets.token_hex(8),
        )
        return _redirect_with(params["redirect_uri"], params.get("state"), code=code)

    def _consent_page(self, params: Mapping[str, str], scopes: list[str],
                      display_name: str) -> str:
        e = html.escape
        items = "\n".join(
            f'      <li class="scope"><span class="what">{e(SCOPES[s])}</span> '
            f"<code>{e(s)}</code></li>" for s in scopes
        ) or '      <li class="scope">View your public profile</li>'
        hidden = "\n".join(
            f'    <input type="hidden" name="{e(k)}" value="{e(v)}">'
            for k, v in params.items() if k != "decision"
        )
        return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize {e(self.app.name)} - Spotify (sandbox)</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}
button{{padding:.6em 2em;margin-right:1em;border-radius:2em;border:1px solid #888}}
#agree{{background:#1ed760}}</style></head>
<body>
  <h1>Spotify sandbox</h1>
  <p>Logged in as <strong class="user">{e(display_name)}</strong>.</p>
  <h2><span class="app-name">{e(self.app.name)}</span> would like to:</h2>
  <ul class="scopes">
{items}
  </ul>
  <p>You can remove this access at any time.</p>
  <form method="post" action="/authorize/decision">
{hidden}
    <button type="submit" id="agree" name="decision" value="agree">Agree</button>
    <button type="submit" id="cancel" name="decision" value="cancel">Cancel</button>
  </form>
</body>
</html>
"""

    # ------------------------------------------------------------------ tokens
    def issue(self, client_id: str, scopes: Iterable[str], family: str | None = None,
              public: bool = True) -> dict[str, Any]:
        """Mint an access + refresh token pair; the token endpoint's success answer."""
        scopes = tuple(scopes)
        family = family or secrets.token_hex(8)
        answer = self._new_access(client_id, scopes, family)
        refresh = "AQ" + secrets.token_urlsafe(96)
        self.refresh[refresh] = _RefreshGrant(client_id, scopes, family, public)
        answer["refresh_token"] = refresh
        return answer

    def _new_access(self, client_id: str, scopes: tuple[str, ...], family: str) -> dict[str, Any]:
        token = "BQ" + secrets.token_urlsafe(120)
        self.access[token] = AccessGrant(client_id, frozenset(scopes),
                                         self.wall() + self.access_token_ttl, family)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.access_token_ttl,
                "scope": " ".join(scopes)}

    def token(self, req: Request) -> Response:
        """POST /api/token."""
        form = req.form()
        grant = form.get("grant_type")
        if not grant:
            return oauth_error("unsupported_grant_type", "grant_type parameter is missing")
        client = self._client(req, form)
        if isinstance(client, Response):
            return client
        client_id, public = client
        if grant == "authorization_code":
            return self._code_grant(form, client_id, public)
        if grant == "refresh_token":
            return self._refresh_grant(form, client_id, public)
        return oauth_error("unsupported_grant_type",
                           "grant_type must be client_credentials, authorization_code or "
                           "refresh_token")

    def _client(self, req: Request, form: Mapping[str, str]) -> tuple[str, bool] | Response:
        """Authenticate the client: (client_id, public) or an invalid_client error."""
        header = req.headers.get("authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                return oauth_error("invalid_client", "Invalid client")
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return oauth_error("invalid_client", "Invalid client")
            client_id, sep, secret = decoded.partition(":")
            if not sep:
                return oauth_error("invalid_client", "Invalid client")
            return self._check_secret(client_id, secret)
        if "client_secret" in form:
            return self._check_secret(form.get("client_id", ""), form["client_secret"])
        if form.get("client_id") != self.app.client_id:
            return oauth_error("invalid_client", "Invalid client")
        return self.app.client_id, True

    def _check_secret(self, client_id: str, secret: str) -> tuple[str, bool] | Response:
        if client_id != self.app.client_id:
            return oauth_error("invalid_client", "Invalid client")
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            return oauth_error("invalid_client", "Invalid client secret")
        return client_id, False

    def _code_grant(self, form: Mapping[str, str], client_id: str, public: bool) -> Response:
        code_value = form.get("code")
        if not code_value:
            return oauth_error("invalid_request", "code must be supplied")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            return oauth_error("invalid_request", "redirect_uri must be supplied")
        code = self.codes.get(code_value)
        if code is None or code.client_id != client_id:
            return oauth_error("invalid_grant", "Invalid authorization code")
        if code.used:
            # RFC 6749 4.1.2: a replayed code revokes what it issued
            self.revoke_family(code.family)
            return oauth_error("invalid_grant", "Invalid authorization code")
        if self.wall() - code.created > self.code_ttl:
            return oauth_error("invalid_grant", "Authorization code expired")
        if redirect_uri != code.redirect_uri:
            return oauth_error("invalid_grant", "Invalid redirect URI")
        verifier = form.get("code_verifier")
        if code.challenge is not None:
            if not verifier:
                return oauth_error("invalid_request", "code_verifier required")
            if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
                    _s256(verifier), code.challenge):
                return oauth_error("invalid_grant", "code_verifier was incorrect")
        elif public:
            return oauth_error("invalid_request", "code_verifier required")
        code.used = True
        answer = self.issue(client_id, code.scopes, code.family, public=code.challenge is not None)
        return _token_answer(answer)

    def _refresh_grant(self, form: Mapping[str, str], client_id: str, public: bool) -> Response:
        value = form.get("refresh_token")
        if not value:
            return oauth_error("invalid_request", "refresh_token must be supplied")
        grant = self.refresh.get(value)
        if grant is None or grant.client_id != client_id:
            return oauth_error("invalid_grant", "Invalid refresh token")
        if grant.revoked or grant.family in self.revoked_families:
            return oauth_error("invalid_grant", "Refresh token revoked")
        if public and not grant.public:
            return oauth_error("invalid_client", "Invalid client secret")
        answer = self._new_access(client_id, grant.scopes, grant.family)
        if self.rotate_refresh_tokens:
            del self.refresh[value]  # the old one is now unknown: "Invalid refresh token"
            new = "AQ" + secrets.token_urlsafe(96)
            self.refresh[new] = grant
            answer["refresh_token"] = new
        return _token_answer(answer)

    # ------------------------------------------------------------------ bearer tokens
    def bearer(self, header: str | None) -> AccessGrant | tuple[int, str]:
        """The grant behind an Authorization header, or (status, message) of Spotify's error."""
        if not header:
            return 401, "No token provided"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 400, "Only valid bearer authentication supported"
        grant = self.access.get(token.strip())
        if grant is None or grant.family in self.revoked_families:
            return 401, "Invalid access token"
        if self.wall() >= grant.expires_at:
            return 401, "The access token expired"
        return grant

    def expire_access_tokens(self) -> None:
        now = self.wall()
        for grant in self.access.values():
            grant.expires_at = min(grant.expires_at, now - 1)

    def revoke_refresh_tokens(self) -> None:
        for grant in self.refresh.values():
            grant.revoked = True

    def revoke_family(self, family: str) -> None:
        """Revoke every token issued from one authorization (access and refresh)."""
        self.revoked_families.add(family)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _split_scopes(scope: str | None) -> list[str]:
    return [s for s in (scope or "").replace(",", " ").split() if s]


def _redirect_with(uri: str, state: str | None, **params: str) -> Response:
    if state is not None:
        params["state"] = state
    return redirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


def _error_page(message: str) -> Response:
    e = html.escape(message)
    return html_response(400, f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error - Spotify (sandbox)</title></head>
<body><h1>Oops! Something went wrong</h1><p class="error">{e}</p></body></html>
""")


def _token_answer(answer: Mapping[str, Any]) -> Response:
    return json_response(200, dict(answer), {"Cache-Control": "no-store", "Pragma": "no-cache"})
