"""spotkit.auth.tokens: TokenManager (proactive and reactive refresh, single flight, rotation)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.auth.tokens import TokenManager
from spotkit.config import DEFAULT_SCOPES, Settings, load_settings
from spotkit.errors import LoginRequired, MalformedResponse, MissingScope
from spotkit.sandbox import Sandbox

ACCOUNTS = "https://accounts.example"
TOKEN_URL = f"{ACCOUNTS}/api/token"


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(client_id="cid", accounts_url=ACCOUNTS, cache_path=tmp_path / "tokens.json",
                    **kw)  # type: ignore[arg-type]


def seed(s: Settings, *, expires_in: float = 3600, scope: tuple[str, ...] = DEFAULT_SCOPES,
         user: str = "alice") -> Token:
    token = Token(f"access-{user}-0", f"refresh-{user}-0", scope, time.time() + expires_in)
    TokenCache(s.cache_path).save("cid", user, token, display_name=user.title())
    return token


def refresh_body(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


def test_fresh_token_needs_no_request(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seeded = seed(s)
    with responses.RequestsMock():  # any request would fail the test
        manager = TokenManager(s)
        assert manager.token() == seeded
        assert manager.access_token() == seeded.access_token
        assert manager.user_id == "alice"
        assert manager.display_name == "Alice"


def test_nobody_logged_in(tmp_path: Path) -> None:
    with pytest.raises(LoginRequired, match="spotkit login"):
        TokenManager(settings(tmp_path)).token()


@responses.activate
@pytest.mark.parametrize("rotate", [True, False])
def test_proactive_refresh_and_rotation(tmp_path: Path, rotate: bool) -> None:
    s = settings(tmp_path)
    seed(s, expires_in=30)  # inside the 60 s margin
    answer: dict[str, object] = {"access_token": "access-1", "token_type": "Bearer",
                                 "scope": " ".join(DEFAULT_SCOPES), "expires_in": 3600}
    if rotate:
        answer["refresh_token"] = "refresh-1"
    responses.post(TOKEN_URL, json=answer)
    manager = TokenManager(s)
    token = manager.token()
    assert token.access_token == "access-1"
    assert not token.expired()
    assert refresh_body(responses.calls[0]) == {"grant_type": "refresh_token",
                                                "refresh_token": "refresh-alice-0",
                                                "client_id": "cid"}
    stored = TokenCache(s.cache_path).load("cid")
    assert stored == token
    assert stored is not None
    assert stored.refresh_token == ("refresh-1" if rotate else "refresh-alice-0")
    manager.token()
    assert len(responses.calls) == 1


@responses.activate
def test_reactive_refresh_after_a_401(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seeded = seed(s)  # fresh by the clock, but the server said 401
    responses.post(TOKEN_URL, json={"access_token": "access-1", "expires_in": 3600})
    manager = TokenManager(s)
    assert manager.token() == seeded
    new = manager.refresh(seeded.access_token)
    assert new.access_token == "access-1"
    assert new.scope == seeded.scope
    # a second 401 answer for the same stale token (another thread): no second request
    assert manager.refresh(seeded.access_token).access_token == "access-1"
    assert len(responses.calls) == 1


@responses.activate
def test_refresh_skips_the_request_when_another_process_already_refreshed(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seeded = seed(s)
    manager, holder = TokenManager(s), TokenManager(s)
    manager.token()
    holder.token()
    newer = Token("access-other", "refresh-other", seeded.scope, time.time() + 3600)
    TokenCache(s.cache_path).save("cid", "alice", newer)  # the other process's refresh
    assert manager.refresh(seeded.access_token) == newer
    assert holder.refresh() == newer  # default: the token it holds, which is the stale one
    assert len(responses.calls) == 0


@responses.activate
def test_refresh_with_a_client_secret_uses_basic_auth(tmp_path: Path) -> None:
    s = settings(tmp_path, client_secret="sekrit")
    seed(s, expires_in=0)
    responses.post(TOKEN_URL, json={"access_token": "access-1", "expires_in": 3600})
    TokenManager(s).token()
    call = responses.calls[0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert "client_id" not in refresh_body(call)


@responses.activate
@pytest.mark.parametrize("description", ["Refresh token revoked", "Invalid refresh token"])
def test_invalid_grant_asks_to_log_in_again(tmp_path: Path, description: str) -> None:
    s = settings(tmp_path)
    seeded = seed(s, expires_in=0)
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_grant", "error_description": description})
    with pytest.raises(LoginRequired) as info:
        TokenManager(s).token()
    message = str(info.value)
    assert "spotkit login" in message
    assert "log in again" in message
    assert seeded.refresh_token is not None
    assert seeded.refresh_token not in message
    assert TokenCache(s.cache_path).load("cid") == seeded  # kept: nothing silently deleted


def test_a_token_without_refresh_token(tmp_path: Path) -> None:
    s = settings(tmp_path)
    TokenCache(s.cache_path).save("cid", "u", Token("a", None, (), time.time() - 1))
    with pytest.raises(LoginRequired, match="spotkit login"):
        TokenManager(s).token()


def test_missing_scope_names_the_scope(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seed(s, scope=("user-read-private",))
    manager = TokenManager(s)
    assert manager.require_scopes("user-read-private").scope == ("user-read-private",)
    with pytest.raises(MissingScope) as info:
        manager.require_scopes("user-read-private", "user-read-recently-played")
    assert info.value.missing == ("user-read-recently-played",)
    assert "user-read-recently-played" in str(info.value)
    assert "spotkit login" in str(info.value)
    with pytest.raises(MissingScope) as info:
        manager.require_scopes("ugc-image-upload")  # not among the configured scopes
    assert "--scopes" in str(info.value)
    assert "ugc-image-upload" in str(info.value)


def test_user_selection_and_logout(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seed(s, user="alice")
    seed(s, user="bob")
    assert TokenManager(s).token().access_token == "access-bob-0"
    alice = TokenManager(s, user_id="alice")
    assert alice.token().access_token == "access-alice-0"
    removed = alice.logout()
    assert removed is not None
    assert removed.user_id == "alice"
    assert TokenCache(s.cache_path).users("cid") == ["bob"]
    with pytest.raises(LoginRequired):
        alice.token()
    assert TokenManager(s).logout() is not None
    assert TokenManager(s).logout() is None


def test_repr_shows_no_token(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seeded = seed(s)
    manager = TokenManager(s)
    manager.token()
    assert seeded.access_token not in repr(manager)


@responses.activate
def test_sixteen_threads_one_refresh(tmp_path: Path) -> None:
    s = settings(tmp_path)
    seed(s, expires_in=-10)
    count = 0

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        nonlocal count
        count += 1
        time.sleep(0.05)  # a slow accounts service widens the race
        return 200, {}, f'{{"access_token": "access-{count}", "expires_in": 3600}}'

    responses.add_callback(responses.POST, TOKEN_URL, callback=answer)
    managers = [TokenManager(s) for _ in range(4)]  # several managers share one cache too
    barrier = threading.Barrier(16)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(5)
            results.append(managers[i % 4].access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert count == 1
    assert results == ["access-1"] * 16


# --- against the sandbox -------------------------------------------------------------------------

REFRESHES = "POST /api/token grant_type=refresh_token"


def sandbox_settings(sb: Sandbox, tmp_path: Path) -> Settings:
    env = {**sb.env, "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")}
    return load_settings(env=env, dotenv=False)


def seed_from_sandbox(sb: Sandbox, s: Settings, *, expired: bool) -> Token:
    token = Token.from_response(sb.issue_token())
    if expired:
        token = dataclasses.replace(token, expires_at=time.time() - 5)
    TokenCache(s.cache_path).save(s.client_id or "", sb.user["id"], token,
                                  display_name=sb.user["display_name"])
    return token


def me_status(s: Settings, access_token: str) -> int:
    return requests.get(f"{s.api_url}/me", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=5).status_code


@pytest.mark.parametrize("rotate", [True, False])
def test_rotation_against_the_sandbox(tmp_path: Path, rotate: bool) -> None:
    with Sandbox(rotate_refresh_tokens=rotate) as sb:
        s = sandbox_settings(sb, tmp_path)
        first = seed_from_sandbox(sb, s, expired=True)
        manager = TokenManager(s)
        second = manager.token()
        assert second.access_token != first.access_token
        assert (second.refresh_token != first.refresh_token) is rotate
        assert me_status(s, second.access_token) == 200
        # the stored refresh token is the one that works: refresh again from another manager
        sb.expire_access_tokens()
        third = TokenManager(s).refresh(second.access_token)
        assert me_status(s, third.access_token) == 200
        assert sb.counts()[REFRESHES] == 2


def test_revoked_refresh_token_against_the_sandbox(tmp_path: Path) -> None:
    with Sandbox() as sb:
        s = sandbox_settings(sb, tmp_path)
        seed_from_sandbox(sb, s, expired=True)
        sb.revoke_refresh_tokens()
        with pytest.raises(LoginRequired) as info:
            TokenManager(s).token()
        assert "Refresh token revoked" in str(info.value)
        assert "spotkit login" in str(info.value)


def test_reactive_refresh_in_threads_against_the_sandbox(tmp_path: Path) -> None:
    """16 threads get a 401 for the same token at once: one refresh, and all recover."""
    with Sandbox() as sb:
        s = sandbox_settings(sb, tmp_path)
        seed_from_sandbox(sb, s, expired=False)
        sb.expire_access_tokens()  # fresh by the clock, refused by the server
        manager = TokenManager(s)
        barrier = threading.Barrier(16)
        statuses: list[int] = []

        def worker() -> None:
            barrier.wait(5)
            token = manager.access_token()
            if me_status(s, token) == 401:
                token = manager.refresh(token).access_token
            statuses.append(me_status(s, token))

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert statuses == [200] * 16
        assert sb.counts()[REFRESHES] == 1


# One process of the multi-process test: 16 threads that all want a token at the same moment.
_WORKER = textwrap.dedent("""
    import json, sys, threading
    from spotkit.auth.tokens import TokenManager
    from spotkit.config import load_settings
    manager = TokenManager(load_settings(dotenv=False))
    barrier = threading.Barrier(16)
    got = []
    def work():
        barrier.wait(30)
        got.append(manager.access_token())
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal, sent to every process at once
    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(json.dumps(got), flush=True)
