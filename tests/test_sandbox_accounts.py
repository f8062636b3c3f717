"""The sandbox's accounts service: consent page, authorization code grant (PKCE and Basic),
refresh grant with and without rotation, and Spotify's OAuth errors."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sandbox_helpers import (
    ALL_SCOPES,
    authorize_params,
    bearer,
    get_code,
    login,
    parse_form,
    pkce_pair,
)

from spotkit.sandbox import Sandbox
from spotkit.sandbox.accounts import redirect_uri_allowed


@pytest.fixture(scope="module")
def sb() -> Any:
    with Sandbox(rotate_refresh_tokens=True, code_ttl=0.5) as sandbox:
        yield sandbox


@pytest.fixture
def s() -> Any:
    with requests.Session() as session:
        yield session


def token(sb: Sandbox, s: requests.Session, auth: tuple[str, str] | None = None,
          **form: str) -> requests.Response:
    return s.post(sb.accounts_url + "/api/token", data=form, auth=auth)


def oauth_error(r: requests.Response, error: str, description: str | None = None) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["error"] == error, body
    if description is not None:
        assert body["error_description"] == description


# ------------------------------------------------------------------ consent page
def test_consent_page_names_app_and_scopes_readably(sb: Sandbox, s: requests.Session) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    r = s.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "spotkit (sandbox)" in r.text
    assert "Access your recently played items" in r.text
    assert "Control playback on your Spotify clients" in r.text
    assert "user-read-recently-played" in r.text
    form = parse_form(r.text)
    assert form.action == "/authorize/decision"
    assert set(form.buttons) == {"Agree", "Cancel"}
    assert form.fields["state"] == params["state"]
    assert form.fields["code_challenge"] == challenge


def test_cancel_redirects_with_access_denied_and_state(sb: Sandbox, s: requests.Session) -> None:
    params = authorize_params(sb, pkce_pair()[1], state="a b/c?&=")
    got = get_code(sb, s, params, decision="Cancel")
    assert got == {"error": "access_denied", "state": "a b/c?&="}


def test_agree_redirects_with_code_and_state_unchanged(sb: Sandbox, s: requests.Session) -> None:
    params = authorize_params(sb, pkce_pair()[1], state="xyz+/=ü")
    got = get_code(sb, s, params)
    assert got["state"] == "xyz+/=ü"
    assert len(got["code"]) > 40


def test_consent_is_remembered_unless_show_dialog() -> None:
    with Sandbox(seed_history=0) as sb, requests.Session() as s:
        params = authorize_params(sb, pkce_pair()[1], scope="user-read-private")
        get_code(sb, s, params)  # agreed once
        r = s.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
        assert r.status_code == 302
        assert "code=" in r.headers["Location"]
        r = s.get(sb.accounts_url + "/authorize", params={**params, "show_dialog": "true"},
                  allow_redirects=False)
        assert r.status_code == 200  # the dialog again
        more = {**params, "scope": "user-read-private user-read-recently-played"}
        r = s.get(sb.accounts_url + "/authorize", params=more, allow_redirects=False)
        assert r.status_code == 200  # a new scope needs consent


def test_auto_consent_redirects_at_once() -> None:
    with Sandbox(auto_consent=True, seed_history=0) as sb:
        params = authorize_params(sb, pkce_pair()[1])
        r = requests.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
        assert r.status_code == 302
        assert "code=" in r.headers["Location"]


@pytest.mark.parametrize(("change", "message"), [
    ({"client_id": "0" * 32}, "INVALID_CLIENT: Invalid client"),
    ({"client_id": None}, "INVALID_CLIENT: Invalid client"),
    ({"redirect_uri": "http://127.0.0.1:8888/other"}, "INVALID_CLIENT: Invalid redirect URI"),
    ({"redirect_uri": "http://localhost:8888/callback"}, "INVALID_CLIENT: Invalid redirect URI"),
    ({"redirect_uri": None}, "INVALID_CLIENT: Invalid redirect URI"),
])
def test_bad_client_or_redirect_is_an_error_page_never_a_redirect(
        sb: Sandbox, s: requests.Session, change: dict[str, str | None], message: str) -> None:
    params: dict[str, Any] = {**authorize_params(sb, pkce_pair()[1]), **change}
    r = s.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert message in r.text


@pytest.mark.parametrize(("change", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),  # implicit grant removed 2025
    ({"response_type": None}, "unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"scope": "user-read-private not-a-scope"}, "invalid_scope"),
])
def test_bad_request_redirects_with_error_and_state(
        sb: Sandbox, s: requests.Session, change: dict[str, str | None], error: str) -> None:
    params: dict[str, Any] = {**authorize_params(sb, pkce_pair()[1]), **change}
    r = s.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.netloc == "127.0.0.1:8888"
    got = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert got["error"] == error
    assert got["state"] == params["state"]
    assert "code" not in got


def test_loopback_rule_for_redirect_uris() -> None:
    reg = ["http://127.0.0.1:8888/callback", "http://127.0.0.1/callback", "http://[::1]/callback",
           "https://example.com/cb"]
    assert redirect_uri_allowed("http://127.0.0.1:8888/callback", reg)
    assert redirect_uri_allowed("http://127.0.0.1:53682/callback", reg)  # registered without port
    assert redirect_uri_allowed("http://[::1]:9000/callback", reg)
    assert redirect_uri_allowed("https://example.com/cb", reg)
    assert not redirect_uri_allowed("https://example.com:8443/cb", reg)  # not loopback: exact
    assert not redirect_uri_allowed("http://127.0.0.1:53682/other", reg)
    assert not redirect_uri_allowed("http://localhost:8888/callback", reg)
    assert not redirect_uri_allowed("http://localhost/callback", ["http://localhost/callback"])
    assert not redirect_uri_allowed("http://example.com/cb", ["http://example.com/cb"])
    assert not redirect_uri_allowed("http://127.0.0.1:8888/callback#x", reg)
    assert not redirect_uri_allowed("http://127.0.0.1:99999/callback", reg)


def test_any_loopback_port_works_end_to_end(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    uri = "http://127.0.0.1:49152/callback"
    params = authorize_params(sb, challenge, redirect_uri=uri)
    code = get_code(sb, s, params)["code"]
    r = token(sb, s, grant_type="authorization_code", code=code, redirect_uri=uri,
              client_id=sb.client_id, code_verifier=verifier)
    assert r.status_code == 200


# ------------------------------------------------------------------ authorization_code grant
def test_pkce_exchange_answers_like_spotify(sb: Sandbox, s: requests.Session) -> None:
    answer = login(sb, s)
    assert set(answer) == {"access_token", "token_type", "scope", "expires_in", "refresh_token"}
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert set(answer["scope"].split()) == set(ALL_SCOPES.split())
    assert answer["access_token"] != answer["refresh_token"]
    r = s.get(sb.api_url + "/me", headers=bearer(answer))
    assert r.status_code == 200


def test_token_answers_are_not_cached(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    code = get_code(sb, s, params)["code"]
    r = token(sb, s, grant_type="authorization_code", code=code,
              redirect_uri=params["redirect_uri"], client_id=sb.client_id, code_verifier=verifier)
    assert r.headers["Cache-Control"] == "no-store"


def test_pkce_wrong_or_missing_verifier(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    code = get_code(sb, s, params)["code"]
    common = {"grant_type": "authorization_code", "code": code,
              "redirect_uri": params["redirect_uri"], "client_id": sb.client_id}
    oauth_error(token(sb, s, **common, code_verifier=pkce_pair()[0]), "invalid_grant",
                "code_verifier was incorrect")
    oauth_error(token(sb, s, **common, code_verifier="short"), "invalid_grant",
                "code_verifier was incorrect")
    oauth_error(token(sb, s, **common), "invalid_request")
    assert token(sb, s, **common, code_verifier=verifier).status_code == 200


def test_basic_auth_exchange_and_bad_secret(sb: Sandbox, s: requests.Session) -> None:
    params = authorize_params(sb, None)  # no PKCE: a confidential client
    code = get_code(sb, s, params)["code"]
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": params["redirect_uri"]}
    oauth_error(token(sb, s, auth=(sb.client_id, "wrong"), **form), "invalid_client",
                "Invalid client secret")
    oauth_error(token(sb, s, auth=("f" * 32, sb.client_secret), **form), "invalid_client",
                "Invalid client")
    r = s.post(sb.accounts_url + "/api/token", data=form,
               headers={"Authorization": "Basic !!!notbase64"})
    oauth_error(r, "invalid_client", "Invalid client")
    # without a secret and without PKCE there is no way to authenticate
    oauth_error(token(sb, s, client_id=sb.client_id, **form), "invalid_request")
    r = token(sb, s, auth=(sb.client_id, sb.client_secret), **form)
    assert r.status_code == 200, r.text
    assert "refresh_token" in r.json()


def test_client_secret_in_body_works_too(sb: Sandbox, s: requests.Session) -> None:
    params = authorize_params(sb, None)
    code = get_code(sb, s, params)["code"]
    r = token(sb, s, grant_type="authorization_code", code=code,
              redirect_uri=params["redirect_uri"], client_id=sb.client_id,
              client_secret=sb.client_secret)
    assert r.status_code == 200


def test_code_is_single_use_and_reuse_revokes_its_tokens(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    code = get_code(sb, s, params)["code"]
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": params["redirect_uri"], "client_id": sb.client_id,
            "code_verifier": verifier}
    first = token(sb, s, **form).json()
    assert s.get(sb.api_url + "/me", headers=bearer(first)).status_code == 200
    oauth_error(token(sb, s, **form), "invalid_grant", "Invalid authorization code")
    # RFC 6749 section 4.1.2: what the replayed code issued is revoked
    r = s.get(sb.api_url + "/me", headers=bearer(first))
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Invalid access token"
    oauth_error(token(sb, s, grant_type="refresh_token", refresh_token=first["refresh_token"],
                      client_id=sb.client_id), "invalid_grant", "Refresh token revoked")


def test_code_expires(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    code = get_code(sb, s, params)["code"]
    time.sleep(0.6)  # code_ttl=0.5 in this module's sandbox
    oauth_error(token(sb, s, grant_type="authorization_code", code=code,
                      redirect_uri=params["redirect_uri"], client_id=sb.client_id,
                      code_verifier=verifier), "invalid_grant", "Authorization code expired")


def test_unknown_code_and_redirect_mismatch(sb: Sandbox, s: requests.Session) -> None:
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge)
    code = get_code(sb, s, params)["code"]
    form = {"grant_type": "authorization_code", "redirect_uri": params["redirect_uri"],
            "client_id": sb.client_id, "code_verifier": verifier}
    oauth_error(token(sb, s, **{**form, "code": "AQnope"}), "invalid_grant",
                "Invalid authorization code")
    oauth_error(token(sb, s, **{**form, "code": code,
                                "redirect_uri": "http://127.0.0.1:9999/callback"}),
                "invalid_grant", "Invalid redirect URI")
    oauth_error(token(sb, s, **{**form, "redirect_uri": ""}), "invalid_request")
    oauth_error(token(sb, s, **{**form, "code": ""}), "invalid_request")
    assert token(sb, s, **{**form, "code": code}).status_code == 200


def test_grant_type_errors(sb: Sandbox, s: requests.Session) -> None:
    oauth_error(token(sb, s, client_id=sb.client_id), "unsupported_grant_type",
                "grant_type parameter is missing")
    oauth_error(token(sb, s, grant_type="password", client_id=sb.client_id),
                "unsupported_grant_type")
    oauth_error(token(sb, s, grant_type="authorization_code", client_id="nobody"),
                "invalid_client", "Invalid client")
    r = s.get(sb.accounts_url + "/api/token")
    assert r.status_code == 405


# ------------------------------------------------------------------ refresh_token grant
def test_refresh_with_rotation(sb: Sandbox, s: requests.Session) -> None:
    first = login(sb, s)
    r = token(sb, s, grant_type="refresh_token", refresh_token=first["refresh_token"],
              client_id=sb.client_id)
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]
    assert s.get(sb.api_url + "/me", headers=bearer(second)).status_code == 200
    oauth_error(token(sb, s, grant_type="refresh_token", refresh_token=first["refresh_token"],
                      client_id=sb.client_id), "invalid_grant", "Invalid refresh token")
    r = token(sb, s, grant_type="refresh_token", refresh_token=second["refresh_token"],
              client_id=sb.client_id)
    assert r.status_code == 200


def test_refresh_without_rotation_omits_refresh_token() -> None:
    with Sandbox(rotate_refresh_tokens=False, seed_history=0) as sb, requests.Session() as s:
        first = login(sb, s)
        for _ in range(2):
            r = token(sb, s, grant_type="refresh_token", refresh_token=first["refresh_token"],
                      client_id=sb.client_id)
            assert r.status_code == 200
            assert set(r.json()) == {"access_token", "token_type", "scope", "expires_in"}


def test_refresh_errors(sb: Sandbox, s: requests.Session) -> None:
    answer = sb.issue_token(["user-read-private"])
    oauth_error(token(sb, s, grant_type="refresh_token", client_id=sb.client_id),
                "invalid_request")
    oauth_error(token(sb, s, grant_type="refresh_token", refresh_token="AQnope",
                      client_id=sb.client_id), "invalid_grant", "Invalid refresh token")
    oauth_error(token(sb, s, grant_type="refresh_token", refresh_token=answer["refresh_token"],
                      auth=(sb.client_id, "bad")), "invalid_client", "Invalid client secret")
    r = token(sb, s, grant_type="refresh_token", refresh_token=answer["refresh_token"],
              auth=(sb.client_id, sb.client_secret))
    assert r.status_code == 200  # Basic works for a refresh too


def test_confidential_refresh_token_needs_the_secret(sb: Sandbox, s: requests.Session) -> None:
    params = authorize_params(sb, None)
    code = get_code(sb, s, params)["code"]
    answer = token(sb, s, auth=(sb.client_id, sb.client_secret), grant_type="authorization_code",
                   code=code, redirect_uri=params["redirect_uri"]).json()
    oauth_error(token(sb, s, grant_type="refresh_token", refresh_token=answer["refresh_token"],
                      client_id=sb.client_id), "invalid_client")


def test_revoked_refresh_tokens() -> None:
    with Sandbox(seed_history=0) as sb, requests.Session() as s:
        answer = login(sb, s)
        sb.revoke_refresh_tokens()
        oauth_error(token(sb, s, grant_type="refresh_token", refresh_token=answer["refresh_token"],
                          client_id=sb.client_id), "invalid_grant", "Refresh token revoked")
        # access tokens stay valid until they expire
        assert s.get(sb.api_url + "/me", headers=bearer(answer)).status_code == 200
        fresh = login(sb, s)  # a new login is not affected
        r = token(sb, s, grant_type="refresh_token", refresh_token=fresh["refresh_token"],
                  client_id=sb.client_id)
        assert r.status_code == 200


def test_access_token_ttl_is_configurable() -> None:
    with Sandbox(access_token_ttl=1, seed_history=0) as sb, requests.Session() as s:
        answer = login(sb, s)
        assert answer["expires_in"] == 1
        assert s.get(sb.api_url + "/me", headers=bearer(answer)).status_code == 200
        time.sleep(1.05)
        r = s.get(sb.api_url + "/me", headers=bearer(answer))
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "The access token expired"
        r = token(sb, s, grant_type="refresh_token", refresh_token=answer["refresh_token"],
                  client_id=sb.client_id)
        assert s.get(sb.api_url + "/me", headers=bearer(r.json())).status_code == 200


def test_tokens_are_opaque_random_strings(sb: Sandbox) -> None:
    a, b = sb.issue_token(), sb.issue_token()
    assert a["access_token"] != b["access_token"]
    assert a["refresh_token"] != b["refresh_token"]
    assert sb.client_id not in a["access_token"]
    decoded = base64.urlsafe_b64decode(a["access_token"][2:] + "==")
    assert b"user" not in decoded


# ------------------------------------------------------------------ the stand-in browser
def test_browser_agrees_and_visits_the_callback() -> None:
    import http.server
    import queue
    import threading

    got: queue.Queue[str] = queue.Queue()

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            got.put(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    listener = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=listener.serve_forever, args=(0.05,), daemon=True).start()
    uri = f"http://127.0.0.1:{listener.server_address[1]}/callback"
    try:
        with Sandbox(seed_history=0) as sb:
            verifier, challenge = pkce_pair()
            params = authorize_params(sb, challenge, redirect_uri=uri)
            url = requests.Request("GET", sb.accounts_url + "/authorize",
                                   params=params).prepare().url
            assert url is not None
            assert sb.browser(url) is None
            path = got.get(timeout=5)
            query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            assert query["state"] == params["state"]
            r = requests.post(sb.accounts_url + "/api/token", data={
                "grant_type": "authorization_code", "code": query["code"], "redirect_uri": uri,
                "client_id": sb.client_id, "code_verifier": verifier})
            assert r.status_code == 200
            assert sb.browser_error is None
            # agreed once: only show_dialog=true brings the consent page (and Cancel) back
            denied = sb.browser(url + "&show_dialog=true", agree=False, background=False)
            assert denied is not None
            assert "error=access_denied" in denied
            bad = url.replace(sb.client_id, "0" * 32)
            with pytest.raises(RuntimeError, match="400"):
                sb.browser(bad, background=False)
            assert got.get(timeout=1).startswith("/callback?error=access_denied")
    finally:
        listener.shutdown()
        listener.server_close()
