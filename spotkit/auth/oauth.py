"""OAuth 2.0 with Spotify's accounts service: the authorize URL, PKCE, and the two token grants.

Everything here is stateless. Token requests go through spotkit's one HTTP policy
(:class:`spotkit.http.Sender`); an OAuth error answer becomes an :class:`~spotkit.errors.AuthError`
whose message says what to do and never contains a token, a code, a verifier or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests

from ..config import Settings
from ..errors import LoginRequired, MalformedResponse, TokenRequestError
from ..http import RetryPolicy, Sender, error_from_response, make_session
from ..logs import logger, redact

if TYPE_CHECKING:
    from ..backoff import SharedBackoff

__all__ = [
    "DEFAULT_TIMEOUT",
    "PKCE",
    "accounts_sender",
    "build_authorize_url",
    "exchange_code",
    "new_state",
    "refresh_access_token",
    "request_token",
]

#: (connect, read) seconds for each socket operation with the accounts service.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 15.0)


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
                         timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
                         sender: Sender | None = None) -> dict[str, Any]:
    """The `refresh_token` grant. `invalid_grant` (revoked or expired) raises LoginRequired."""
    return request_token(settings, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                         session=session, timeout=timeout, sender=sender)


def request_token(settings: Settings, data: Mapping[str, str], *,
                  session: requests.Session | None = None,
                  timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
                  sender: Sender | None = None) -> dict[str, Any]:
    """POST a grant to the token endpoint and return its JSON answer, or raise a mapped error.

    The request goes through spotkit's one HTTP policy (:class:`spotkit.http.Sender`: retries,
    Retry-After, the deadline, the proxies of the accounts host). Pass the `sender` of a
    :class:`~spotkit.auth.tokens.TokenManager` to reuse it; otherwise one is made for this call.
    A 429 raises :class:`RateLimited` and a 5xx :class:`ServerError`, as from the Web API; a read
    timeout after the grant was sent is not retried (the server may have used the grant).
    """
    client_id = settings.require_client_id()
    body = dict(data)
    auth: tuple[str, str] | None = None
    if settings.client_secret:
        auth = (client_id, settings.client_secret)
    else:
        body["client_id"] = client_id
    grant = body.get("grant_type", "?")
    if sender is None:
        sender = accounts_sender(settings, session=session, timeout=timeout)
    url = settings.token_url
    path = urlsplit(url).path or "/"
    response = sender.send("POST", url, path=path, data=body, auth=auth,
                           headers={"Accept": "application/json"})
    logger.debug("POST %s grant_type=%s -> %d", path, grant, response.status_code)
    return _parse_token_answer(response, grant, path)


def accounts_sender(settings: Settings, *, session: requests.Session | None = None,
                    timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
                    policy: RetryPolicy | None = None,
                    backoff: SharedBackoff | None = None) -> Sender:
    """The :class:`~spotkit.http.Sender` for the accounts service: its own host's proxies.

    `backoff`, when given, is the app's shared back-off: a 429 from the token endpoint blocks the
    app as one from the Web API does, and a block already recorded is obeyed before sending.
    """
    return Sender(settings.accounts_url, session if session is not None else make_session(),
                  policy=policy, timeout=timeout, backoff=backoff)


def _parse_token_answer(response: requests.Response, grant: str, path: str) -> dict[str, Any]:
    status = response.status_code
    if status == 429 or status >= 500:  # typed like the Web API's, so callers treat both alike
        raise error_from_response(response, "POST", path)
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
    raise TokenRequestError(f"Spotify refused the token request ({detail}, HTTP {status}).",
                            error=error, description=description, status=status)
