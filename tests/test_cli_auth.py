"""spotkit.cli.auth: `spotkit login`, `spotkit whoami`, `spotkit logout` against the sandbox."""

from __future__ import annotations

import re
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fakes import Browser

from spotkit import _runtime
from spotkit.cli import main
from spotkit.sandbox import Sandbox

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def env(spotkit_env: Sandbox) -> Sandbox:
    return spotkit_env


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`open_in_browser` replaced by a background thread that plays the browser."""
    opened: list[str] = []

    def fake_open(url: str, *, force: bool = False) -> bool:
        opened.append(url)
        threading.Thread(target=Browser(), args=(url,), daemon=True).start()
        return True

    monkeypatch.setattr(_runtime, "open_in_browser", fake_open)
    return opened


def test_login_whoami_logout(env: Sandbox, browser: list[str], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--timeout", "20"]) == 0
    out = capsys.readouterr().out
    assert "Logged in as Sandy Box" in out.splitlines()
    assert browser[0] in out.splitlines()  # the URL on a line of its own
    cache = tmp_path / "tokens.json"
    assert cache.exists()
    assert cache.read_text().count("access_token") == 1

    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert f"Logged in as Sandy Box (user id {env.user['id']})" in out
    assert "user-read-private" in out

    env.expire_access_tokens()  # whoami recovers from a 401 with one refresh
    assert main(["whoami"]) == 0
    assert "Logged in as Sandy Box" in capsys.readouterr().out
    assert env.counts()["POST /api/token grant_type=refresh_token"] == 1

    assert main(["logout"]) == 0
    assert "removed the cached token" in capsys.readouterr().out
    assert not cache.exists()
    assert main(["logout"]) == 0
    assert "Not logged in" in capsys.readouterr().out


def test_login_options(env: Sandbox, browser: list[str],
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--scopes", "user-read-private", "user-read-email", "--show-dialog",
                 "--timeout", "20"]) == 0
    assert "show_dialog=true" in browser[0]
    assert "scope=user-read-private+user-read-email" in browser[0]
    capsys.readouterr()
    assert main(["whoami"]) == 0
    assert "Scopes: user-read-private user-read-email" in capsys.readouterr().out


def test_no_browser_times_out_cleanly(env: Sandbox, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def must_not_open(url: str, *, force: bool = False) -> bool:
        raise AssertionError("--no-browser opened a browser")

    monkeypatch.setattr(_runtime, "open_in_browser", must_not_open)
    assert main(["login", "--no-browser", "--timeout", "0.3"]) == 1
    captured = capsys.readouterr()
    assert "/authorize?" in captured.out
    assert "within 0.3 s" in captured.err
    assert "Traceback" not in captured.err


def test_denied_login(env: Sandbox, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    def cancel(url: str, *, force: bool = False) -> bool:
        threading.Thread(target=Browser("cancel"), args=(url,), daemon=True).start()
        return True

    monkeypatch.setattr(_runtime, "open_in_browser", cancel)
    assert main(["login", "--timeout", "20"]) == 1
    err = capsys.readouterr().err
    assert "access_denied" in err
    assert "Traceback" not in err


def test_busy_port(env: Sandbox, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("SPOTIFY_REDIRECT_URI", f"http://127.0.0.1:{port}/callback")
        assert main(["login", "--no-browser", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert f"Port {port}" in err
    assert "Traceback" not in err


def test_whoami_without_login(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whoami"]) == 1
    assert "spotkit login" in capsys.readouterr().err


def test_corrupt_cache(env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tokens.json").write_text("{oops")
    assert main(["whoami"]) == 1
    err = capsys.readouterr().err
    assert "spotkit login" in err
    assert "Traceback" not in err
    assert (tmp_path / "tokens.json").read_text() == "{oops"


def test_revoked_login(env: Sandbox, browser: list[str],
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--timeout", "20"]) == 0
    env.expire_access_tokens()
    env.revoke_refresh_tokens()
    capsys.readouterr()
    assert main(["whoami"]) == 1
    err = capsys.readouterr().err
    assert "log in again" in err
    assert "spotkit login" in err


def test_no_client_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    assert main(["login", "--no-browser", "--timeout", "1"]) == 1
    assert "SPOTIFY_CLIENT_ID" in capsys.readouterr().err


def test_whoami_says_until_when_the_login_works(env: Sandbox, browser: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--timeout", "20"]) == 0
    capsys.readouterr()
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"Login valid until (\d{4}-\d{2}-\d{2}) \(six months", out)
    assert match, out
    until = datetime.strptime(match[1], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    assert 180 <= (until - datetime.now(timezone.utc)).days <= 184
    assert "ends soon" not in out


def test_whoami_that_cannot_reach_spotify_exits_1(env: Sandbox, browser: list[str],
                                                 sleeps: list[float],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--timeout", "20"]) == 0
    capsys.readouterr()
    env.queue_fault("/v1/me", status=503, times=0)
    assert main(["whoami"]) == 1
    captured = capsys.readouterr()
    assert "Logged in as Sandy Box" in captured.out  # what the cache knows
    assert "could not be reached" in captured.err
    assert "503" in captured.err
    assert "Traceback" not in captured.err


def test_whoami_survives_a_503_on_the_token_endpoint(env: Sandbox, browser: list[str],
                                                     sleeps: list[float],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--timeout", "20"]) == 0
    capsys.readouterr()
    env.expire_access_tokens()
    env.queue_fault("/api/token", status=503, times=1)
    assert main(["whoami"]) == 0  # the refresh's 503 is retried by the one policy
    assert "Logged in as Sandy Box" in capsys.readouterr().out
    assert len(sleeps) == 1


def test_login_into_an_unwritable_cache_says_so_before_the_browser(
        env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not a folder"
    blocker.write_text("")
    cache = blocker / "tokens.json"  # under a file: no write can succeed, even as root
    monkeypatch.setenv("SPOTKIT_CACHE_PATH", str(cache))

    def must_not_open(url: str, *, force: bool = False) -> bool:
        raise AssertionError("the browser was opened for a login that cannot be saved")

    monkeypatch.setattr(_runtime, "open_in_browser", must_not_open)
    assert main(["login", "--timeout", "5"]) == 1
    captured = capsys.readouterr()
    assert str(cache) in captured.err
    assert "writable" in captured.err
    assert "/authorize?" not in captured.out
    assert "Traceback" not in captured.err
