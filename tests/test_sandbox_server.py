"""The sandbox's HTTP server: keep-alive, robustness against garbage, prompt shutdown, the
pytest plugin, and that it shares no code with spotkit's client side."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sandbox_helpers import bearer

from spotkit.sandbox import Sandbox

SANDBOX_DIR = Path(__file__).parents[1] / "spotkit" / "sandbox"


@pytest.fixture
def sb() -> Any:
    with Sandbox(seed_history=3) as sandbox:
        yield sandbox


def raw(sb: Sandbox, data: bytes, timeout: float = 2.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (or times out)."""
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_keep_alive_without_delayed_ack_stalls(sb: Sandbox) -> None:
    h = bearer(sb.issue_token())
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=5)
    try:
        conn.request("GET", "/v1/me", headers=h)
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        assert r.version == 11
        sock = conn.sock
        times = []
        for _ in range(15):
            started = time.perf_counter()
            conn.request("GET", "/v1/me/player", headers=h)
            r = conn.getresponse()
            r.read()
            times.append(time.perf_counter() - started)
            assert r.status == 200
        assert conn.sock is sock  # one connection for all requests
        # with Nagle's algorithm on, each answer would wait ~40 ms for the client's delayed ACK
        assert statistics.median(times) < 0.03, times
    finally:
        conn.close()


@pytest.mark.parametrize("garbage", [
    b"GARBAGE\r\n\r\n",
    b"\x00\x01\x02\xff\r\n\r\n",
    b"GET /v1/me HTTP/9.9\r\n\r\n",
    b"POST /api/token HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /api/token HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
    b"POST /api/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    b"GET /v1/me HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
])
def test_garbage_does_not_kill_the_server(sb: Sandbox, garbage: bytes) -> None:
    answer = raw(sb, garbage, timeout=1.0)
    assert answer == b"" or answer.startswith(b"HTTP/1.")
    if answer:
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 600
    assert requests.get(sb.api_url + "/me", headers=bearer(sb.issue_token())).status_code == 200


