"""spotkit.auth.listener: the one-shot loopback listener, driven with requests and raw sockets."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from fakes import free_port

from spotkit.auth.listener import Callback, LoopbackListener, Page, loopback_address
from spotkit.errors import ConfigError, PortInUse

STATE = "the-right-state-0123456789"
CODE = "the-code-abcdefghijklmnopq"


class Recorder:
    def __init__(self) -> None:
        self.callbacks: list[Callback] = []
        self.completed = threading.Event()

    def on_callback(self, callback: Callback) -> Page:
        self.callbacks.append(callback)
        if callback.error:
            return Page(403, "Login cancelled", f"error {callback.error}")
        return Page(200, "Logged in", "You are logged in as Test User.")

    def on_complete(self) -> None:
        self.completed.set()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def listener(rec: Recorder) -> Iterator[LoopbackListener]:
    port = free_port()
    lst = LoopbackListener(f"http://127.0.0.1:{port}/callback", STATE, rec.on_callback,
                           rec.on_complete, request_timeout=1.0)
    lst.start()
    yield lst
    lst.stop()


def url(lst: LoopbackListener, tail: str) -> str:
    return f"http://127.0.0.1:{lst.port}{tail}"


def get(lst: LoopbackListener, tail: str) -> requests.Response:
    return requests.get(url(lst, tail), timeout=5)


def test_loopback_address() -> None:
    assert loopback_address("http://127.0.0.1:8888/callback") == ("127.0.0.1", 8888, "/callback")
    assert loopback_address("http://[::1]:9000/cb") == ("::1", 9000, "/cb")
    for bad in ("https://example.com/callback", "http://127.0.0.1/callback",
                "http://0.0.0.0:8888/callback", "http://192.168.1.2:8888/callback"):
        with pytest.raises(ConfigError, match="loopback"):
            loopback_address(bad)


def test_binds_exactly_the_redirect_host_never_all_interfaces(listener: LoopbackListener) -> None:
    server = listener._server
    assert server is not None
    assert server.socket.getsockname()[:2] == ("127.0.0.1", listener.port)
    assert listener.listening


def test_good_callback(listener: LoopbackListener, rec: Recorder) -> None:
    response = get(listener, f"/callback?code={CODE}&state={STATE}")
    assert response.status_code == 200
    assert "You are logged in as Test User." in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert rec.completed.wait(5)
    assert [c.code for c in rec.callbacks] == [CODE]
    assert CODE not in repr(rec.callbacks[0])


def test_stray_requests_never_end_the_wait(listener: LoopbackListener, rec: Recorder) -> None:
    assert get(listener, "/favicon.ico").status_code == 404
    assert get(listener, "/").status_code == 404
    assert get(listener, "/callback/extra?code=x&state=" + STATE).status_code == 404
    assert get(listener, "/wp-login.php").status_code == 404
    assert requests.post(url(listener, "/callback"), timeout=5).status_code == 405
    assert requests.head(url(listener, "/callback"), timeout=5).status_code == 405
    assert get(listener, "/callback").status_code == 400  # right path, no state
    assert get(listener, f"/callback?state={STATE}").status_code == 400  # no code, no error
    # garbage bytes on a raw socket: answered or dropped, and the listener goes on
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
                 b"GARBAGE\r\n\r\n", b"GET /callback?code=1&state=" + b"\xff" * 10 + b"\r\n"):
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(65536)
    assert rec.callbacks == []
    assert not rec.completed.is_set()
    assert listener.listening
    assert get(listener, f"/callback?code={CODE}&state={STATE}").status_code == 200
    assert [c.code for c in rec.callbacks] == [CODE]


@pytest.mark.parametrize("state", ["forged", STATE[:-1], STATE + "x", "", STATE.upper()])
def test_forged_state_gets_400_and_its_code_is_never_used(listener: LoopbackListener,
                                                          rec: Recorder, state: str) -> None:
    response = get(listener, f"/callback?code=evil&state={state}")
    assert response.status_code == 400
    assert "not from this login" in response.text
    assert rec.callbacks == []
    assert get(listener, f"/callback?code={CODE}&state={STATE}").status_code == 200
    assert [c.code for c in rec.callbacks] == [CODE]


def test_error_callback(listener: LoopbackListener, rec: Recorder) -> None:
    response = get(listener, f"/callback?error=access_denied&state={STATE}")
    assert response.status_code == 403
    assert rec.completed.wait(5)
    assert rec.callbacks == [Callback(error="access_denied")]


def test_only_the_first_callback_is_handled(listener: LoopbackListener, rec: Recorder) -> None:
    assert get(listener, f"/callback?code={CODE}&state={STATE}").status_code == 200
    again = get(listener, f"/callback?code=second&state={STATE}")  # a reload, a double click
    assert again.status_code == 409
    assert len(rec.callbacks) == 1


def test_a_silent_client_does_not_hold_up_the_callback(listener: LoopbackListener,
                                                       rec: Recorder) -> None:
    silent = [socket.create_connection(("127.0.0.1", listener.port), timeout=5)
              for _ in range(3)]
    try:
        started = time.monotonic()
        assert get(listener, f"/callback?code={CODE}&state={STATE}").status_code == 200
        assert time.monotonic() - started < 0.9  # well under the silent clients' timeout
    finally:
        for s in silent:
            s.close()


def test_stop_closes_the_socket(rec: Recorder) -> None:
    port = free_port()
    lst = LoopbackListener(f"http://127.0.0.1:{port}/callback", STATE, rec.on_callback)
    lst.start()
    lst.stop()
    lst.stop()  # idempotent
    assert not lst.listening
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/callback", timeout=2)
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))
    with pytest.raises(RuntimeError):
        lst.start()


def test_stop_from_the_completion_hook(rec: Recorder) -> None:
    port = free_port()
    holder: list[LoopbackListener] = []
    lst = LoopbackListener(f"http://127.0.0.1:{port}/callback", STATE, rec.on_callback,
                           lambda: holder[0].stop())
    holder.append(lst)
    lst.start()
    response = requests.get(f"http://127.0.0.1:{port}/callback?code={CODE}&state={STATE}",
                            timeout=5)
    assert response.status_code == 200  # the page is written before the listener stops
    deadline = time.monotonic() + 5
    while lst.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not lst.listening
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/callback", timeout=2)


def test_busy_port_is_a_clear_error(rec: Recorder) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        lst = LoopbackListener(f"http://127.0.0.1:{port}/callback", STATE, rec.on_callback)
        with pytest.raises(PortInUse) as info:
            lst.start()
    message = str(info.value)
    assert str(port) in message
    assert "SPOTIFY_REDIRECT_URI" in message


def test_ipv6_loopback(rec: Recorder) -> None:
    try:
        port = free_port("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    lst = LoopbackListener(f"http://[::1]:{port}/callback", STATE, rec.on_callback)
    lst.start()
    try:
        assert lst._server is not None
        assert lst._server.socket.family == socket.AF_INET6
        assert lst._server.socket.getsockname()[0] == "::1"
        response = requests.get(f"http://[::1]:{port}/callback?code={CODE}&state={STATE}",
                                timeout=5)
        assert response.status_code == 200
    finally:
        lst.stop()


def test_a_failing_handler_gives_an_error_page(rec: Recorder) -> None:
    def boom(callback: Callback) -> Page:
        raise RuntimeError("bug")

    port = free_port()
    lst = LoopbackListener(f"http://127.0.0.1:{port}/callback", STATE, boom, rec.on_complete)
    lst.start()
    try:
        response = requests.get(f"http://127.0.0.1:{port}/callback?code={CODE}&state={STATE}",
                                timeout=5)
        assert response.status_code == 500
        assert rec.completed.wait(5)
    finally:
        lst.stop()


def test_nothing_secret_is_logged(listener: LoopbackListener, caplog: pytest.LogCaptureFixture,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    get(listener, f"/callback?code=evil&state=forged-{STATE}")
    get(listener, f"/callback?code={CODE}&state={STATE}")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
        s.sendall(b"\x00\x01garbage " + CODE.encode() + b"\r\n\r\n")
        s.recv(1000)
    captured = capsys.readouterr()
    # urllib3 logs the test's own browser-playing requests: only spotkit's records count here
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("spotkit"))
    for text in (ours, captured.out, captured.err):
        assert CODE not in text
        assert STATE not in text
        assert "evil" not in text
    assert "listener: GET /callback" in ours
    assert "Traceback" not in caplog.text
