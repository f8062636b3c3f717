"""spotkit.auth.login: login() and LoginFlow end to end against the sandbox, over real sockets.

`requests` plays the browser: it opens the authorize URL, presses Agree (or Cancel) on the
sandbox's consent page and follows the redirect to spotkit's loopback listener.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fakes import Browser, free_port, interrupt_after, port_is_free

from spotkit.auth.cache import TokenCache
from spotkit.auth.login import LoginFlow, login
from spotkit.auth.token import Token
from spotkit.auth.tokens import TokenManager
from spotkit.config import Settings, load_settings
from spotkit.errors import (
    LoginCancelled,
    LoginDenied,
    LoginTimeout,
    PortInUse,
    StateMismatch,
    TokenRequestError,
)
from spotkit.logs import RedactingFilter
from spotkit.sandbox import Sandbox

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def make_settings(sb: Sandbox, tmp_path: Path, *, secret: bool = False,
                  port: int | None = None) -> Settings:
    env = dict(sb.env_with_secret if secret else sb.env)
    env["SPOTIFY_REDIRECT_URI"] = f"http://127.0.0.1:{port or free_port()}/callback"
    env["SPOTKIT_CACHE_PATH"] = str(tmp_path / "tokens.json")
    return load_settings(env=env, dotenv=False)


def listener_port(settings: Settings) -> int:
    port = urlsplit(settings.redirect_uri).port
    assert port is not None
    return port


# --- the happy paths -----------------------------------------------------------------------------


def test_login_end_to_end_with_pkce(sb: Sandbox, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(sb, tmp_path)
    browser = Browser()
    token = login(settings, open_browser=browser, timeout=20)

    # the page told the truth, after the token was cached
    assert browser.page is not None
    assert browser.page.status_code == 200
    assert "You are logged in as Sandy Box" in browser.page.text
    cached = TokenCache(settings.cache_path).load_entry(settings.client_id or "")
    assert cached is not None
    assert cached.token == token
    assert (cached.user_id, cached.display_name) == (sb.user["id"], "Sandy Box")
    assert set(token.scope) == set(settings.scopes)
    assert not token.expired()

    # the authorize URL: PKCE, a state, the scopes; printed on a line of its own
    assert browser.authorize_url is not None
    q = {k: v[0] for k, v in parse_qs(urlsplit(browser.authorize_url).query).items()}
    assert q["code_challenge_method"] == "S256"
    assert len(q["state"]) >= 43
    assert q["scope"] == " ".join(settings.scopes)
    out = capsys.readouterr().out
    assert browser.authorize_url in out.splitlines()
    assert "Logged in as Sandy Box" in out
    assert token.access_token not in out

    # one code exchange, one profile read; the listener is gone
    counts = sb.counts()
    assert counts.get("POST /api/token") == 1
    assert counts.get("GET /v1/me") == 1
    assert port_is_free(listener_port(settings))

    # the cached token works for the client side
    manager = TokenManager(settings)
    response = requests.get(f"{settings.api_url}/me", timeout=5,
                            headers={"Authorization": f"Bearer {manager.access_token()}"})
    assert response.status_code == 200


def test_every_login_has_a_fresh_state_and_verifier(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    a, b = LoginFlow(settings), LoginFlow(settings)
    qa, qb = (parse_qs(urlsplit(f.authorize_url).query) for f in (a, b))
    assert qa["state"] != qb["state"]
    assert qa["code_challenge"] != qb["code_challenge"]


@pytest.mark.parametrize("pkce", [False, True])
def test_login_with_a_client_secret(sb: Sandbox, tmp_path: Path, pkce: bool) -> None:
    settings = make_settings(sb, tmp_path, secret=True)
    flow = LoginFlow(settings, pkce=pkce).start(timeout=20)
    assert ("code_challenge" in flow.authorize_url) is pkce
    Browser()(flow.authorize_url)
    token = flow.wait(20)
    assert token.refresh_token
    assert flow.display_name == "Sandy Box"


def test_scopes_and_show_dialog(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    browser = Browser()
    token = login(settings, open_browser=browser, timeout=20,
                  scopes="user-read-private user-read-email", show_dialog=True)
    assert token.scope == ("user-read-private", "user-read-email")
    assert browser.authorize_url is not None
    assert "show_dialog=true" in browser.authorize_url


def test_spotkit_scopes_from_the_environment(sb: Sandbox, tmp_path: Path) -> None:
    env = {**sb.env, "SPOTIFY_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
           "SPOTKIT_CACHE_PATH": str(tmp_path / "t.json"), "SPOTKIT_SCOPES": "user-read-private"}
    settings = load_settings(env=env, dotenv=False)
    assert login(settings, open_browser=Browser(), timeout=20).scope == ("user-read-private",)


# --- hostile and stray requests ------------------------------------------------------------------


def test_forged_state_wrong_paths_and_garbage_never_end_the_wait(sb: Sandbox,
                                                                 tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    port = listener_port(settings)
    flow = LoginFlow(settings).start(timeout=20)
    base = f"http://127.0.0.1:{port}"

    # a real, unused code issued for another login's state, replayed with a forged state
    other = LoginFlow(settings)
    forged = Browser().consent(other.authorize_url)
    assert urlsplit(forged).port == port
    sb.reset_log()
    assert requests.get(forged, timeout=5).status_code == 400
    assert requests.get(f"{base}/favicon.ico", timeout=5).status_code == 404
    assert requests.get(f"{base}/callback/../admin", timeout=5).status_code == 404
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01garbage\xff\xfe\r\n\r\n")
        s.recv(4096)
    assert not flow.done
    assert sb.counts().get("POST /api/token") is None  # the forged code was never exchanged

    browser = Browser()
    browser(flow.authorize_url)
    assert flow.wait(20).access_token
    assert browser.page is not None
    assert "You are logged in as" in browser.page.text
    assert sb.counts().get("POST /api/token") == 1


def test_denial_ends_the_login_with_a_clear_error(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    browser = Browser(decision="cancel")
    started = time.monotonic()
    with pytest.raises(LoginDenied, match="access_denied") as info:
        login(settings, open_browser=browser, timeout=20)
    assert time.monotonic() - started < 10
    assert "Agree" in str(info.value)
    assert browser.page is not None
    assert "Login cancelled" in browser.page.text
    assert not settings.cache_path.exists()
    assert port_is_free(listener_port(settings))


def test_timeout(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    started = time.monotonic()
    with pytest.raises(LoginTimeout, match=r"0\.5 s"):
        login(settings, open_browser=lambda url: None, timeout=0.5)
    assert time.monotonic() - started < 3
    assert port_is_free(listener_port(settings))


def test_flow_timeout_without_wait(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings).start(timeout=0.3)
    deadline = time.monotonic() + 5
    while not flow.done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert isinstance(flow.exception(), LoginTimeout)
    assert port_is_free(listener_port(settings))


def test_busy_port_fails_before_any_browser_opens(sb: Sandbox, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = make_settings(sb, tmp_path, port=port)
        opened: list[str] = []
        with pytest.raises(PortInUse, match=str(port)):
            login(settings, open_browser=opened.append, timeout=5)
        assert opened == []


def test_exchange_failure_is_shown_on_the_page(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    sb.queue_fault("/api/token", status=400, times=1,
                   body={"error": "invalid_grant", "error_description": "Authorization code expired"})
    browser = Browser()
    with pytest.raises(TokenRequestError, match="Authorization code expired"):
        login(settings, open_browser=browser, timeout=20)
    assert browser.page is not None
    assert browser.page.status_code == 502
    assert "Login failed" in browser.page.text
    assert "Authorization code expired" in browser.page.text
    assert not settings.cache_path.exists()


# --- the non-blocking building block -------------------------------------------------------------


def test_cancel_and_on_done(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings)
    seen: list[tuple[Token | None, BaseException | None, str]] = []
    flow.on_done(lambda t, e: seen.append((t, e, threading.current_thread().name)))
    flow.start(timeout=20)
    assert not flow.done
    assert flow.exception() is None
    flow.cancel()
    flow.cancel()
    assert flow.done
    assert isinstance(flow.exception(), LoginCancelled)
    with pytest.raises(LoginCancelled):
        flow.result()
    with pytest.raises(LoginCancelled):
        flow.wait(1)
    assert len(seen) == 1
    assert seen[0][0] is None
    assert isinstance(seen[0][1], LoginCancelled)
    late: list[object] = []
    flow.on_done(lambda t, e: late.append(e))  # after the end: called at once
    assert len(late) == 1
    assert port_is_free(listener_port(settings))


def test_on_done_runs_in_the_listener_thread_after_the_page(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings)
    seen: list[tuple[bool, str]] = []
    done = threading.Event()

    def on_done(token: Token | None, error: BaseException | None) -> None:
        seen.append((token is not None and error is None, threading.current_thread().name))
        done.set()

    flow.on_done(on_done)
    flow.on_done(lambda t, e: 1 / 0)  # a failing callback is logged, never breaks the flow
    flow.start(timeout=20)
    Browser()(flow.authorize_url)
    assert done.wait(10)
    assert seen[0][0]
    assert seen[0][1] != threading.current_thread().name
    assert flow.result().access_token
    assert flow.timings["total"] > 0
    assert "Sandy Box" in repr(flow)
    assert flow.result().access_token not in repr(flow)


def test_result_before_the_end(sb: Sandbox, tmp_path: Path) -> None:
    from spotkit.errors import AuthError

    flow = LoginFlow(make_settings(sb, tmp_path))
    with pytest.raises(AuthError, match="not finished"):
        flow.result()
    with pytest.raises(LoginTimeout):
        flow.wait(0.05)


def test_complete_from_url_for_remote_kernels(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings)  # no listener: the browser cannot reach this machine
    other = LoginFlow(settings)
    with pytest.raises(StateMismatch):
        flow.complete_from_url(Browser().consent(other.authorize_url))
    assert not flow.done
    pasted = Browser().consent(flow.authorize_url)
    token = flow.complete_from_url(f"  {pasted}\n")
    assert flow.done
    assert flow.display_name == "Sandy Box"
    assert TokenCache(settings.cache_path).load(settings.client_id or "") == token
    assert flow.complete_from_url(pasted) == token  # pasting twice is harmless


def test_complete_from_url_while_listening(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings).start(timeout=20)
    query = urlsplit(Browser().consent(flow.authorize_url)).query
    token = flow.complete_from_url(query)  # just the query part works too
    assert token.access_token
    assert port_is_free(listener_port(settings))


def test_complete_from_url_with_a_denial(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)
    flow = LoginFlow(settings)
    pasted = Browser(decision="cancel").consent(flow.authorize_url)
    with pytest.raises(LoginDenied):
        flow.complete_from_url(pasted)


def test_interrupt_cancels_and_frees_the_port(sb: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sb, tmp_path)

    def interrupted(url: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        login(settings, open_browser=interrupted, timeout=20)
    assert port_is_free(listener_port(settings))


# --- secrets stay out of logs and output ---------------------------------------------------------


def test_nothing_secret_in_debug_logs_or_output(sb: Sandbox, tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    from spotkit.logs import enable_debug_logging

    handler = enable_debug_logging()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    keep = Keep()
    keep.addFilter(RedactingFilter())
    logging.getLogger("spotkit").addHandler(keep)
    try:
        settings = make_settings(sb, tmp_path)
        flow = LoginFlow(settings)
        browser = Browser()
        flow.start(timeout=20)
        browser(flow.authorize_url)
        token = flow.wait(20)
        sb.expire_access_tokens()
        manager = TokenManager(settings)
        refreshed = manager.refresh(token.access_token)
    finally:
        for name in ("spotkit", "urllib3"):
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger("spotkit").removeHandler(keep)
    captured = capfd.readouterr()
    assert browser.callback_url is not None
    code = parse_qs(urlsplit(browser.callback_url).query)["code"][0]
    assert flow._pkce is not None
    secrets_ = [token.access_token, token.refresh_token, refreshed.access_token,
                refreshed.refresh_token, code, flow._pkce.verifier, flow._state]
    assert "POST /api/token grant_type=refresh_token -> 200" in captured.err
    assert "listener: GET /callback" in captured.err
    for text in (captured.out, captured.err, "\n".join(records)):
        for secret in secrets_:
            assert secret
            assert secret not in text


CTRL_C_DELAYS = (0.0, 0.13, 0.31, 0.77)  # after the address is printed: at varied points of wait()


def test_spotkit_login_ends_within_seconds_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    env.update(SPOTIFY_CLIENT_ID="c" * 32, SPOTKIT_CACHE_PATH=str(tmp_path / "tokens.json"),
               HOME=str(tmp_path), PYTHONUNBUFFERED="1")
    for delay in CTRL_C_DELAYS:
        env["SPOTIFY_REDIRECT_URI"] = f"http://127.0.0.1:{free_port()}/callback"
        code, err = interrupt_after(["login", "--no-browser", "--timeout", "60"], "/authorize?",
                                    env, tmp_path, delay=delay, within=5)
        assert code == 130, err
        assert err.strip().splitlines() == ["spotkit: interrupted"]
        assert not (tmp_path / "tokens.json").exists()