def test_half_a_request_then_hang_up(sb: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sb.port)) as sock:
        sock.sendall(b"POST /api/token HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    assert requests.get(sb.base_url + "/").status_code == 200


def test_chunked_body_is_read(sb: Sandbox) -> None:
    body = f"grant_type=refresh_token&client_id={sb.client_id}&refresh_token=x".encode()
    r = requests.post(sb.accounts_url + "/api/token", data=iter([body[:10], body[10:]]),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.json()["error_description"] == "Invalid refresh token"


def answers(conn: http.client.HTTPConnection) -> bool:
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    return True


def test_shutdown_is_prompt_with_open_connections() -> None:
    sb = Sandbox(seed_history=0).start()
    port = sb.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert answers(idle)  # kept alive, idle
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    sb.queue_fault("/v1/me", status=None, delay=30)
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n\r\n")  # a 30 s answer in progress
    time.sleep(0.1)
    thread = sb._thread
    started = time.monotonic()
    sb.stop()
    assert time.monotonic() - started < 2
    assert thread is not None
    assert not thread.is_alive()
    assert not sb.running
    assert not answers(idle)
    for sock in (half, slow):
        sock.settimeout(2)
        try:  # the server closed it (maybe after a last answer): no recv hangs
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        sock.close()
    idle.close()
    sb.stop()  # idempotent
    with Sandbox(port=port, seed_history=0) as again:  # the port is free again at once
        assert again.port == port


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(host="0.0.0.0")


def test_ipv6_answers() -> None:
    try:
        sandbox = Sandbox(host="::1", seed_history=0)
        sandbox.start()
    except OSError:
        pytest.skip("::1 not available")
    try:
        assert sandbox.base_url.startswith("http://[::1]:")
        assert requests.get(sandbox.api_url + "/me",
                            headers=bearer(sandbox.issue_token())).status_code == 200
    finally:
        sandbox.stop()


def test_properties_and_env(sb: Sandbox) -> None:
    assert sb.base_url == f"http://127.0.0.1:{sb.port}"
    assert sb.accounts_url == sb.base_url
    assert sb.api_url == sb.base_url + "/v1"
    assert len(sb.client_id) == 32
    assert int(sb.client_id, 16) >= 0
    assert sb.redirect_uri == "http://127.0.0.1:8888/callback"
    assert sb.env == {"SPOTIFY_CLIENT_ID": sb.client_id,
                      "SPOTIFY_REDIRECT_URI": sb.redirect_uri,
                      "SPOTKIT_ACCOUNTS_URL": sb.accounts_url,
                      "SPOTKIT_API_URL": sb.api_url}
    assert sb.env_with_secret["SPOTIFY_CLIENT_SECRET"] == sb.client_secret
    assert set(sb.user) >= {"id", "display_name", "product", "images"}
    assert sb.client_secret not in repr(sb)
    assert abs(sb.now_ms() - time.time() * 1000) < 5_000


def test_not_started() -> None:
    sb = Sandbox()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = sb.base_url
    sb.stop()  # harmless


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    return done.stdout.strip()


def test_imports_nothing_from_the_client_side() -> None:
    out = _run(
        "import sys\n"
        "from spotkit.sandbox import Sandbox\n"
        "import spotkit.sandbox.pytest_plugin\n"
        "with Sandbox(seed_history=3) as sb:\n"
        "    import requests\n"
        "    requests.get(sb.api_url + '/me', headers={'Authorization': 'Bearer x'})\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('spotkit'))))\n"
    )
    loaded = set(out.split())
    for forbidden in ("spotkit.auth", "spotkit.client", "spotkit.records", "spotkit.config",
                      "spotkit.errors", "spotkit.logs", "spotkit.frames"):
        assert forbidden not in loaded
    # the package itself (its lazy-export table) loads with any submodule; nothing else may
    assert loaded - {"spotkit", "spotkit._lazy"} <= {m for m in loaded if m.startswith("spotkit.sandbox")}
    # and no sandbox module imports spotkit outside the sandbox package, even lazily
    for path in SANDBOX_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("import spotkit", "from spotkit")):
                assert stripped.startswith(("from spotkit.sandbox", "import spotkit.sandbox"))
            assert not stripped.startswith("from .."), (path.name, line)


def test_plugin_is_import_light() -> None:
    out = _run("import sys, spotkit.sandbox.pytest_plugin\n"
               "print('http.server' in sys.modules, 'spotkit.sandbox.server' in sys.modules)")
    assert out == "False False"


# ------------------------------------------------------------------ the pytest plugin
def test_fixture_spotify_sandbox(spotify_sandbox: Sandbox) -> None:
    assert spotify_sandbox.running
    assert requests.get(spotify_sandbox.base_url + "/").status_code == 200


@pytest.mark.parametrize("spotify_sandbox", [{"premium": False, "seed_history": 0}],
                         indirect=True)
def test_fixture_options(spotify_sandbox: Sandbox) -> None:
    assert spotify_sandbox.user["product"] == "free"
    assert spotify_sandbox.play_history() == []


def test_fixture_spotkit_env(spotkit_env: Sandbox, tmp_path: Path) -> None:
    assert os.environ["SPOTIFY_CLIENT_ID"] == spotkit_env.client_id
    assert os.environ["SPOTKIT_API_URL"] == spotkit_env.api_url
    assert os.environ["SPOTKIT_ACCOUNTS_URL"] == spotkit_env.accounts_url
    # a free loopback port of the fixture's own (the sandbox accepts any), never 8888
    redirect = urlsplit(os.environ["SPOTIFY_REDIRECT_URI"])
    assert (redirect.hostname, redirect.path) == ("127.0.0.1", "/callback")
    assert redirect.port not in (None, 8888)
    assert os.environ["SPOTKIT_CACHE_PATH"] == str(tmp_path / "tokens.json")
    assert "SPOTIFY_CLIENT_SECRET" not in os.environ
    assert Path.cwd() == tmp_path


def test_concurrent_clients(sb: Sandbox) -> None:
    from concurrent.futures import ThreadPoolExecutor

    h = bearer(sb.issue_token())
    sb.reset_log()

    def work(i: int) -> list[int]:
        with requests.Session() as s:
            s.headers.update(h)
            paths = ["/me", "/me/player", "/me/player/currently-playing",
                     "/me/player/recently-played"]
            return [s.get(sb.api_url + paths[(i + j) % 4]).status_code for j in range(20)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [st for result in pool.map(work, range(8)) for st in result]
    assert statuses == [200] * 160
    assert sum(sb.counts().values()) == 160
