"""spotkit.backoff: one process's 429 makes every spotkit process of the app wait or raise."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses
from fakes import FakeTokens

from spotkit import Spotify
from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.auth.tokens import TokenManager
from spotkit.backoff import MAX_BLOCK, SharedBackoff
from spotkit.config import Settings, load_settings
from spotkit.errors import RateLimited

API = "http://127.0.0.1:9/v1"
ME = f"{API}/me"


def settings_in(tmp_path: Path) -> object:
    return load_settings(env={"SPOTIFY_CLIENT_ID": "c" * 32, "SPOTKIT_API_URL": API,
                              "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")}, dotenv=False)


def test_the_file_sits_next_to_the_token_cache_and_is_private(tmp_path: Path) -> None:
    backoff = SharedBackoff.for_app(settings_in(tmp_path))  # type: ignore[arg-type]
    assert backoff is not None
    assert backoff.path == tmp_path / f"backoff-{'c' * 32}.json"
    backoff.block(30)
    assert stat.S_IMODE(backoff.path.stat().st_mode) == 0o600
    until = json.loads(backoff.path.read_text())["blocked_until"]
    assert 29 < until - time.time() <= 30
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, moved over


def test_a_block_only_moves_later_and_is_capped(tmp_path: Path) -> None:
    backoff = SharedBackoff(tmp_path / "b.json")
    backoff.block(60)
    backoff.block(5)
    assert 55 < backoff.remaining() <= 60
    backoff.block(1e12)
    assert backoff.remaining() <= MAX_BLOCK
    for bad in (float("nan"), float("inf"), -1, 0):
        backoff.block(bad)
    assert backoff.remaining() <= MAX_BLOCK


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"blocked_until": "x"}',
                                     b'{"blocked_until": true}', b"\xff\xfe"])
def test_a_damaged_file_means_not_blocked(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(content)
    assert SharedBackoff(path).remaining() == 0.0


def test_a_hostile_far_future_file_blocks_a_day_at_most(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"blocked_until": time.time() + 10 * 365 * 86400}))
    assert SharedBackoff(path).remaining() == MAX_BLOCK


def test_wait_or_raise(tmp_path: Path) -> None:
    backoff = SharedBackoff(tmp_path / "b.json")
    slept: list[float] = []
    backoff.wait_or_raise(5, sleep=slept.append)
    assert slept == []
    backoff.block(3)
    backoff.wait_or_raise(5, sleep=slept.append)
    assert len(slept) == 1
    assert 2.5 < slept[0] <= 3
    with pytest.raises(RateLimited) as info:
        backoff.wait_or_raise(1, sleep=slept.append, what="GET /me")
    assert 2.5 < (info.value.retry_after or 0) <= 3
    assert "GET /me was not sent" in str(info.value)
    with pytest.raises(RateLimited):  # a wait the deadline cannot hold
        backoff.wait_or_raise(5, deadline=1, sleep=slept.append)


def test_an_unwritable_file_still_blocks_this_process(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    backoff = SharedBackoff(blocker / "b.json")  # a folder that is a file: cannot be written
    backoff.block(30)
    assert 29 < backoff.remaining() <= 30


@responses.activate
def test_a_429_blocks_the_next_call_without_sending_it(tmp_path: Path, tokens: FakeTokens,
                                                       sleeps: list[float]) -> None:
    responses.get(ME, status=429, headers={"Retry-After": "120"}, json={})
    settings = settings_in(tmp_path)
    with Spotify(settings, auth=tokens) as sp:  # type: ignore[arg-type]
        with pytest.raises(RateLimited):
            sp.me()
        assert sp.backoff is not None
        assert 110 < sp.backoff.remaining() <= 120
        with pytest.raises(RateLimited, match="was not sent") as info:
            sp.me()
    assert len(responses.calls) == 1
    assert 110 < (info.value.retry_after or 0) <= 120


CHILD = textwrap.dedent("""
    import sys, time
    from spotkit import Spotify
    from spotkit.errors import RateLimited
    from spotkit.http import RetryPolicy

    class Tokens:
        def access_token(self): return "t"
        def refresh(self, stale, /): return None

    sp = Spotify(auth=Tokens(), policy=RetryPolicy(max_retry_wait=float(sys.argv[1]), retries=0))
    if len(sys.argv) > 2:  # started up; call only when the parent says so
        print("ready", flush=True)
        sys.stdin.readline()
    started = time.time()
    try:
        sp.me()
    except RateLimited as exc:
        print("RateLimited", round(exc.retry_after), sp.calls)
    except Exception as exc:
        print(type(exc).__name__, started, time.time(), sp.calls)
