"""`spotkit doctor` / `spotkit.doctor()`: every check passes on the sandbox, and each fault is reported."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import spotkit
from spotkit.auth.token import Token
from spotkit.cli import main
from spotkit.diagnosis import (
    DASHBOARD_FIXES,
    Diagnosis,
    doctor,
    explain,
)
from spotkit.errors import Forbidden, NotFound, PremiumRequired, TokenRequestError
from spotkit.sandbox import Sandbox

ORDER = ["configuration", "client id", "redirect URI", "token cache", "scopes", "refresh token",
         "accounts service", "Web API and /me", "playback control", "features"]


def _login(sb: Sandbox, **options: Any) -> None:
    spotkit.login(open_browser=sb.browser, timeout=30, **options)


def _statuses(diagnosis: Diagnosis) -> dict[str, str]:
    return {c.name: c.status for c in diagnosis.checks}


def test_on_the_sandbox_every_check_passes(spotkit_env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    _login(spotkit_env)
    diagnosis = spotkit.doctor()
    assert [c.name for c in diagnosis.checks] == ORDER
    assert set(_statuses(diagnosis).values()) == {"ok"}, diagnosis.text()
    assert diagnosis.ok
    assert "logged in as Sandy Box" in diagnosis["Web API and /me"].detail
    assert "SPOTIFY_CLIENT_ID" in diagnosis["configuration"].detail
    assert "mode 600" in diagnosis["token cache"].detail
    token = spotkit.TokenCache(Path("tokens.json")).load(spotkit_env.client_id)
    assert token is not None
    until = token.valid_until
    assert until is not None
    assert diagnosis["refresh token"].detail == f"valid until {until:%Y-%m-%d}"  # six months from now
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("0 problems, 0 warnings.")


def test_a_notebook_shows_a_table_without_secrets(spotkit_env: Sandbox) -> None:
    _login(spotkit_env)
    html = spotkit.doctor()._repr_html_()
    assert html.count("<tr>") == len(ORDER) + 1
    assert "accounts service" in html
    token = spotkit.TokenCache(Path("tokens.json")).load(spotkit_env.client_id)
    assert token is not None
    assert token.access_token not in html
    assert token.refresh_token not in html


def test_without_a_client_id_it_says_what_works_anyway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    assert main(["doctor"]) == 0  # a warning, not a problem
    out = capsys.readouterr().out
    assert "WARNING  configuration:" in out
    assert "no SPOTIFY_CLIENT_ID" in out
    assert "data export" in out


def test_a_setting_spotify_would_reject_is_a_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SPOTIFY_CLIENT_ID=0123456789abcdef0123456789abcdef\n"
                                   "SPOTIFY_REDIRECT_URI=http://localhost:8888/callback\n")
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIFY_REDIRECT_URI", raising=False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  configuration:" in out
    assert "localhost" in out
    assert "Traceback" not in out


def test_a_client_id_of_the_wrong_shape(spotkit_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "my-app")
    diagnosis = doctor()
    assert diagnosis["client id"].status == "problem"
    assert "Client ID" in diagnosis["client id"].fix
    assert diagnosis["accounts service"].status == "problem"


def test_a_client_id_spotify_does_not_know(spotkit_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "0" * 32)
    check = doctor()["accounts service"]
    assert check.status == "problem"
    assert "Invalid client" in check.detail
    assert "copy the Client ID" in check.fix


def test_a_redirect_uri_not_registered(spotkit_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "http://127.0.0.1:8765/elsewhere"
    monkeypatch.setenv("SPOTIFY_REDIRECT_URI", uri)
    check = doctor()["accounts service"]
    assert check.status == "problem"
    assert "Invalid redirect URI" in check.detail
    assert uri in check.fix
    assert "Redirect URIs" in check.fix


def test_a_busy_redirect_port(spotkit_env: Sandbox) -> None:
    _login(spotkit_env)
    assert doctor()["redirect URI"].status == "ok"  # the port the login just used is free again
    port = int(spotkit.load_settings().redirect_uri.split(":")[2].split("/")[0])
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the login left it in TIME_WAIT
        busy.bind(("127.0.0.1", port))
        busy.listen()
        check = doctor()["redirect URI"]
    assert check.status == "warning"
    assert f"port {port} is in use" in check.detail
    assert "SPOTIFY_REDIRECT_URI" in check.fix


def test_nobody_logged_in(spotkit_env: Sandbox) -> None:
    diagnosis = doctor()
    assert diagnosis["token cache"].status == "warning"
    assert "spotkit login" in diagnosis["token cache"].fix
    assert "scopes" not in _statuses(diagnosis)  # nothing to check without a token
    assert diagnosis.ok


def test_a_token_cache_others_can_read(spotkit_env: Sandbox, tmp_path: Path) -> None:
    _login(spotkit_env)
    (tmp_path / "tokens.json").chmod(0o644)
    check = doctor()["token cache"]
    assert check.status == "problem"
    assert "chmod 600" in check.fix


def test_scopes_not_granted_name_the_features_lost(spotkit_env: Sandbox) -> None:
    _login(spotkit_env, scopes="user-read-private user-read-currently-playing")
    diagnosis = doctor()
    check = diagnosis["scopes"]
    assert check.status == "warning"
    assert "user-modify-playback-state" in check.detail
    assert "play, pause, next, previous" in check.detail
    assert diagnosis["features"].status == "warning"
    assert "now playing" in diagnosis["features"].detail.split("; not:")[0]


def test_a_revoked_login(spotkit_env: Sandbox) -> None:
    _login(spotkit_env)
    spotkit_env.expire_access_tokens()
    spotkit_env.revoke_refresh_tokens()
    check = doctor()["Web API and /me"]
    assert check.status == "problem"
    assert "spotkit login" in check.fix


def test_a_user_not_added_to_the_app(spotkit_env: Sandbox) -> None:
    _login(spotkit_env)
    spotkit_env.queue_fault("/v1/me", status=403, times=0, body={"error": {
        "status": 403,
        "message": "Check settings on developer.spotify.com/dashboard, the user may not be registered."}})
    check = doctor()["Web API and /me"]
    assert check.status == "problem"
    assert "User Management" in check.fix


def test_the_web_api_unreachable(spotkit_env: Sandbox, monkeypatch: pytest.MonkeyPatch,
                                 sleeps: list[float]) -> None:
    _login(spotkit_env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("SPOTKIT_API_URL", f"http://127.0.0.1:{closed}/v1")
    check = doctor()["Web API and /me"]
    assert check.status == "problem"
    assert "cannot reach" in check.detail


def test_a_quota_used_up_is_a_warning(spotkit_env: Sandbox, sleeps: list[float]) -> None:
    _login(spotkit_env)
    spotkit_env.queue_fault("/v1/me", status=429, times=0, reason="QUOTA_EXCEEDED", retry_after=3600)
    check = doctor()["Web API and /me"]
    assert check.status == "warning"


@pytest.mark.parametrize("spotify_sandbox", [{"premium": False}], indirect=True)
def test_a_free_account_cannot_control_playback(spotkit_env: Sandbox) -> None:
    _login(spotkit_env)
    diagnosis = doctor()
    assert diagnosis["playback control"].status == "warning"
    assert "Premium" in diagnosis["playback control"].fix
    assert "play, pause, next, previous (Premium)" in diagnosis["features"].detail
    assert diagnosis.ok  # reading still works: warnings, no problem


@pytest.mark.parametrize(("error", "words"), [
    ("INVALID_CLIENT: Invalid redirect URI", "Redirect URIs"),
    ("INVALID_CLIENT: Invalid client", "Client ID"),
    (TokenRequestError("Spotify refused", error="invalid_client", description="Invalid client secret"),
     None),
    ("invalid_client: Invalid client secret", "View client secret"),
    (Forbidden(403, "Check settings on developer.spotify.com/dashboard, the user may not be registered.",
               method="GET", path="/me"), "User Management"),
    (Forbidden(403, "Forbidden", method="GET", path="/me"), "User Management"),
    (PremiumRequired(403, "Player command failed: Premium required", "PREMIUM_REQUIRED"), "Premium owner"),
    ("invalid_grant: Invalid refresh token", "6 months"),
    (NotFound(404, "Service not found"), None),
])
def test_each_dashboard_error_is_explained_with_the_step_that_fixes_it(error: Any, words: str | None) -> None:
    text = explain(error)
    if words is None:
        assert text is None or "secret" in text
    else:
        assert text is not None
        assert words in text


def test_every_dashboard_fix_is_reachable() -> None:
    for marker in DASHBOARD_FIXES:
        assert explain(f"Spotify said: {marker}") == DASHBOARD_FIXES[marker].format(
            redirect_uri="your redirect URI")


@pytest.mark.parametrize(("days_left", "status"), [(100, "ok"), (5, "warning"), (-5, "problem")])
def test_a_login_ending_soon_or_ended(days_left: float, status: str) -> None:
    """Six months after the sign-in (about 183 days): ok, within two weeks a warning, then a problem."""
    from spotkit.config import load_settings
    from spotkit.diagnosis import _refresh_token, _State

    signed_in = datetime.now(timezone.utc) - timedelta(days=183 - days_left)
    token = Token("a", "r", authorized_at=signed_in.timestamp())
    assert token.valid_until is not None
    check = _refresh_token(_State(load_settings(dotenv=False), 1.0, token=token))
    assert check is not None
    assert check.status == status
    assert f"{token.valid_until:%Y-%m-%d}" in check.detail
    if status != "ok":
        assert "spotkit login" in check.fix
