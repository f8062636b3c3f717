"""Servers that misbehave, over real loopback sockets: what spotkit's one HTTP policy does.

Trickling and silent servers, empty and garbage answers, huge and HTTP-date Retry-After, 429 and
503 on the token endpoint, and proxies per host. Each test asserts on what was sent and what was
raised; the time a trickling or silent server takes to fail with the default deadline is measured
by bench/bench_http_deadline.py, not here.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeTokens
from hostile_servers import CountingProxy, RawServer, fixed, garbage, silent, time_to_fail, trickle

from spotkit import Spotify
from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.auth.tokens import TokenManager
from spotkit.config import Settings, load_settings
from spotkit.errors import MalformedResponse, NetworkError, RateLimited, ServerError
from spotkit.http import RetryPolicy

pytestmark = pytest.mark.timeout(60)


def client(url: str, tokens: FakeTokens, **policy: Any) -> Spotify:
    settings = load_settings(env={"SPOTKIT_API_URL": f"{url}/v1"}, dotenv=False)
    return Spotify(settings, auth=tokens, policy=RetryPolicy(**policy))


# --- the deadline ---------------------------------------------------------------------------


@pytest.mark.parametrize("handler", [trickle(0.05), silent], ids=["trickle", "silent"])
def test_a_slow_or_silent_server_fails_at_the_deadline(handler: Any, tokens: FakeTokens) -> None:
    with RawServer(handler) as server, client(server.url, tokens, deadline=1.0) as sp:
        took, error = time_to_fail(sp.me)
    assert isinstance(error, NetworkError)
    assert "did not finish within its 1 s deadline" in str(error)
    assert "127.0.0.1" in str(error)
    assert 0.9 <= took < 2.0, took  # the read timeout alone (10 s) would restart per byte


def test_the_deadline_covers_retries(tokens: FakeTokens) -> None:
    # every answer is a 503 that takes 0.4 s: retries stop when the deadline would be passed
    def slow_503(conn: Any, stop: threading.Event) -> None:
        stop.wait(0.4)
        fixed(503, b"{}")(conn, stop)

    with RawServer(slow_503) as server, \
            client(server.url, tokens, deadline=1.0, retries=10, backoff=0.01) as sp:
        took, error = time_to_fail(sp.me)
    assert isinstance(error, (ServerError, NetworkError))
    assert took < 1.5
    assert 2 <= server.connections <= 3


def test_a_trickle_within_the_deadline_is_fine(tokens: FakeTokens) -> None:
    with RawServer(trickle(0.002)) as server, client(server.url, tokens, deadline=5) as sp:
        assert sp.me()["display_name"] == "Trickle"


def test_the_watchdog_leaves_finished_requests_alone(tokens: FakeTokens) -> None:
    # many short requests on one kept-alive connection, each with a short deadline: none cut
    with Origin() as origin, client(origin.url, tokens, deadline=0.3) as sp:
        for _ in range(20):
            assert sp.me() == {"id": "u", "display_name": "U"}
        time.sleep(0.4)  # past every deadline: the watchdog fires on nothing
        assert sp.me()["id"] == "u"


# --- bodies and statuses --------------------------------------------------------------------


def test_an_empty_200_is_malformed(tokens: FakeTokens) -> None:
    with RawServer(fixed(200)) as server, client(server.url, tokens) as sp, \
            pytest.raises(MalformedResponse, match="empty body instead of JSON"):
        sp.now_playing()


def test_garbage_is_a_network_error_after_retries(tokens: FakeTokens, sleeps: list[float]) -> None:
    with RawServer(garbage) as server, client(server.url, tokens, retries=2) as sp, \
            pytest.raises(NetworkError, match="after 3 attempts"):
        sp.me()
    assert server.connections == 3
    assert len(sleeps) == 2


def test_html_with_a_200_is_malformed(tokens: FakeTokens) -> None:
    with RawServer(fixed(200, b"<html>captive portal</html>")) as server, \
            client(server.url, tokens) as sp, pytest.raises(MalformedResponse, match="HTML"):
        sp.me()


@pytest.mark.parametrize("value", ["99999999999", "1e400", "inf", "-5", "soon"])
def test_a_huge_or_bad_retry_after_never_hangs(value: str, tokens: FakeTokens,
                                               sleeps: list[float]) -> None:
    with RawServer(fixed(429, b"{}", {"Retry-After": value})) as server, \
            client(server.url, tokens, max_retry_wait=5, retries=1) as sp:
        took, error = time_to_fail(sp.me)
    assert isinstance(error, RateLimited)
    assert took < 2
    assert all(s <= 5 for s in sleeps)  # never a wait beyond max_retry_wait
    if value == "99999999999":
        assert error.retry_after == 99999999999
        assert "hours and try again" in str(error)


def test_an_http_date_retry_after_is_waited_for(tokens: FakeTokens, sleeps: list[float]) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=3), usegmt=True)
    answers = [fixed(429, b"{}", {"Retry-After": when}), fixed(200, b'{"id": "u"}')]

    def handler(conn: Any, stop: threading.Event) -> None:
        answers.pop(0)(conn, stop)

    with RawServer(handler) as server, client(server.url, tokens) as sp:
        assert sp.me() == {"id": "u"}
    assert len(sleeps) == 1
    assert 1.5 < sleeps[0] <= 3.0


# --- the token endpoint ---------------------------------------------------------------------


class Origin:
    """A tiny Web API + accounts service on loopback that records (method, path, Host)."""

    def __init__(self, token_answers: list[tuple[int, dict[str, Any], dict[str, str]]] | None
                 = None) -> None:
        self.seen: list[tuple[str, str, str]] = []
        seen, answers = self.seen, token_answers or []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any],
                        headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                seen.append(("GET", self.path, self.headers.get("Host", "")))
                self._answer(200, {"id": "u", "display_name": "U"})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append(("POST", self.path, self.headers.get("Host", "")))
                if answers:
                    self._answer(*answers.pop(0))
                else:
                    self._answer(200, {"access_token": "fresh", "expires_in": 3600,
                                       "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> Origin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(2)


def expired_login(tmp_path: Path, api_url: str, accounts_url: str) -> Settings:
    settings = load_settings(env={"SPOTIFY_CLIENT_ID": "c" * 32, "SPOTKIT_API_URL": api_url,
                                  "SPOTKIT_ACCOUNTS_URL": accounts_url,
                                  "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")},
                             dotenv=False)
    token = Token(access_token="old", refresh_token="rt", expires_at=time.time() - 60,
                  authorized_at=time.time() - 86400)
    TokenCache(settings.cache_path).save(settings.client_id or "", "u", token)
    return settings


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_503_on_the_token_endpoint_is_retried_like_the_api(
        status: int, tmp_path: Path, sleeps: list[float]) -> None:
    headers = {"Retry-After": "2"} if status == 429 else {}
    with Origin([(status, {"error": "temporarily_unavailable"}, headers)]) as origin:
        settings = expired_login(tmp_path, f"{origin.url}/v1", origin.url)
        with Spotify(settings) as sp:
            assert sp.me()["id"] == "u"
    assert [(m, p) for m, p, _ in origin.seen] == [
        ("POST", "/api/token"), ("POST", "/api/token"), ("GET", "/v1/me")]
    assert len(sleeps) == 1
    if status == 429:
        assert sleeps == [2.0]


@pytest.mark.parametrize(("status", "error"), [(429, RateLimited), (503, ServerError)])
def test_a_lasting_429_or_503_on_the_token_endpoint_is_typed_like_the_api(
        status: int, error: type[Exception], tmp_path: Path, sleeps: list[float]) -> None:
    headers = {"Retry-After": "600"} if status == 429 else {}
    with Origin([(status, {"error": "x"}, headers)] * 5) as origin:
        settings = expired_login(tmp_path, f"{origin.url}/v1", origin.url)
        with Spotify(settings) as sp, pytest.raises(error) as info:
            sp.me()
    assert getattr(info.value, "path", None) == "/api/token"
    assert not any(m == "GET" for m, _, _ in origin.seen)  # no API call without a token
    if status == 429:
        assert getattr(info.value, "retry_after", None) == 600


# --- proxies per host -----------------------------------------------------------------------


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_no_proxy_for_the_accounts_host_while_the_api_goes_through_the_proxy(
        clean_proxy_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Origin() as origin, CountingProxy() as proxy:
        clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
        clean_proxy_env.setenv("NO_PROXY", "localhost")
        settings = expired_login(tmp_path, f"{origin.url}/v1", f"http://localhost:{origin.port}")
        with Spotify(settings) as sp:
            assert sp.me()["id"] == "u"  # refresh (direct), then GET /me (through the proxy)
            assert sp.me()["id"] == "u"
    assert proxy.seen == [("GET", f"127.0.0.1:{origin.port}")] * 2
    assert [(m, p) for m, p, _ in origin.seen] == [
        ("POST", "/api/token"), ("GET", "/v1/me"), ("GET", "/v1/me")]
    assert origin.seen[0][2] == f"localhost:{origin.port}"


def test_proxies_are_read_once_per_host(clean_proxy_env: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    with Origin() as origin, CountingProxy() as proxy:
        clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
        settings = expired_login(tmp_path, f"{origin.url}/v1", f"http://localhost:{origin.port}")
        manager = TokenManager(settings)
        manager.accounts_sender()  # the accounts host's proxies are read here, once
        with Spotify(settings, auth=manager) as sp:
            clean_proxy_env.setenv("NO_PROXY", "*")  # read per call, this would bypass the proxy
            sp.me()
            sp.me()
    # the refresh and both calls went through the proxy read when each service was first used
    assert [m for m, _ in proxy.seen] == ["POST", "GET", "GET"]
