"""Spotify client against mocked HTTP (responses): requests made, records, errors, retry policy."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from fakes import FakeTokens, api_error, example
from urllib3.exceptions import MaxRetryError, NewConnectionError

import spotkit.client as client_mod
from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.errors import (
    Forbidden,
    MalformedResponse,
    MissingScope,
    NetworkError,
    NoActiveDevice,
    NotFound,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
    SpotifyAPIError,
    Unauthorized,
)
from spotkit.http import RetryPolicy, parse_retry_after
from spotkit.records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS

API = "http://127.0.0.1:9/v1"
NOW_URL = f"{API}/me/player/currently-playing"
PLAYER_URL = f"{API}/me/player"
RECENT_URL = f"{API}/me/player/recently-played"
FETCHED = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


class BareTokens:
    """A TokenSource without require_scopes (the Protocol's minimum)."""

    def access_token(self) -> str:
        return "bare-token"

    def refresh(self, stale: str | None = None) -> object:
        return None


@pytest.fixture
def sp(tokens: FakeTokens, sleeps: list[float]) -> Iterator[Spotify]:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    with Spotify(settings, auth=tokens, clock=lambda: FETCHED) as client:
        yield client


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# --- reading -----------------------------------------------------------------------------------


def test_now_playing_request_and_record(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, json=example("GetUsersCurrentlyPlayingTrackRequest"))
    record = sp.now_playing()
    assert record is not None
    assert tuple(record) == NOW_PLAYING_COLUMNS
    assert record["name"] == "Dancing Queen"
    assert record["fetched_at"] == FETCHED
    call = mocked.calls[0]
    assert query(call) == {"additional_types": ["track,episode"]}
    assert call.request.headers["Authorization"] == "Bearer secret-token-1"
    assert call.request.headers["Accept"] == "application/json"
    kwargs = call.request.req_kwargs  # type: ignore[attr-defined]
    assert kwargs["timeout"] == (3.05, 10.0)
    assert sp.calls == 1


def test_now_playing_episode_is_not_none(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, json=example("GetUsersCurrentlyPlayingTrackRequest_Episode"))
    record = sp.now_playing()
    assert record is not None
    assert record["item_type"] == "episode"


@pytest.mark.parametrize(("body", "item_type", "name"), [
    ({"is_playing": True, "currently_playing_type": "ad", "item": None, "progress_ms": 5},
     "ad", None),
    ({"is_playing": True, "currently_playing_type": "unknown", "item": None}, "unknown", None),
    ({"currently_playing_type": "episode", "item": None}, "episode", None),
    ({"item": {"type": "track", "name": "Only a name"}}, "track", "Only a name"),
    ({"is_playing": None, "item": {"type": "track", "name": None, "album": None,
                                   "artists": None}}, "track", None),
])
def test_now_playing_own_bodies(sp: Spotify, mocked: responses.RequestsMock, body: Any,
                                item_type: str, name: str | None) -> None:
    mocked.get(NOW_URL, json=body)
    record = sp.now_playing()
    assert record is not None
    assert tuple(record) == NOW_PLAYING_COLUMNS
    assert record["item_type"] == item_type
    assert record["name"] == name
    assert record["artists"] is None


def test_now_playing_other_types_and_market(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=204)
    assert sp.now_playing(additional_types="track", market="SE") is None
    assert query(mocked.calls[0]) == {"additional_types": ["track"], "market": ["SE"]}
    assert sp.now_playing(additional_types=None) is None
    assert query(mocked.calls[1]) == {}


@pytest.mark.parametrize("url", [NOW_URL, PLAYER_URL])
def test_204_is_nothing_playing_but_an_empty_200_is_malformed(
        sp: Spotify, mocked: responses.RequestsMock, url: str) -> None:
    mocked.get(url, status=204)
    mocked.get(url, status=200, body=b"")
    method = sp.now_playing if url == NOW_URL else sp.playback
    assert method() is None
    with pytest.raises(MalformedResponse, match=r"200 .* empty body instead of JSON"):
        method()


def test_playback_has_device_and_states(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(PLAYER_URL, json=example("GetInformationAboutUsersCurrentPlaybackRequest"))
    record = sp.playback()
    assert record is not None
    assert record["device_name"] == "My fridge"
    assert record["repeat"] == "off"
    assert query(mocked.calls[0]) == {"additional_types": ["track,episode"]}


def test_me_returns_profile(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/me", json=example("GetCurrentUsersProfileRequest"))
    assert sp.me()["id"] == "wizzler"
    mocked.replace(responses.GET, f"{API}/me", status=204)
    with pytest.raises(MalformedResponse):
        sp.me()


def test_raw_get(sp: Spotify, mocked: responses.RequestsMock, tokens: FakeTokens) -> None:
    mocked.get(f"{API}/me/player", json={"x": 1})
    assert sp.raw_get("me/player", {"market": "SE"}) == {"x": 1}
    assert query(mocked.calls[0]) == {"market": ["SE"]}
    assert tokens.scope_checks == [("user-read-playback-state",)]


def test_recently_played(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=example("GetCurrentUsersRecentlyPlayedTracksRequest"))
    records = sp.recently_played()
    assert [tuple(r) for r in records] == [HISTORY_COLUMNS] * 2
    assert records[0]["name"] == "Solitary Daze"
    assert query(mocked.calls[0]) == {"limit": ["50"]}
    page = sp.recently_played_page(after=datetime(2023, 9, 22, tzinfo=timezone.utc), limit=2)
    assert page.cursor_before == 1695396194294
    assert page.raw_count == 2
    assert query(mocked.calls[1]) == {"limit": ["2"], "after": ["1695340800000"]}
    sp.recently_played(before=1695396194294)
    assert query(mocked.calls[2]) == {"limit": ["50"], "before": ["1695396194294"]}


def test_datetime_cursors_are_exact_to_the_millisecond(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json={"items": [], "cursors": None, "limit": 1})
    sp.recently_played(after=datetime(2023, 9, 22, 15, 23, 14, 293999, tzinfo=timezone.utc), limit=1)
    assert query(mocked.calls[0])["after"] == ["1695396194293"]


@pytest.mark.parametrize("kwargs", [
    {"after": 1, "before": 2}, {"limit": 0}, {"limit": 51}, {"limit": True}, {"after": -1},
    {"before": "yesterday"},
])
def test_recently_played_rejects_bad_arguments(sp: Spotify, mocked: responses.RequestsMock,
                                               kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages differ per case
        sp.recently_played(**kwargs)
    assert sp.calls == 0


def _page(played: list[int], after: int | None, before: int | None) -> dict[str, Any]:
    items = [{"played_at": datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(),
              "track": {"type": "track", "name": f"t{ms}"}} for ms in played]
    cursors = None if after is None else {"after": str(after), "before": str(before)}
    return {"items": items, "cursors": cursors, "limit": 2}


def test_iter_recently_played_follows_before_cursors(sp: Spotify,
                                                      mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=_page([5000, 4000], 5000, 4000))
    mocked.get(RECENT_URL, json=_page([3000, 2000], 3000, 2000))
    mocked.get(RECENT_URL, json=_page([1000], 1000, 1000))
    names = [r["name"] for r in sp.iter_recently_played(limit=2)]
    assert names == ["t5000", "t4000", "t3000", "t2000", "t1000"]
    assert [query(c).get("before") for c in mocked.calls] == [None, ["4000"], ["2000"]]


def test_iter_recently_played_forward_and_stops(sp: Spotify,
                                                mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=_page([3000, 2000], 3000, 2000))
    mocked.get(RECENT_URL, json=_page([], None, None))
    names = [r["name"] for r in sp.iter_recently_played(after=1000, limit=2)]
    assert names == ["t3000", "t2000"]
    assert [query(c)["after"] for c in mocked.calls] == [["1000"], ["3000"]]


def test_iter_recently_played_max_pages_and_repeated_cursor(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=_page([5000, 4000], 5000, 4000))
    assert len(list(sp.iter_recently_played(limit=2, max_pages=1))) == 2
    assert sp.calls == 1
    # the same cursor again would loop forever: stop
    assert len(list(sp.iter_recently_played(before=4000, limit=2))) == 2
    assert sp.calls == 2


# --- playback control --------------------------------------------------------------------------


def test_player_commands(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.put(f"{API}/me/player/play", status=204)
    mocked.put(f"{API}/me/player/pause", status=204)
    mocked.post(f"{API}/me/player/next", status=204)
    mocked.post(f"{API}/me/player/previous", status=204)
    sp.play()
    sp.play("dev1", uris=["spotify:track:x"], position_ms=0)
    sp.pause(device_id="dev1")
    sp.next()
    sp.previous("dev2")
    calls = mocked.calls
    assert [c.request.method for c in calls] == ["PUT", "PUT", "PUT", "POST", "POST"]
    assert calls[0].request.body is None
    assert query(calls[0]) == {}
    assert json.loads(calls[1].request.body or b"") == {"uris": ["spotify:track:x"], "position_ms": 0}
    assert query(calls[1]) == {"device_id": ["dev1"]}
    assert query(calls[2]) == {"device_id": ["dev1"]}
    assert query(calls[4]) == {"device_id": ["dev2"]}


def test_premium_required_and_no_active_device(sp: Spotify,
                                               mocked: responses.RequestsMock) -> None:
    mocked.put(f"{API}/me/player/play", status=403, json=api_error(
        403, "Player command failed: Premium required", "PREMIUM_REQUIRED"))
    mocked.put(f"{API}/me/player/pause", status=404, json=api_error(
        404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE"))
    with pytest.raises(PremiumRequired) as premium:
        sp.play()
    assert premium.value.status == 403
    assert premium.value.reason == "PREMIUM_REQUIRED"
    assert premium.value.message == "Player command failed: Premium required"
    assert "PUT /me/player/play" in str(premium.value)
    with pytest.raises(NoActiveDevice) as device:
        sp.pause()
    assert isinstance(device.value, NotFound)
    assert device.value.reason == "NO_ACTIVE_DEVICE"


@pytest.mark.parametrize(("status", "reason", "cls"), [
    (403, None, Forbidden), (404, None, NotFound), (400, None, SpotifyAPIError),
    (418, "TEAPOT", SpotifyAPIError),
])
def test_status_to_error_class(sp: Spotify, mocked: responses.RequestsMock, status: int,
                               reason: str | None, cls: type[SpotifyAPIError]) -> None:
    mocked.get(NOW_URL, status=status, json=api_error(status, "nope", reason))
    with pytest.raises(cls) as info:
        sp.now_playing()
    assert type(info.value) is cls
    assert (info.value.status, info.value.message, info.value.reason) == (status, "nope", reason)
    assert sp.calls == 1


def test_error_without_json_body_is_typed(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=404, body="<html><body>Not here</body></html>",
               content_type="text/html")
    with pytest.raises(NotFound, match="HTML page"):
        sp.now_playing()


def test_accounts_style_api_error(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=400, json={"error": "invalid_request",
                                          "error_description": "bad"})
    with pytest.raises(SpotifyAPIError, match="invalid_request: bad"):
        sp.now_playing()


# --- malformed success bodies ------------------------------------------------------------------


@pytest.mark.parametrize(("body", "hint"), [
    (b"<!DOCTYPE html><html>Gateway</html>", "HTML page"),
    (b'{"is_playing": true, "item": {"na', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
])
def test_non_json_success_is_malformed(sp: Spotify, mocked: responses.RequestsMock,
                                       body: bytes, hint: str) -> None:
    mocked.get(NOW_URL, status=200, body=body)
    with pytest.raises(MalformedResponse, match=hint) as info:
        sp.now_playing()
    assert not isinstance(info.value, ValueError)
    assert info.value.status == 200
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_json_that_is_not_an_object_is_malformed(sp: Spotify,
                                                  mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, json=[1, 2])
    with pytest.raises(MalformedResponse):
        sp.now_playing()


# --- 401: refresh once, retry once -------------------------------------------------------------


def test_401_refreshes_and_retries_once(sp: Spotify, mocked: responses.RequestsMock,
                                        tokens: FakeTokens) -> None:
    mocked.get(NOW_URL, status=401, json=api_error(401, "The access token expired"))
    mocked.get(NOW_URL, status=204)
    assert sp.now_playing() is None
    assert tokens.refreshed == ["secret-token-1"]
    assert [c.request.headers["Authorization"] for c in mocked.calls] == [
        "Bearer secret-token-1", "Bearer secret-token-2"]


def test_second_401_is_unauthorized(sp: Spotify, mocked: responses.RequestsMock,
                                    tokens: FakeTokens, sleeps: list[float]) -> None:
    mocked.get(NOW_URL, status=401, json=api_error(401, "Invalid access token"))
    with pytest.raises(Unauthorized) as info:
        sp.now_playing()
    assert info.value.status == 401
    assert info.value.message == "Invalid access token"
    assert tokens.refreshed == ["secret-token-1"]
    assert sp.calls == 2
    assert sleeps == []


def test_401_refresh_failure_propagates(sp: Spotify, mocked: responses.RequestsMock,
                                        tokens: FakeTokens) -> None:
    from spotkit.errors import LoginRequired

    def refuse(stale: str | None = None) -> object:
        raise LoginRequired("Run `spotkit login`.")

    tokens.refresh = refuse  # type: ignore[method-assign]
    mocked.get(NOW_URL, status=401, json=api_error(401, "The access token expired"))
    with pytest.raises(LoginRequired):
        sp.now_playing()


# --- scopes ------------------------------------------------------------------------------------


def test_missing_scope_raised_before_any_request(mocked: responses.RequestsMock,
                                                 sleeps: list[float]) -> None:
    tokens = FakeTokens(scopes={"user-read-currently-playing"})
    sp = Spotify(load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False), auth=tokens)
    with pytest.raises(MissingScope) as info:
        sp.recently_played()
    assert info.value.missing == ("user-read-recently-played",)
    assert sp.calls == 0
    assert len(mocked.calls) == 0


def test_scope_check_once_per_token(sp: Spotify, mocked: responses.RequestsMock,
                                    tokens: FakeTokens) -> None:
    mocked.get(NOW_URL, status=204)
    mocked.get(f"{API}/me", json={"id": "u"})
    sp.now_playing()
    sp.now_playing()
    sp.me()  # needs no scope: not asked
    assert tokens.scope_checks == [("user-read-currently-playing",)]
    tokens.refresh(None)  # a new token may have other scopes
    sp.now_playing()
    assert len(tokens.scope_checks) == 2


def test_spotify_insufficient_scope_403_is_missing_scope(sp: Spotify,
                                                         mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, status=403, json=api_error(403, "Insufficient client scope"))
    with pytest.raises(MissingScope, match="user-read-recently-played") as info:
        sp.recently_played()
    assert isinstance(info.value.__cause__, Forbidden)


def test_token_source_without_require_scopes(mocked: responses.RequestsMock) -> None:
    sp = Spotify(load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False), auth=BareTokens())
    mocked.get(RECENT_URL, json={"items": []})
    assert sp.recently_played() == []
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer bare-token"


# --- 429 ---------------------------------------------------------------------------------------


def rate_limited(retry_after: str | None, reason: str | None = None) -> dict[str, Any]:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return {"status": 429, "json": api_error(429, "API rate limit exceeded", reason),
            "headers": headers}


def test_short_429_is_waited_out(sp: Spotify, mocked: responses.RequestsMock,
                                 sleeps: list[float]) -> None:
    mocked.get(NOW_URL, **rate_limited("2"))
    mocked.get(NOW_URL, status=204)
    assert sp.now_playing() is None
    assert sleeps == [2.0]
    assert sp.calls == 2


def test_long_429_raises_at_once(sp: Spotify, mocked: responses.RequestsMock,
                                 sleeps: list[float]) -> None:
    mocked.get(NOW_URL, **rate_limited("3600"))
    with pytest.raises(RateLimited) as info:
        sp.now_playing()
    assert info.value.retry_after == 3600.0
    assert info.value.status == 429
    assert sleeps == []
    assert sp.calls == 1
    assert not isinstance(info.value, ServerError)


def test_quota_exceeded_raises_at_once(sp: Spotify, mocked: responses.RequestsMock,
                                       sleeps: list[float]) -> None:
    mocked.get(NOW_URL, **rate_limited("1", "QUOTA_EXCEEDED"))
    with pytest.raises(QuotaExceeded) as info:
        sp.now_playing()
    assert info.value.reason == "QUOTA_EXCEEDED"
    assert info.value.retry_after == 1.0
    assert sleeps == []
    assert sp.calls == 1


def test_429_cap_is_configurable(tokens: FakeTokens, mocked: responses.RequestsMock,
                                 sleeps: list[float]) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    sp = Spotify(settings, auth=tokens, max_retry_wait=0.5)
    mocked.get(NOW_URL, **rate_limited("1"))
    with pytest.raises(RateLimited):
        sp.now_playing()
    assert sleeps == []
    sp = Spotify(settings, auth=tokens, max_retry_wait=60)
    mocked.replace(responses.GET, NOW_URL, **rate_limited("30"))
    mocked.add(responses.GET, NOW_URL, status=204)
    assert sp.now_playing() is None
    assert sleeps == [30.0]


def test_429_repeated_gives_up_after_retries(sp: Spotify, mocked: responses.RequestsMock,
                                             sleeps: list[float]) -> None:
    mocked.get(NOW_URL, **rate_limited("1"))
    with pytest.raises(RateLimited):
        sp.now_playing()
    assert sp.calls == 4
    assert sleeps == [1.0, 1.0, 1.0]


def test_429_without_retry_after_backs_off(sp: Spotify, mocked: responses.RequestsMock,
                                           sleeps: list[float]) -> None:
    mocked.get(NOW_URL, **rate_limited(None))
    mocked.get(NOW_URL, status=204)
    sp.now_playing()
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


def test_429_on_post_is_retried(sp: Spotify, mocked: responses.RequestsMock,
                                sleeps: list[float]) -> None:
    mocked.post(f"{API}/me/player/next", **rate_limited("1"))
    mocked.post(f"{API}/me/player/next", status=204)
    sp.next()
    assert sp.calls == 2


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now=now) == 90.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad) is None


# --- 5xx and the network -----------------------------------------------------------------------


def test_5xx_retried_with_jittered_backoff(sp: Spotify, mocked: responses.RequestsMock,
                                           sleeps: list[float]) -> None:
    mocked.get(NOW_URL, status=500, json=api_error(500, "Server error"))
    mocked.get(NOW_URL, status=502, body="<html>Bad gateway</html>")
    mocked.get(NOW_URL, status=204)
    assert sp.now_playing() is None
    assert sp.calls == 3
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_5xx_persistent_is_server_error(sp: Spotify, mocked: responses.RequestsMock,
                                        sleeps: list[float]) -> None:
    mocked.get(NOW_URL, status=503, body="<html>Service unavailable</html>")
    with pytest.raises(ServerError, match="HTML page") as info:
        sp.now_playing()
    assert info.value.status == 503
    assert not isinstance(info.value, RateLimited)
    assert sp.calls == 4
    assert len(sleeps) == 3


def test_retries_are_configurable(tokens: FakeTokens, mocked: responses.RequestsMock,
                                  sleeps: list[float]) -> None:
    sp = Spotify(load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False), auth=tokens,
                 retries=0)
    mocked.get(NOW_URL, status=500)
    with pytest.raises(ServerError):
        sp.now_playing()
    assert sp.calls == 1
    assert sleeps == []


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, backoff_cap=2.0)
    assert all(0 <= policy.backoff_delay(n) <= 2.0 for n in range(50))
    with pytest.raises(ValueError):  # noqa: PT011
        RetryPolicy(retries=-1)


def test_post_not_retried_after_500(sp: Spotify, mocked: responses.RequestsMock,
                                    sleeps: list[float]) -> None:
    mocked.post(f"{API}/me/player/next", status=500, json=api_error(500, "oops"))
    with pytest.raises(ServerError):
        sp.next()
    assert sp.calls == 1
    assert sleeps == []


def test_post_retried_after_503(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/me/player/previous", status=503)
    mocked.post(f"{API}/me/player/previous", status=204)
    sp.previous()
    assert sp.calls == 2


def refused() -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))  # type: ignore[arg-type]


def test_connection_refused_retried_even_for_post(sp: Spotify, mocked: responses.RequestsMock,
                                                  sleeps: list[float]) -> None:
    mocked.post(f"{API}/me/player/next", body=refused())
    mocked.post(f"{API}/me/player/next", status=204)
    sp.next()
    assert sp.calls == 2
    assert len(sleeps) == 1


def test_post_not_retried_after_read_timeout(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/me/player/next", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(NetworkError, match="may or may not"):
        sp.next()
    assert sp.calls == 1


def test_get_retried_after_read_timeout(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, body=requests.ReadTimeout("read timed out"))
    mocked.get(NOW_URL, body=requests.ConnectionError("Connection aborted."))
    mocked.get(NOW_URL, status=204)
    assert sp.now_playing() is None
    assert sp.calls == 3


def test_network_down_is_network_error(sp: Spotify, mocked: responses.RequestsMock,
                                       sleeps: list[float]) -> None:
    mocked.get(NOW_URL, body=refused())
    with pytest.raises(NetworkError, match="could not connect after 4 attempts") as info:
        sp.now_playing()
    assert "127.0.0.1:9" in str(info.value)
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_real_refused_connection_and_timeout_setting(tokens: FakeTokens,
                                                     sleeps: list[float]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(env={"SPOTKIT_API_URL": f"http://127.0.0.1:{port}/v1"}, dotenv=False)
    sp = Spotify(settings, auth=tokens, timeout=0.5, retries=1)
    with pytest.raises(NetworkError, match="could not connect"):
        sp.now_playing()
    assert sp.calls == 2


# --- logging, reprs, sessions, threads ---------------------------------------------------------


def test_debug_log_line_has_no_secrets(sp: Spotify, mocked: responses.RequestsMock,
                                       caplog: pytest.LogCaptureFixture) -> None:
    mocked.get(RECENT_URL, json={"items": []})
    with caplog.at_level(logging.DEBUG, logger="spotkit"):
        sp.recently_played(after=123)
    lines = [r.getMessage() for r in caplog.records if r.name == "spotkit.http"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /me/player/recently-played -> 200 in ")
    assert lines[0].endswith(" ms")
    assert "secret-token" not in caplog.text
    assert "after=" not in caplog.text


def test_debug_logs_retries(sp: Spotify, mocked: responses.RequestsMock,
                            caplog: pytest.LogCaptureFixture) -> None:
    mocked.get(NOW_URL, **rate_limited("1"))
    mocked.get(NOW_URL, status=204)
    with caplog.at_level(logging.DEBUG, logger="spotkit"):
        sp.now_playing()
    text = caplog.text
    assert "-> 429" in text
    assert "retrying in 1.00 s" in text
    assert "-> 204" in text


def test_repr_and_errors_never_show_the_token(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=500)
    with pytest.raises(ServerError) as info:
        sp.now_playing()
    for text in (repr(sp), repr(sp._http), repr(vars(sp._http)), str(info.value)):
        assert "secret-token" not in text


def test_one_session_for_every_call(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=204)
    session = sp.session
    sp.now_playing()
    sp.now_playing()
    assert sp.session is session


def test_close_only_closes_own_session(tokens: FakeTokens) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    mine = requests.Session()
    closed: list[str] = []
    mine.close = lambda: closed.append("mine")  # type: ignore[method-assign]
    with Spotify(settings, auth=tokens, session=mine) as sp:
        assert sp.session is mine
    assert closed == []
    sp = Spotify(settings, auth=tokens)
    sp.session.close = lambda: closed.append("own")  # type: ignore[method-assign]
    sp.close()
    assert closed == ["own"]


def test_base_url_from_environment(tokens: FakeTokens, mocked: responses.RequestsMock,
                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPOTKIT_API_URL", "http://127.0.0.1:7/elsewhere/v1/")
    mocked.get("http://127.0.0.1:7/elsewhere/v1/me/player/currently-playing", status=204)
    assert Spotify(auth=tokens).now_playing() is None


def test_threads_share_one_client(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, json=example("GetUsersCurrentlyPlayingTrackRequest"))
    errors: list[BaseException] = []
    names: list[str] = []

    def work() -> None:
        try:
            for _ in range(20):
                record = sp.now_playing()
                assert record is not None
                names.append(record["name"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert names == ["Dancing Queen"] * 120
    assert sp.calls == 120


# --- module-level shortcuts --------------------------------------------------------------------


@pytest.fixture
def no_default() -> Iterator[None]:
    old = client_mod.set_default_client(None)
    yield
    client_mod.set_default_client(old)


def test_shortcuts_use_the_default_client(sp: Spotify, mocked: responses.RequestsMock,
                                          no_default: None) -> None:
    client_mod.set_default_client(sp)
    mocked.get(NOW_URL, json=example("GetUsersCurrentlyPlayingTrackRequest"))
    mocked.get(PLAYER_URL, status=204)
    mocked.get(RECENT_URL, json={"items": []})
    mocked.get(f"{API}/me", json={"id": "u"})
    for verb, url in (("PUT", "play"), ("PUT", "pause"), ("POST", "next"), ("POST", "previous")):
        mocked.add(verb, f"{API}/me/player/{url}", status=204)
    record = client_mod.now_playing()
    assert record is not None
    assert record["name"] == "Dancing Queen"
    assert client_mod.playback() is None
    assert client_mod.recently_played(limit=3) == []
    assert client_mod.me() == {"id": "u"}
    client_mod.play()
    client_mod.pause()
    client_mod.next_track()
    client_mod.previous_track("d")
    assert sp.calls == 8
    assert client_mod.default_client() is sp


def test_default_client_created_once_across_threads(monkeypatch: pytest.MonkeyPatch,
                                                    no_default: None) -> None:
    created: list[object] = []
    barrier = threading.Barrier(8)

    class Slow:
        def __init__(self) -> None:
            created.append(self)

    monkeypatch.setattr(client_mod, "Spotify", Slow)
    seen: list[object] = []

    def grab() -> None:
        barrier.wait()
        seen.append(client_mod.default_client())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 1
    assert all(c is created[0] for c in seen)


def test_default_auth_is_the_token_manager(tmp_path: Path) -> None:
    tokens_mod = pytest.importorskip("spotkit.auth.tokens")
    settings = load_settings(env={"SPOTIFY_CLIENT_ID": "a" * 32, "SPOTKIT_API_URL": API},
                             cache_path=tmp_path / "tokens.json", dotenv=False)
    sp = Spotify(settings)
    assert isinstance(sp.auth, tokens_mod.TokenManager)
    from spotkit.errors import LoginRequired

    with pytest.raises(LoginRequired, match="spotkit login"):
        sp.now_playing()
    assert sp.calls == 0
