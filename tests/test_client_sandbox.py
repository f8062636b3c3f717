"""End to end: the real client path (settings from the environment, TokenManager over the token
cache) against the sandbox over loopback sockets, with faults queued through its admin API."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakes import seed_login

from spotkit.auth.cache import TokenCache
from spotkit.auth.tokens import TokenManager
from spotkit.cli import main
from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.errors import (
    LoginRequired,
    MalformedResponse,
    MissingScope,
    NetworkError,
    NoActiveDevice,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from spotkit.records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS
from spotkit.sandbox import Sandbox

NOW = "/v1/me/player/currently-playing"
REFRESHES = "POST /api/token grant_type=refresh_token"


@pytest.fixture
def sp(spotkit_env: Sandbox) -> Iterator[Spotify]:
    seed_login(spotkit_env)
    with Spotify() as client:
        spotkit_env.reset_log()
        yield client


def count(sb: Sandbox, key: str) -> int:
    return sb.counts().get(key, 0)


# --- the happy paths ---------------------------------------------------------------------------


def test_default_path_uses_environment_and_token_manager(sp: Spotify,
                                                         spotkit_env: Sandbox) -> None:
    assert isinstance(sp.auth, TokenManager)
    assert sp.settings.api_url == spotkit_env.api_url
    assert sp.me()["id"] == spotkit_env.user["id"]


def test_now_playing_track_episode_ad_nothing(sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    track = sb.track_uris[0]
    sb.set_playing(track, progress_ms=1000)
    record = sp.now_playing()
    assert record is not None
    assert tuple(record) == NOW_PLAYING_COLUMNS
    assert (record["item_type"], record["item_uri"], record["is_playing"]) == ("track", track, True)
    assert record["name"]
    assert record["artists"]
    assert record["album"]
    assert record["progress_ms"] >= 1000
    assert record["image_url"].startswith(sb.base_url)

    episode = sb.episode_uris[0]
    sb.set_playing(episode, is_playing=False)
    record = sp.now_playing()
    assert record is not None
    assert (record["item_type"], record["item_uri"], record["is_playing"]) == (
        "episode", episode, False)
    assert record["album"]  # the show's name

    sb.set_playing("ad")
    record = sp.now_playing()
    assert record is not None
    assert record["item_type"] == "ad"
    assert record["name"] is None

    sb.set_playing(None)
    assert sp.now_playing() is None
    assert sp.playback() is None
    query = sb.requests(NOW)[0]["query"]
    assert query.get("additional_types") in ("track,episode", ["track,episode"])


def test_playback_has_device(sp: Spotify, spotkit_env: Sandbox) -> None:
    spotkit_env.set_playing(spotkit_env.track_uris[1])
    record = sp.playback()
    assert record is not None
    assert record["device_name"]
    assert record["shuffle"] in (True, False)
    assert record["repeat"] in ("off", "track", "context")


def test_recently_played_matches_history(sp: Spotify, spotkit_env: Sandbox) -> None:
    history = spotkit_env.play_history()
    records = sp.recently_played(limit=5)
    assert [tuple(r) for r in records] == [HISTORY_COLUMNS] * 5
    newest = sorted(history, key=lambda p: p["played_at_ms"], reverse=True)[:5]
    assert [r["item_uri"] for r in records] == [p["uri"] for p in newest]
    assert [int(r["played_at"].timestamp() * 1000) for r in records] == [
        p["played_at_ms"] for p in newest]


def test_iter_recently_played_follows_cursors(sp: Spotify, spotkit_env: Sandbox) -> None:
    everything = sp.recently_played(limit=50)
    paged = list(sp.iter_recently_played(limit=7))
    assert [r["played_at"] for r in paged] == [r["played_at"] for r in everything]
    assert len(paged) == len(everything) > 7
    assert count(spotkit_env, "GET /v1/me/player/recently-played") >= 3


def test_player_commands(sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    sb.set_playing(sb.track_uris[0])
    sp.pause()
    record = sp.playback()
    assert record is not None
    assert record["is_playing"] is False
    sp.play(sb.device_id)
    sp.next()
    record = sp.now_playing()
    assert record is not None
    assert record["item_uri"] == sb.track_uris[1]
    sp.previous()
    assert count(sb, "POST /v1/me/player/next") == count(sb, "POST /v1/me/player/previous") == 1


def test_player_errors(sp: Spotify, spotkit_env: Sandbox) -> None:
    spotkit_env.set_playing(None)
    with pytest.raises(NoActiveDevice) as no_device:
        sp.pause()
    assert no_device.value.reason == "NO_ACTIVE_DEVICE"
    spotkit_env.set_user(product="free")
    with pytest.raises(PremiumRequired) as premium:
        sp.next()
    assert (premium.value.status, premium.value.reason) == (403, "PREMIUM_REQUIRED")
    assert count(spotkit_env, "POST /v1/me/player/next") == 1


# --- 429 ---------------------------------------------------------------------------------------


def test_short_429_waited_for_real(sp: Spotify, spotkit_env: Sandbox) -> None:
    spotkit_env.queue_fault(NOW, status=429, retry_after=0.2)
    start = time.monotonic()
    sp.now_playing()
    assert time.monotonic() - start >= 0.2
    assert count(spotkit_env, f"GET {NOW}") == 2


def test_long_429_raises_at_once(sp: Spotify, spotkit_env: Sandbox, sleeps: list[float]) -> None:
    spotkit_env.queue_fault(NOW, status=429, retry_after=3600)
    with pytest.raises(RateLimited) as info:
        sp.now_playing()
    assert info.value.retry_after == 3600
    assert sleeps == []
    assert count(spotkit_env, f"GET {NOW}") == 1


def test_quota_exceeded(sp: Spotify, spotkit_env: Sandbox, sleeps: list[float]) -> None:
    spotkit_env.queue_fault(NOW, status=429, reason="QUOTA_EXCEEDED", retry_after=1)
    with pytest.raises(QuotaExceeded) as info:
        sp.now_playing()
    assert info.value.reason == "QUOTA_EXCEEDED"
    assert sleeps == []


def test_repeated_short_429_gives_up(sp: Spotify, spotkit_env: Sandbox,
                                     sleeps: list[float]) -> None:
    spotkit_env.queue_fault(NOW, status=429, retry_after=1, times=0)
    with pytest.raises(RateLimited):
        sp.now_playing()
    assert sleeps == [1.0, 1.0, 1.0]
    assert count(spotkit_env, f"GET {NOW}") == 4


# --- 5xx, malformed bodies ---------------------------------------------------------------------


def test_5xx_then_success(sp: Spotify, spotkit_env: Sandbox, sleeps: list[float]) -> None:
    spotkit_env.queue_fault(NOW, status=503, times=1)
    spotkit_env.queue_fault(NOW, status=502, kind="html", times=1)
    assert sp.now_playing() is not None
    assert len(sleeps) == 2
    assert count(spotkit_env, f"GET {NOW}") == 3


def test_5xx_persistent(sp: Spotify, spotkit_env: Sandbox, sleeps: list[float]) -> None:
    spotkit_env.queue_fault(NOW, status=500, kind="html", times=0)
    with pytest.raises(ServerError, match="HTML page") as info:
        sp.now_playing()
    assert info.value.status == 500
    assert count(spotkit_env, f"GET {NOW}") == 4


def test_post_not_repeated_after_500(sp: Spotify, spotkit_env: Sandbox,
                                     sleeps: list[float]) -> None:
    spotkit_env.queue_fault("/v1/me/player/next", status=500)
    with pytest.raises(ServerError):
        sp.next()
    assert count(spotkit_env, "POST /v1/me/player/next") == 1


@pytest.mark.parametrize(("kind", "match"), [("malformed", "not valid JSON"),
                                             ("html", "HTML page")])
def test_malformed_success_bodies(sp: Spotify, spotkit_env: Sandbox, kind: str,
                                  match: str) -> None:
    spotkit_env.queue_fault(NOW, status=200, kind=kind)
    with pytest.raises(MalformedResponse, match=match):
        sp.now_playing()


def test_empty_success_body_is_malformed_not_nothing_playing(sp: Spotify,
                                                             spotkit_env: Sandbox) -> None:
    spotkit_env.queue_fault(NOW, status=200, kind="empty")
    with pytest.raises(MalformedResponse, match="empty body"):
        sp.now_playing()


def test_slow_answer_times_out(spotkit_env: Sandbox, sleeps: list[float]) -> None:
    seed_login(spotkit_env)
    spotkit_env.queue_fault(NOW, status=None, delay=1.0, times=0)
    with Spotify(timeout=(1.0, 0.2), retries=1) as sp, \
            pytest.raises(NetworkError, match="timed out after 2 attempts"):
        sp.now_playing()


# --- 401 and refresh ---------------------------------------------------------------------------


def test_expired_token_is_refreshed_once(sp: Spotify, spotkit_env: Sandbox) -> None:
    assert sp.now_playing() is not None
    spotkit_env.expire_access_tokens()
    assert sp.now_playing() is not None
    assert count(spotkit_env, REFRESHES) == 1
    assert [e["status"] for e in spotkit_env.requests(NOW)] == [200, 401, 200]
    # the new token was written to the cache for the next process
    settings = load_settings()
    cached = TokenCache(settings.cache_path).load(spotkit_env.client_id)
    assert cached is not None
    assert cached.access_token == sp.auth.access_token()


def test_refresh_single_flight_across_threads(sp: Spotify, spotkit_env: Sandbox) -> None:
    sp.now_playing()
    spotkit_env.expire_access_tokens()
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                sp.now_playing()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(spotkit_env, REFRESHES) == 1


def test_revoked_login_says_log_in(sp: Spotify, spotkit_env: Sandbox) -> None:
    spotkit_env.revoke_refresh_tokens()
    spotkit_env.expire_access_tokens()
    with pytest.raises(LoginRequired, match="spotkit login"):
        sp.now_playing()


def test_fault_401_then_refresh(sp: Spotify, spotkit_env: Sandbox) -> None:
    spotkit_env.queue_fault(NOW, status=401)
    assert sp.now_playing() is not None
    assert count(spotkit_env, REFRESHES) == 1


# --- scopes ------------------------------------------------------------------------------------


def test_missing_scope_before_the_request(spotkit_env: Sandbox) -> None:
    seed_login(spotkit_env, scopes=["user-read-currently-playing", "user-read-playback-state"])
    with Spotify() as sp:
        spotkit_env.reset_log()
        assert sp.now_playing() is not None
        with pytest.raises(MissingScope, match="user-read-recently-played"):
            sp.recently_played()
    assert count(spotkit_env, "GET /v1/me/player/recently-played") == 0


def test_missing_scope_from_spotify_403(spotkit_env: Sandbox) -> None:
    """A token source that cannot check scopes still gets MissingScope from Spotify's 403."""
    answer = spotkit_env.issue_token(["user-read-currently-playing"])

    class Plain:
        def access_token(self) -> str:
            return str(answer["access_token"])

        def refresh(self, stale: str | None = None) -> object:
            return None

    with Spotify(auth=Plain()) as sp, pytest.raises(MissingScope, match="recently-played"):
        sp.recently_played()