""")


def child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    env.update(SPOTIFY_CLIENT_ID="c" * 32, SPOTKIT_API_URL=API,
               SPOTKIT_CACHE_PATH=str(tmp_path / "tokens.json"))
    return env


def run_child(tmp_path: Path, max_retry_wait: float) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(max_retry_wait)],
                         env=child_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.split()


def run_child_blocked_for(tmp_path: Path, backoff: SharedBackoff, seconds: float,
                          max_retry_wait: float) -> list[str]:
    """Start a child, and once it has started up (however slowly) block the app for `seconds`
    and let it call: its output, with the wall-clock times it began and ended the call."""
    with subprocess.Popen([sys.executable, "-c", CHILD, str(max_retry_wait), "wait"],
                          env=child_env(tmp_path), cwd=tmp_path, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        backoff.block(seconds)
        out, _ = child.communicate("go\n", timeout=60)
    assert child.returncode == 0
    return out.split()


@responses.activate
def test_another_process_raises_or_waits_instead_of_calling(tmp_path: Path, tokens: FakeTokens,
                                                            sleeps: list[float]) -> None:
    responses.get(ME, status=429, headers={"Retry-After": "600"}, json={})
    with Spotify(settings_in(tmp_path), auth=tokens) as sp, pytest.raises(RateLimited):  # type: ignore[arg-type]
        sp.me()
    # a second process of the same app: blocked 600 s > its max_retry_wait, so no call at all
    name, retry_after, calls = run_child(tmp_path, max_retry_wait=5)
    assert name == "RateLimited"
    assert 590 <= int(retry_after) <= 600
    assert calls == "0"

    # a block that ends within the child's max_retry_wait is waited out, then the call is sent:
    # asked while blocked, it sends the call only once the recorded block is over (causality on
    # the one wall clock both processes read, so a slow, loaded machine cannot fail it)
    backoff = SharedBackoff.for_app(settings_in(tmp_path))  # type: ignore[arg-type]
    assert backoff is not None
    backoff.path.unlink()
    name, started, ended, calls = run_child_blocked_for(tmp_path, backoff, 1.5, max_retry_wait=5)
    assert name == "NetworkError"  # nothing listens on port 9: the call was sent, after the wait
    until = backoff.blocked_until()
    assert float(started) < until <= float(ended)
    assert calls == "1"


# --- both services: a 429 from the token endpoint blocks the Web API, and the other way round ---

ACCOUNTS = "http://127.0.0.1:9/accounts"


def expired_login_in(tmp_path: Path) -> Settings:
    settings = load_settings(env={"SPOTIFY_CLIENT_ID": "c" * 32, "SPOTKIT_API_URL": API,
                                  "SPOTKIT_ACCOUNTS_URL": ACCOUNTS,
                                  "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")},
                             dotenv=False)
    token = Token(access_token="old", refresh_token="rt", expires_at=time.time() - 60,
                  authorized_at=time.time() - 86400)
    TokenCache(settings.cache_path).save("c" * 32, "u", token)
    return settings


@responses.activate
def test_a_429_from_the_token_endpoint_blocks_the_web_api_of_every_client(
        tmp_path: Path, tokens: FakeTokens, sleeps: list[float]) -> None:
    settings = expired_login_in(tmp_path)
    responses.post(settings.token_url, status=429, headers={"Retry-After": "300"}, json={})
    responses.get(ME, json={"id": "u"})
    with Spotify(settings) as sp, pytest.raises(RateLimited) as info:
        sp.me()  # the expired token is refreshed first: 429
    assert info.value.path == urlsplit(settings.token_url).path
    backoff = SharedBackoff.for_app(settings)
    assert backoff is not None
    assert 290 < backoff.remaining() <= 300  # recorded in the app's file, for every process
    # another client of the app, with a valid token of its own: its Web API call is not sent
    with Spotify(settings, auth=tokens) as other, pytest.raises(RateLimited, match="not sent"):
        other.me()
    assert [c.request.method for c in responses.calls] == ["POST"]
    assert sleeps == []


@responses.activate
def test_a_429_from_the_web_api_blocks_a_token_refresh(tmp_path: Path, tokens: FakeTokens,
                                                       sleeps: list[float]) -> None:
    settings = expired_login_in(tmp_path)
    responses.get(ME, status=429, headers={"Retry-After": "300"}, json={})
    responses.post(settings.token_url, json={"access_token": "new", "expires_in": 3600})
    with Spotify(settings, auth=tokens) as sp, pytest.raises(RateLimited):
        sp.me()
    with pytest.raises(RateLimited, match="POST /accounts/api/token was not sent"):
        TokenManager(settings).token()
    assert [c.request.method for c in responses.calls] == ["GET"]
    # a manager told to keep to itself sends the refresh
    assert TokenManager(settings, backoff=False).token().access_token == "new"
