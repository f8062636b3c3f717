"""The sandbox's test controls: faults on demand, the request log and counters, and the
/_sandbox/ admin API that mirrors the in-process helpers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from sandbox_helpers import bearer, error_body, login

from spotkit.sandbox import Sandbox


@pytest.fixture
def sb() -> Any:
    with Sandbox(seed_history=5) as sandbox:
        yield sandbox


# ------------------------------------------------------------------ faults
def test_429_with_retry_after_and_quota_reason_is_consumed(sb: Sandbox, s: requests.Session) -> None:
    sb.queue_fault("/v1/me/player", status=429, times=2, retry_after=7, reason="QUOTA_EXCEEDED")
    for _ in range(2):
        r = s.get(sb.api_url + "/me/player")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "7"
        assert error_body(r) == {"status": 429, "message": "API rate limit exceeded",
                                 "reason": "QUOTA_EXCEEDED"}
    assert s.get(sb.api_url + "/me/player").status_code == 200
    sb.queue_fault("/v1/me/player", status=429)
    r = s.get(sb.api_url + "/me/player")
    assert r.headers["Retry-After"] == "1"
    assert "reason" not in error_body(r)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(sb: Sandbox, s: requests.Session, status: int) -> None:
    sb.queue_fault("/v1/me/player/currently-playing", status=status)
    r = s.get(sb.api_url + "/me/player/currently-playing")
    assert r.status_code == status
    assert error_body(r)["status"] == status
    assert s.get(sb.api_url + "/me/player/currently-playing").status_code == 200


def test_401_fault(sb: Sandbox, s: requests.Session) -> None:
    sb.queue_fault("/v1/me", status=401)
    r = s.get(sb.api_url + "/me")
    assert error_body(r) == {"status": 401, "message": "The access token expired"}
    assert s.get(sb.api_url + "/me").status_code == 200


def test_token_endpoint_faults(sb: Sandbox) -> None:
    answer = sb.issue_token()
    form = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
            "client_id": sb.client_id}
    sb.queue_fault("/api/token", status=400)
    r = requests.post(sb.accounts_url + "/api/token", data=form)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    sb.queue_fault("/api/token", status=503)
    assert requests.post(sb.accounts_url + "/api/token", data=form).json()["error"] == \
        "server_error"
    sb.queue_fault("/api/token", status=400,
                   body={"error": "invalid_client", "error_description": "Invalid client"})
    assert requests.post(sb.accounts_url + "/api/token", data=form).json()["error"] == \
        "invalid_client"
    assert requests.post(sb.accounts_url + "/api/token", data=form).status_code == 200


def test_fault_kinds(sb: Sandbox, s: requests.Session) -> None:
    url = sb.api_url + "/me/player"
    sb.queue_fault("/v1/me/player", status=502, kind="html")
    r = s.get(url)
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text
    sb.queue_fault("/v1/me/player", status=200, kind="malformed")
    r = s.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError, match=r"."):
        r.json()
    sb.queue_fault("/v1/me/player", status=200, kind="empty")
    r = s.get(url)
    assert r.status_code == 200
    assert r.content == b""
    sb.queue_fault("/v1/me/player", status=200, body={"weird": True})
    assert s.get(url).json() == {"weird": True}
    assert s.get(url).json()["currently_playing_type"] == "track"
    with pytest.raises(ValueError, match="kind"):
        sb.queue_fault("/v1/me", kind="xml")


def test_delay_alone_answers_normally_but_late(sb: Sandbox, s: requests.Session) -> None:
    sb.queue_fault("/v1/me", status=None, delay=0.3)
    started = time.monotonic()
    r = s.get(sb.api_url + "/me")
    assert time.monotonic() - started >= 0.3
    assert r.status_code == 200
    sb.queue_fault("/v1/me", status=503, delay=1.0)
    with pytest.raises(requests.Timeout):
        requests.get(sb.api_url + "/me", headers=s.headers, timeout=0.2)


def test_slow_answer_does_not_block_others(sb: Sandbox, s: requests.Session) -> None:
    sb.queue_fault("/v1/me", status=None, delay=5.0)
    with pytest.raises(requests.Timeout):
        requests.get(sb.api_url + "/me", headers=s.headers, timeout=0.3)
    started = time.monotonic()  # the slow handler holds no lock while it waits
    assert s.get(sb.api_url + "/me/player").status_code == 200
    assert time.monotonic() - started < 0.5
    # and stopping the sandbox does not wait for it (checked by the fixture's teardown)


def test_method_filter_times_zero_and_clear(sb: Sandbox, s: requests.Session) -> None:
    sb.queue_fault("/v1/me/player/pause", status=503, method="put", times=0)
    assert s.get(sb.api_url + "/me/player").status_code == 200  # other path
    for _ in range(3):
        assert s.put(sb.api_url + "/me/player/pause").status_code == 503
    assert sb.state()["faults"][0]["times"] == 0
    sb.clear_faults()
    assert s.put(sb.api_url + "/me/player/pause").status_code == 204


def test_faults_over_http(sb: Sandbox, s: requests.Session) -> None:
    admin = sb.base_url + "/_sandbox/faults"
    r = requests.post(admin, json={"path": "/v1/me", "status": 429, "retry_after": 3,
                                   "reason": "QUOTA_EXCEEDED", "times": 1})
    assert r.status_code == 200
    assert requests.get(admin).json()[0]["path"] == "/v1/me"
    r = s.get(sb.api_url + "/me")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert requests.get(admin).json() == []
    requests.post(admin, json={"path": "/v1/me", "status": 500, "times": 0})
    assert requests.delete(admin).status_code == 200
    assert s.get(sb.api_url + "/me").status_code == 200
    assert requests.post(admin, json={"path": "/v1/me", "kind": "nope"}).status_code == 400
    assert requests.post(admin, json={"status": 500}).status_code == 400
    assert requests.post(admin, data=b"{oops").status_code == 400


# ------------------------------------------------------------------ request log
def test_request_log_and_counters(sb: Sandbox, s: requests.Session) -> None:
    sb.reset_log()
    s.get(sb.api_url + "/me/player/recently-played", params={"limit": 5, "before": 123})
    s.get(sb.api_url + "/me/player")
    s.get(sb.api_url + "/me/player")
    requests.get(sb.api_url + "/me/player")  # no token: 401, still logged
    requests.get(sb.base_url + "/_sandbox/state")  # admin calls are not logged
    log = sb.requests()
    assert [e["path"] for e in log] == ["/v1/me/player/recently-played"] + ["/v1/me/player"] * 3
    first = log[0]
    assert first["method"] == "GET"
    assert first["query"] == {"limit": "5", "before": "123"}
    assert first["status"] == 200
    assert abs(first["time"] - time.time()) < 10
    assert [e["status"] for e in sb.requests("/v1/me/player")] == [200, 200, 401]
    assert sb.counts() == {"GET /v1/me/player/recently-played": 1, "GET /v1/me/player": 3}
    sb.reset_log()
    assert sb.requests() == []
    assert sb.counts() == {}


def test_counts_token_grants_and_never_logs_secrets(sb: Sandbox) -> None:
    sb.reset_log()
    with requests.Session() as s:
        answer = login(sb, s)
        refreshed = s.post(sb.accounts_url + "/api/token", data={
            "grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
            "client_id": sb.client_id}).json()
        s.get(sb.api_url + "/me", headers=bearer(refreshed),
              params={"access_token": "leak-me", "code": "leak-code"})
        s.post(sb.accounts_url + "/api/token", data={"grant_type": "bogus grant!"})
    counts = sb.counts()
    assert counts["POST /api/token"] == 3
    assert counts["POST /api/token grant_type=authorization_code"] == 1
    assert counts["POST /api/token grant_type=refresh_token"] == 1
    assert counts["GET /authorize"] == 1
    assert counts["POST /authorize/decision"] == 1
    assert [e.get("grant_type") for e in sb.requests("/api/token")] == [
        "authorization_code", "refresh_token", "invalid"]
    dumped = json.dumps([sb.requests(), sb.counts(), sb.state()["faults"]])
    for secret in (answer["access_token"], answer["refresh_token"], refreshed["access_token"],
                   refreshed["refresh_token"], "leak-me", "leak-code", sb.client_secret):
        assert secret not in dumped
    me = sb.requests("/v1/me")[0]
    assert me["query"] == {"access_token": "[redacted]", "code": "[redacted]"}
    assert "code_challenge" in sb.requests("/authorize")[0]["query"]


def test_log_over_http(sb: Sandbox, s: requests.Session) -> None:
    s.get(sb.api_url + "/me")
    assert requests.get(sb.base_url + "/_sandbox/counts").json()["GET /v1/me"] == 1
    entries = requests.get(sb.base_url + "/_sandbox/requests",
                           params={"path": "/v1/me"}).json()
    assert [e["path"] for e in entries] == ["/v1/me"]
    assert requests.post(sb.base_url + "/_sandbox/reset-log").status_code == 200
    assert requests.get(sb.base_url + "/_sandbox/counts").json() == {}


# ------------------------------------------------------------------ the rest of the admin API
def test_admin_tokens(sb: Sandbox) -> None:
    base = sb.base_url + "/_sandbox"
    answer = requests.post(base + "/tokens", json={"scopes": ["user-read-private"]}).json()
    assert answer["scope"] == "user-read-private"
    assert answer["expires_in"] == 3600
    assert answer["token_type"] == "Bearer"
    h = bearer(answer)
    assert requests.get(sb.api_url + "/me", headers=h).status_code == 200
    assert requests.get(sb.api_url + "/me/player", headers=h).status_code == 403
    requests.post(base + "/tokens/expire")
    assert error_body(requests.get(sb.api_url + "/me", headers=h))["message"] == \
        "The access token expired"
    requests.post(base + "/tokens/revoke")
    r = requests.post(sb.accounts_url + "/api/token", data={
        "grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
        "client_id": sb.client_id})
    assert r.json() == {"error": "invalid_grant", "error_description": "Refresh token revoked"}
    everything = requests.post(base + "/tokens").json()
    assert "user-modify-playback-state" in everything["scope"].split()


def test_admin_player_user_state_history(sb: Sandbox, s: requests.Session) -> None:
    base = sb.base_url + "/_sandbox"
    state = requests.get(base + "/state").json()
    assert state["client_id"] == sb.client_id
    assert state["api_url"] == sb.api_url
    assert state["player"]["uri"] == sb.track_uris[0]
    episode = state["catalogue"]["episodes"][0]
    assert requests.post(base + "/player", json={"uri": episode, "progress_ms": 1000}
                         ).status_code == 200
    body = s.get(sb.api_url + "/me/player", params={"additional_types": "episode"}).json()
    assert body["item"]["uri"] == episode
    requests.post(base + "/player", json={"uri": "ad"})
    assert s.get(sb.api_url + "/me/player").json()["currently_playing_type"] == "ad"
    requests.post(base + "/player", json={"uri": None})
    assert s.get(sb.api_url + "/me/player").status_code == 204
    assert requests.post(base + "/player", json={"uri": "spotify:track:x"}).status_code == 400
    r = requests.post(base + "/user", json={"product": "free", "display_name": "Freddie"})
    assert r.json()["product"] == "free"
    assert s.get(sb.api_url + "/me").json()["display_name"] == "Freddie"
    assert requests.post(base + "/user", json={"product": "gold"}).status_code == 400
    history = requests.get(base + "/history").json()
    assert len(history) == 5
    assert set(history[0]) >= {"uri", "played_at_ms", "type"}
    assert requests.get(base + "/nothing").status_code == 404