# --- logging and the command line --------------------------------------------------------------


def test_debug_log_over_the_wire(sp: Spotify, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="spotkit"):
        sp.recently_played(after=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "spotkit.http"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /me/player/recently-played -> 200 in ")
    assert sp.auth.access_token() not in caplog.text


def test_cli_now_and_recent(spotkit_env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    seed_login(spotkit_env)
    spotkit_env.set_playing(spotkit_env.track_uris[0])
    assert main(["now"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Currently playing track: ")
    assert " by " in out
    assert main(["now", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["item_uri"] == spotkit_env.track_uris[0]
    spotkit_env.set_playing(None)
    assert main(["now"]) == 0
    assert capsys.readouterr().out == "Nothing is playing\n"
    assert main(["recent", "--limit", "3", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    assert len(rows) == 4


def test_cli_not_logged_in(spotkit_env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recent"]) == 1
    err = capsys.readouterr().err
    assert "spotkit login" in err
    assert "Traceback" not in err


# --- the admin API from another "process" ------------------------------------------------------


def test_faults_through_the_admin_http_api(sp: Spotify, spotkit_env: Sandbox,
                                           sleeps: list[float]) -> None:
    admin = spotkit_env.base_url + "/_sandbox"
    body: dict[str, Any] = {"path": NOW, "status": 429, "retry_after": 7200}
    requests.post(f"{admin}/faults", json=body, timeout=5).raise_for_status()
    with pytest.raises(RateLimited) as info:
        sp.now_playing()
    assert info.value.retry_after == 7200
