"""spotkit.http: the policy object, the deadline, per-host proxies and the layers' requests."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import responses
from fakes import FakeTokens

from spotkit import Spotify
from spotkit.config import load_settings
from spotkit.errors import Unauthorized
from spotkit.http import DEFAULT_DEADLINE, Deadline, RetryPolicy, Sender, make_session, parse_retry_after

API = "http://127.0.0.1:9/v1"


def test_the_default_deadline_and_its_validation() -> None:
    assert RetryPolicy().deadline == DEFAULT_DEADLINE == 15.0
    assert RetryPolicy(max_retry_wait=60).deadline == 70.0  # a wait you allowed is not cut off
    assert RetryPolicy(deadline=2).deadline == 2.0
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="deadline"):
            RetryPolicy(deadline=bad)


def test_deadline_caps_each_socket_timeout() -> None:
    deadline = Deadline(1.0)
    connect, read = deadline.cap((3.05, 10.0))
    assert connect <= 1.0
    assert read <= 1.0
    assert Deadline(100).cap(2.0) == (2.0, 2.0)
    assert not Deadline(1.0).allows(5.0)


def test_retry_after_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True),
                             now=now) == 0.0
    for bad in (None, "", "soon", "inf", "nan", "1e400", "Mon, 99 Foo 2026 99:99:99 GMT"):
        assert parse_retry_after(bad, now=now) is None


def test_spotify_takes_the_policy_whole(tokens: FakeTokens) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    policy = RetryPolicy(retries=1, max_retry_wait=2, deadline=4)
    with Spotify(settings, auth=tokens, policy=policy) as sp:
        assert sp.policy is policy
    with Spotify(settings, auth=tokens, retries=5, max_retry_wait=1) as sp:  # the old keywords
        assert (sp.policy.retries, sp.policy.max_retry_wait) == (5, 1)
    with pytest.raises(TypeError, match="either policy= or retries="):
        Spotify(settings, auth=tokens, policy=policy, retries=2)


def test_proxies_are_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "accounts.spotify.com")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/my-ca.pem")
    session = make_session()
    assert session.trust_env is False  # nothing re-read per request
    assert session.verify == "/etc/ssl/my-ca.pem"
    api = Sender("https://api.spotify.com/v1", session)
    accounts = Sender("https://accounts.spotify.com", session)
    assert api.proxies == {"https": "http://proxy.invalid:3128"}
    assert accounts.proxies is None  # NO_PROXY: straight to the accounts host
    monkeypatch.setenv("NO_PROXY", "*")
    assert api.proxies == {"https": "http://proxy.invalid:3128"}  # read once, not per call


@responses.activate
def test_a_401_that_survives_a_refresh_says_to_log_in(tokens: FakeTokens) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    responses.get(f"{API}/me", status=401, json={"error": {"status": 401,
                                                           "message": "Invalid access token"}})
    with Spotify(settings, auth=tokens) as sp, pytest.raises(Unauthorized) as info:
        sp.me()
    assert "run `spotkit login`" in str(info.value)
    assert len(responses.calls) == 2  # the call, one refresh, the call again
    assert tokens.refreshed == ["secret-token-1"]
    first, second = (c.request.headers["Authorization"] for c in responses.calls)
    assert first != second  # the second call carried the refreshed token


def test_the_watchdog_thread_sleeps_when_nothing_is_in_flight(tokens: FakeTokens) -> None:
    from spotkit import http

    deadline = Deadline(0.05)
    guard = http._Guard(deadline.end)
    http._watchdog.watch(guard)
    time.sleep(0.2)
    assert guard.fired  # nothing finished it: the watchdog cut it off
    done = http._Guard(Deadline(0.05).end)
    http._watchdog.watch(done)
    done.finish()
    time.sleep(0.2)
    assert not done.fired
    assert isinstance(requests.Session(), requests.Session)