""")


@pytest.mark.slow
def test_sixteen_threads_in_four_processes_one_refresh(tmp_path: Path) -> None:
    with Sandbox() as sb:
        s = sandbox_settings(sb, tmp_path)
        seed_from_sandbox(sb, s, expired=True)
        sb.expire_access_tokens()
        sb.reset_log()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
        env.update(sb.env, SPOTKIT_CACHE_PATH=str(s.cache_path))
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER], env=env, cwd=tmp_path,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
        try:
            for p in procs:
                assert p.stdout is not None
                assert p.stdout.readline().strip() == "ready"
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            tokens: list[str] = []
            for p in procs:
                out, _ = p.communicate(timeout=60)
                assert p.returncode == 0
                tokens += json.loads(out.strip().splitlines()[-1])
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert len(tokens) == 64
        assert len(set(tokens)) == 1
        assert sb.counts()[REFRESHES] == 1
        assert me_status(s, tokens[0]) == 200


# --- writes that fail -----------------------------------------------------------------------


@responses.activate
def test_a_rotated_refresh_token_that_cannot_be_written_is_kept_and_written_later(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    s = settings(tmp_path)
    seed(s, expires_in=0)
    for n in (1, 2):
        responses.post(TOKEN_URL, json={"access_token": f"access-{n}", "expires_in": 0,
                                        "refresh_token": f"refresh-{n}"})
    real_write = TokenCache._write
    full = True

    def write(self: TokenCache, data: dict[str, object]) -> None:
        if full:  # what a full disk or a read-only folder does to the write (tests run as root)
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(TokenCache, "_write", write)
    manager = TokenManager(s)
    with caplog.at_level("WARNING", logger="spotkit"):
        assert manager.token().access_token == "access-1"  # refreshed, not saved
        assert manager.unsaved
        # expires_in=0: the next call refreshes again, with the rotated token from memory
        assert manager.refresh().access_token == "access-2"
    assert refresh_body(responses.calls[1])["refresh_token"] == "refresh-1"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # warned once, with the path
    assert str(s.cache_path) in warnings[0]
    assert "No space left on device" in warnings[0]
    assert "refresh-1" not in warnings[0]
    stored = TokenCache(s.cache_path).load("cid")
    assert stored is not None
    assert stored.refresh_token == "refresh-alice-0"  # the file still holds the old login

    full = False
    monkeypatch.setattr("spotkit.auth.tokens.time.monotonic", lambda: time.time() + 10**6)
    manager.token()  # the retry is due: the login in memory is written now
    assert not manager.unsaved
    stored = TokenCache(s.cache_path).load("cid")
    assert stored is not None
    assert stored.refresh_token == "refresh-2"


@responses.activate
def test_a_refresh_works_when_the_lock_file_cannot_be_created(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path)
    seed(s, expires_in=0)
    responses.post(TOKEN_URL, json={"access_token": "access-1", "expires_in": 3600})

    def no_lock(self: TokenCache) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(TokenCache, "lock", no_lock)
    manager = TokenManager(s)
    assert manager.token().access_token == "access-1"
    assert manager.unsaved  # saving needs the lock too: kept in memory


# --- the login's six months -----------------------------------------------------------------


@responses.activate
def test_refreshing_keeps_when_the_user_signed_in(tmp_path: Path) -> None:
    s = settings(tmp_path)
    signed_in = time.time() - 30 * 86400
    token = Token("access-0", "refresh-0", DEFAULT_SCOPES, time.time() - 1,
                  authorized_at=signed_in)
    TokenCache(s.cache_path).save("cid", "alice", token)
    responses.post(TOKEN_URL, json={"access_token": "access-1", "expires_in": 3600})
    refreshed = TokenManager(s).token()
    assert refreshed.access_token == "access-1"
    assert refreshed.authorized_at == signed_in  # a refresh does not extend the login
    stored = TokenCache(s.cache_path).load("cid")
    assert stored is not None
    assert stored.authorized_at == signed_in


def test_a_login_near_its_end_warns_once(tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    s = settings(tmp_path)
    token = Token("access-0", "refresh-0", DEFAULT_SCOPES, time.time() + 3600,
                  authorized_at=time.time() - 175 * 86400)
    TokenCache(s.cache_path).save("cid", "alice", token)
    manager = TokenManager(s)
    with caplog.at_level("WARNING", logger="spotkit"):
        manager.token()
        manager.token()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "spotkit login" in warnings[0]
    assert token.valid_until is not None
    assert f"{token.valid_until:%Y-%m-%d}" in warnings[0]


@responses.activate
@pytest.mark.parametrize("expires_in", ["Infinity", "NaN", "1e400"])
def test_a_token_answer_that_never_expires_costs_no_login(tmp_path: Path, expires_in: str) -> None:
    s = settings(tmp_path)
    seed(s, expires_in=-10)
    responses.post(TOKEN_URL, body='{"access_token": "access-1", "refresh_token": "refresh-1", '
                                   f'"expires_in": {expires_in}}}',
                   content_type="application/json")
    with pytest.raises(MalformedResponse, match="expires_in is not a number"):
        TokenManager(s).token()
    # nothing was cached that the next run would refuse as corrupt: the login is still there
    entry = TokenCache(s.cache_path).load_entry("cid")
    assert entry is not None
    assert entry.token.refresh_token == "refresh-alice-0"
