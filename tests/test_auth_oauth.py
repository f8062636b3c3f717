"""spotkit.auth.oauth: authorize URL, PKCE, token grants and OAuth error mapping (mocked HTTP)."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from spotkit.auth import oauth
from spotkit.config import Settings
from spotkit.errors import (
    LoginRequired,
    MalformedResponse,
    NetworkError,
    RateLimited,
    ServerError,
    TokenRequestError,
)

ACCOUNTS = "https://accounts.example"
TOKEN_URL = f"{ACCOUNTS}/api/token"
SECRET = "s3cr3t-client-secret"
REFRESH = "refresh-token-value-xyz"
CODE = "authorization-code-value-abc"
VERIFIER = "v" * 50


def public() -> Settings:
    return Settings(client_id="cid", accounts_url=ACCOUNTS, scopes=("s1", "s2"))


def confidential() -> Settings:
    return Settings(client_id="cid", client_secret=SECRET, accounts_url=ACCOUNTS)


def ok_answer(**extra: object) -> dict[str, object]:
    return {"access_token": "AT", "token_type": "Bearer", "scope": "s1", "expires_in": 3600,
            **extra}


def body_of(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


@pytest.fixture(autouse=True)
def no_sleep(sleeps: list[float]) -> list[float]:
    """The token endpoint's waits go through the one sleep seam of spotkit.http."""
    return sleeps


# --- state and PKCE ------------------------------------------------------------------------------


def test_state_is_fresh_and_long() -> None:
    states = {oauth.new_state() for _ in range(100)}
    assert len(states) == 100
    assert all(len(s) >= 43 for s in states)


def test_pkce_rfc7636_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.PKCE.challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("length", [43, 64, 128])
def test_pkce_pair(length: int) -> None:
    pair = oauth.PKCE.generate(length)
    assert len(pair.verifier) == length
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", pair.verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(pair.verifier.encode()).digest())
    assert pair.challenge == expected.decode().rstrip("=")
    assert "=" not in pair.challenge
    assert pair.method == "S256"
    assert pair.verifier not in repr(pair)
    assert oauth.PKCE.generate(length).verifier != pair.verifier


@pytest.mark.parametrize("length", [42, 129])
def test_pkce_length_bounds(length: int) -> None:
    with pytest.raises(ValueError, match="43 to 128"):
        oauth.PKCE.generate(length)


# --- authorize URL -------------------------------------------------------------------------------


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorize_url_pkce() -> None:
    pair = oauth.PKCE.generate()
    url = oauth.build_authorize_url(public(), state="st", pkce=pair)
    assert url.startswith(f"{ACCOUNTS}/authorize?")
    assert query(url) == {
        "client_id": "cid", "response_type": "code",
        "redirect_uri": "http://127.0.0.1:8888/callback", "scope": "s1 s2", "state": "st",
        "code_challenge_method": "S256", "code_challenge": pair.challenge,
    }
    assert pair.verifier not in url


def test_authorize_url_scopes_and_show_dialog() -> None:
    url = oauth.build_authorize_url(confidential(), state="st", scopes=["x", "y"],
                                    show_dialog=True)
    q = query(url)
    assert q["scope"] == "x y"
    assert q["show_dialog"] == "true"
    assert "code_challenge" not in q  # a secret without PKCE: allowed
    assert SECRET not in url


def test_authorize_url_with_secret_allows_pkce() -> None:
    pair = oauth.PKCE.generate()
    assert query(oauth.build_authorize_url(confidential(), state="s", pkce=pair))[
        "code_challenge"] == pair.challenge


def test_authorize_url_public_client_requires_pkce() -> None:
    with pytest.raises(ValueError, match="PKCE"):
        oauth.build_authorize_url(public(), state="st")


# --- grants --------------------------------------------------------------------------------------


@responses.activate
def test_exchange_code_pkce_sends_client_id_and_verifier_without_auth() -> None:
    responses.post(TOKEN_URL, json=ok_answer(refresh_token="R"))
    answer = oauth.exchange_code(public(), CODE, code_verifier=VERIFIER)
    assert answer["access_token"] == "AT"
    call = responses.calls[0]
    assert "Authorization" not in call.request.headers
    assert body_of(call) == {"grant_type": "authorization_code", "code": CODE,
                             "redirect_uri": "http://127.0.0.1:8888/callback",
                             "client_id": "cid", "code_verifier": VERIFIER}


@responses.activate
def test_exchange_code_with_secret_uses_basic_auth() -> None:
    responses.post(TOKEN_URL, json=ok_answer(refresh_token="R"))
    oauth.exchange_code(confidential(), CODE)
    call = responses.calls[0]
    expected = base64.b64encode(f"cid:{SECRET}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    body = body_of(call)
    assert "client_id" not in body
    assert "client_secret" not in body
    assert body["code"] == CODE


def test_exchange_code_public_client_requires_verifier() -> None:
    with pytest.raises(ValueError, match="verifier"):
        oauth.exchange_code(public(), CODE)


@responses.activate
def test_refresh_pkce_sends_client_id() -> None:
    responses.post(TOKEN_URL, json=ok_answer())
    oauth.refresh_access_token(public(), REFRESH)
    call = responses.calls[0]
    assert "Authorization" not in call.request.headers
    assert body_of(call) == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                             "client_id": "cid"}


