"""OAuth 2.0 with Spotify's accounts service: the authorize URL, PKCE, and the two token grants.

Everything here is stateless. Requests go through `requests` with a timeout on every call; an
OAuth error answer becomes an :class:`~spotkit.errors.AuthError` whose message says what to do and
never contains a token, a code, a verifier or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from ..config import Settings
from ..errors import LoginRequired, MalformedResponse, NetworkError, TokenRequestError
from ..logs import logger, redact

__all__ = [
    "DEFAULT_TIMEOUT",
    "PKCE",
    "build_authorize_url",
    "exchange_code",
    "new_state",
    "refresh_access_token",
    "request_token",
]

#: (connect, read) seconds for every request to the accounts service.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 15.0)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRIES = 2
_MAX_RETRY_WAIT = 5.0


def new_state() -> str:
    """A fresh, unguessable `state` value (256 bits) for one login."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PKCE:
    """A PKCE S256 pair. The verifier stays on this machine; only the challenge is sent."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls, length: int = 64) -> PKCE:
        """A new pair with a `length`-char verifier (RFC 7636: 43 to 128 of [A-Za-z0-9-._~])."""
        if not 43 <= length <= 128:
            raise ValueError("a PKCE verifier is 43 to 128 characters long")
        verifier = secrets.token_urlsafe(length)[:length]  # token_urlsafe yields >= length chars
        return cls(verifier=verifier, challenge=cls.challenge_for(verifier))

    @staticmethod
    def challenge_for(verifier: str) -> str:
        """base64url(SHA-256(verifier)) without padding."""
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_authorize_url(settings: Settings, *, state: str, scopes: Iterable[str] | None = None,
                        pkce: PKCE | None = None, show_dialog: bool = False,
                        redirect_uri: str | None = None) -> str:
    """The address of Spotify's consent page for one login.

    `scopes` defaults to the settings' scopes. Pass `pkce` for a public client (required when no
    client secret is configured, allowed with one).
    """
    scope_list = tuple(settings.scopes if scopes is None else scopes)
    params: dict[str, str] = {
        "client_id": settings.require_client_id(),
        "response_type": "code",
        "redirect_uri": redirect_uri or settings.redirect_uri,
        "scope": " ".join(scope_list),
        "state": state,
    }
    if pkce is not None:
        params["code_challenge_method"] = pkce.method
        params["code_challenge"] = pkce.challenge
    elif settings.uses_pkce:
        raise ValueError("no client secret is configured, so the login needs PKCE")
    if show_dialog:
        params["show_dialog"] = "true"
    return f"{settings.authorize_url}?{urlencode(params)}"


def exchange_code(settings: Settings, code: str, *, code_verifier: str | None = None,
                  redirect_uri: str | None = None, session: requests.Session | None = None,
                  timeout: tuple[float, float] | float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Trade an authorization code for tokens (the `authorization_code` grant).

    With a client secret the client authenticates with HTTP Basic; otherwise the body carries
    `client_id` and the PKCE `code_verifier`. Returns the JSON answer.
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri or settings.redirect_uri,
    }
    if code_verifier is not None:
        data["code_verifier"] = code_verifier
    elif settings.uses_pkce:
        raise ValueError("no client secret is configured, so the code exchange needs the verifier")
    return request_token(settings, data, session=session, timeout=timeout)


def refresh_access_token(settings: Settings, refresh_token: str, *,
                         session: requests.Session | None = None,
                         timeout: tuple[float, float] | float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The `refresh_token` grant. `invalid_grant` (revoked or expired) raises LoginRequired."""
    return request_token(settings, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                         session=session, timeout=timeout)