@responses.activate
def test_refresh_with_secret_uses_basic_auth() -> None:
    responses.post(TOKEN_URL, json=ok_answer())
    oauth.refresh_access_token(confidential(), REFRESH)
    call = responses.calls[0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert body_of(call) == {"grant_type": "refresh_token", "refresh_token": REFRESH}


@responses.activate
def test_every_request_has_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    real_request = requests.Session.request

    def spy(self: requests.Session, *args: object, **kwargs: object) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        return real_request(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(requests.Session, "request", spy)
    responses.post(TOKEN_URL, json=ok_answer())
    oauth.refresh_access_token(public(), REFRESH)
    assert seen
    assert all(t is not None for t in seen)


# --- errors --------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("description", ["Refresh token revoked", "Invalid refresh token"])
def test_refresh_invalid_grant_means_login_required(description: str) -> None:
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_grant", "error_description": description})
    with pytest.raises(LoginRequired) as info:
        oauth.refresh_access_token(public(), REFRESH)
    message = str(info.value)
    assert "spotkit login" in message
    assert "log in again" in message
    assert description in message
    assert REFRESH not in message
    assert len(responses.calls) == 1  # never retried


@responses.activate
def test_code_invalid_grant_is_a_token_request_error() -> None:
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_grant", "error_description": "Invalid authorization code"})
    with pytest.raises(TokenRequestError) as info:
        oauth.exchange_code(public(), CODE, code_verifier=VERIFIER)
    assert info.value.error == "invalid_grant"
    assert info.value.status == 400
    assert CODE not in str(info.value)
    assert VERIFIER not in str(info.value)


@responses.activate
def test_invalid_client() -> None:
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_client", "error_description": "Invalid client secret"})
    with pytest.raises(TokenRequestError) as info:
        oauth.exchange_code(confidential(), CODE)
    assert "SPOTIFY_CLIENT_ID" in str(info.value)
    assert SECRET not in str(info.value)
    assert info.value.error == "invalid_client"


@responses.activate
def test_503_is_retried_then_succeeds(no_sleep: list[float]) -> None:
    responses.post(TOKEN_URL, status=503, body="<html>down</html>")
    responses.post(TOKEN_URL, json=ok_answer())
    assert oauth.refresh_access_token(public(), REFRESH)["access_token"] == "AT"
    assert len(responses.calls) == 2
    assert len(no_sleep) == 1  # the one back-off, through spotkit.http's sleep


@responses.activate
def test_503_after_retries_is_a_server_error_like_the_web_api() -> None:
    responses.post(TOKEN_URL, status=503, json={"error": "server_error"})
    with pytest.raises(ServerError) as info:
        oauth.refresh_access_token(public(), REFRESH)
    assert info.value.status == 503
    assert info.value.path == "/api/token"
    assert len(responses.calls) == 4  # 1 + the policy's 3 retries
    assert REFRESH not in str(info.value)


@responses.activate
def test_502_after_a_grant_was_sent_is_not_retried() -> None:
    # the accounts service may have used (and rotated) the refresh token: never send it twice
    responses.post(TOKEN_URL, status=502, body="bad gateway")
    with pytest.raises(ServerError) as info:
        oauth.refresh_access_token(public(), REFRESH)
    assert info.value.status == 502
    assert len(responses.calls) == 1


@responses.activate
def test_short_retry_after_is_waited_for(no_sleep: list[float]) -> None:
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "2"}, json={})
    responses.post(TOKEN_URL, json=ok_answer())
    assert oauth.refresh_access_token(public(), REFRESH)["access_token"] == "AT"
    assert no_sleep == [2.0]


@responses.activate
def test_long_retry_after_is_rate_limited_at_once(no_sleep: list[float]) -> None:
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "3600"}, json={})
    with pytest.raises(RateLimited) as info:
        oauth.refresh_access_token(public(), REFRESH)
    assert info.value.retry_after == 3600
    assert "Wait 60 minutes" in str(info.value)
    assert len(responses.calls) == 1
    assert no_sleep == []


@responses.activate
@pytest.mark.parametrize("kind", ["html", "no-token"])
def test_malformed_success(kind: str) -> None:
    if kind == "html":
        responses.post(TOKEN_URL, body="<html>hello</html>", status=200)
    else:
        responses.post(TOKEN_URL, json={"token_type": "Bearer"})
    with pytest.raises(MalformedResponse):
        oauth.refresh_access_token(public(), REFRESH)


@responses.activate
def test_unknown_error_body() -> None:
    responses.post(TOKEN_URL, status=400, body="nope")
    with pytest.raises(TokenRequestError) as info:
        oauth.refresh_access_token(public(), REFRESH)
    assert "HTTP 400" in str(info.value)


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(client_id="cid", accounts_url=f"http://127.0.0.1:{port}")
    with pytest.raises(NetworkError) as info:
        oauth.refresh_access_token(settings, REFRESH, timeout=1)
    assert REFRESH not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