def request_token(settings: Settings, data: Mapping[str, str], *,
                  session: requests.Session | None = None,
                  timeout: tuple[float, float] | float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """POST a grant to the token endpoint and return its JSON answer, or raise a mapped error.

    A 429/5xx answer or a failed connection is retried twice (short backoff); a read timeout is
    not, because the server may have used the grant already.
    """
    client_id = settings.require_client_id()
    body = dict(data)
    auth: tuple[str, str] | None = None
    if settings.client_secret:
        auth = (client_id, settings.client_secret)
    else:
        body["client_id"] = client_id
    grant = body.get("grant_type", "?")
    url = settings.token_url
    http = session if session is not None else requests
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            response = http.post(url, data=body, auth=auth, timeout=timeout,
                                 headers={"Accept": "application/json"})
        except requests.ConnectionError as exc:
            if attempt < _RETRIES and _never_sent(exc):
                attempt += 1
                logger.debug("POST %s grant_type=%s failed to connect; retry %d",
                             _path(url), grant, attempt)
                time.sleep(0.5 * attempt)
                continue
            raise NetworkError(f"Could not reach Spotify's accounts service at "
                               f"{settings.accounts_url} ({type(exc).__name__}). Check the "
                               "network connection and try again.") from None
        except requests.Timeout:
            raise NetworkError(f"Spotify's accounts service at {settings.accounts_url} did not "
                               "answer in time. Try again.") from None
        except requests.RequestException as exc:
            raise NetworkError(f"The token request failed ({type(exc).__name__}).") from None
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("POST %s grant_type=%s -> %d in %.0f ms", _path(url), grant,
                     response.status_code, elapsed)
        if response.status_code in _RETRY_STATUSES and attempt < _RETRIES:
            wait = _retry_wait(response, attempt)
            if wait is not None:
                attempt += 1
                time.sleep(wait)
                continue
        return _parse_token_answer(response, grant)


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the request cannot have reached the server (so a retry cannot reuse a grant)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _retry_wait(response: requests.Response, attempt: int) -> float | None:
    header: str | None = response.headers.get("Retry-After")
    if header is None:
        return 0.5 * (attempt + 1)
    try:
        wait = float(header)
    except ValueError:
        return None
    return wait if 0 <= wait <= _MAX_RETRY_WAIT else None


def _parse_token_answer(response: requests.Response, grant: str) -> dict[str, Any]:
    status = response.status_code
    try:
        payload: object = response.json()
    except ValueError:
        payload = None
    if 200 <= status < 300:
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise MalformedResponse(f"Spotify's token endpoint answered {status} without a token "
                                    "(not the JSON it should be). Try again later.", status=status)
        return payload
    error: str | None = None
    description: str | None = None
    if isinstance(payload, dict):
        raw_error = payload.get("error")
        raw_description = payload.get("error_description")
        if isinstance(raw_error, str):
            error = raw_error
        elif isinstance(raw_error, dict):  # Web API style body on the accounts host
            msg = raw_error.get("message")
            description = msg if isinstance(msg, str) else None
        if isinstance(raw_description, str):
            description = raw_description
    if description is not None:
        description = redact(description)[:200]
    detail = ": ".join(x for x in (error, description) if x) or f"HTTP {status}"
    if error == "invalid_grant" and grant == "refresh_token":
        raise LoginRequired(
            f"Spotify refused the saved refresh token ({detail}): the login was revoked or has "
            "expired (refresh tokens last 6 months). Run `spotkit login` to log in again.")
    if error == "invalid_grant":
        raise TokenRequestError(
            f"Spotify refused the authorization code ({detail}); codes are single-use and expire "
            "within minutes. Start the login again.", error=error, description=description,
            status=status)
    if error == "invalid_client":
        raise TokenRequestError(
            f"Spotify did not accept the app's credentials ({detail}). Check SPOTIFY_CLIENT_ID "
            "(and SPOTIFY_CLIENT_SECRET if you use one) against your app on the Spotify developer "
            "dashboard.", error=error, description=description, status=status)
    if status == 429:
        raise TokenRequestError(f"Spotify's accounts service is rate limiting ({detail}). Wait a "
                                "minute and try again.", error=error, description=description,
                                status=status)
    if status >= 500:
        raise TokenRequestError(f"Spotify's accounts service failed ({detail}, HTTP {status}). "
                                "Try again later.", error=error, description=description,
                                status=status)
    raise TokenRequestError(f"Spotify refused the token request ({detail}, HTTP {status}).",
                            error=error, description=description, status=status)
