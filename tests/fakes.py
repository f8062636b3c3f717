"""Stand-ins and sample data shared by the test modules (their fixtures are in conftest.py).

A plain module rather than conftest.py itself, so test modules can import the classes for their
type hints: ``tests/browser/conftest.py`` also imports as ``conftest``. Each fake subclasses the
Protocol of the real thing it stands for, so mypy (which checks this file) catches any drift.
"""

from __future__ import annotations

import html
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.config import Settings, load_settings
from spotkit.errors import MissingScope
from spotkit.http import TokenSource
from spotkit.sandbox import Sandbox
from spotkit.widgets.poller import PlayerClient

__all__ = ["EXAMPLES", "Browser", "FakeAuth", "FakePlayer", "FakeTokens", "api_error", "example",
           "free_port", "interrupt_after", "port_is_free", "pragma", "seed_login"]

EXAMPLES = Path(__file__).parent / "data" / "examples"


def example(name: str) -> Any:
    """The Web API's example answer `name` (tests/data/examples/<name>.json)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def api_error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    """A Web API error body: ``{"error": {"status", "message"[, "reason"]}}``."""
    error: dict[str, Any] = {"status": status, "message": message}
    if reason:
        error["reason"] = reason
    return {"error": error}


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on at the moment (never a fixed one: other suites run at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pragma(path: Path, name: str) -> object:
    """The value of SQLite's ``PRAGMA name`` in the database at `path`, read on a connection of its own."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nobody listens on `port` (connections of a closed listener in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class FakeTokens(TokenSource):
    """A TokenSource: ``<prefix>-<i>`` until refreshed; records refreshes and scope checks."""

    def __init__(self, scopes: set[str] | None = None, prefix: str = "secret-token") -> None:
        self.index = 1
        self.prefix = prefix
        self.refreshed: list[str | None] = []
        self.scope_checks: list[tuple[str, ...]] = []
        self.scopes = scopes

    def access_token(self) -> str:
        return f"{self.prefix}-{self.index}"

    def refresh(self, stale_access_token: str | None = None, /) -> object:
        self.refreshed.append(stale_access_token)
        self.index += 1
        return self.access_token()

    def require_scopes(self, *scopes: str) -> None:
        """Raises MissingScope for scopes outside `scopes` (None: every scope is granted)."""
        self.scope_checks.append(scopes)
        if self.scopes is None:
            return
        missing = tuple(s for s in scopes if s not in self.scopes)
        if missing:
            raise MissingScope(f"not granted: {' '.join(missing)}", missing=missing)


def interrupt_after(argv: list[str], ready: str, env: dict[str, str], cwd: Path, *,
                    delay: float = 0.5, within: float = 30.0) -> tuple[int, str]:
    """Start `spotkit argv`, wait for `ready` on stdout, then `delay` s, press Ctrl-C (SIGINT).

    Returns the exit status and stderr; fails the test, with where it hangs, when the command
    has not ended `within` seconds after the Ctrl-C.
    """
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "spotkit", *argv],
                            env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        seen = ""
        while ready not in seen:
            assert time.monotonic() < deadline, f"never printed {ready!r}: {seen!r}"
            line = proc.stdout.readline()
            assert line or proc.poll() is None, f"exited early: {seen!r}"
            seen += line
        time.sleep(delay)  # into the steady state the line announces
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=within)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler shows where it hangs
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"spotkit {' '.join(argv)} ignored Ctrl-C for {within:g} s:\n"
                        f"{err[-6000:]}")
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, err


class ScopedToken:
    """What the widgets ask of a token: has it these scopes?"""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes

    def has_scopes(self, *scopes: str) -> bool:
        return all(s in self.scopes for s in scopes)


class FakeAuth:
    """A client's `auth` as the widgets see it: a token granted `scopes`."""

    def __init__(self, scopes: tuple[str, ...] = ("user-modify-playback-state",)) -> None:
        self.scopes = scopes

    def token(self) -> ScopedToken:
        return ScopedToken(self.scopes)


PlayerAnswer = dict[str, Any] | None | Exception


class FakePlayer(PlayerClient):
    """A PlayerClient answering from a script (the last answer repeats; an exception is raised);
    counts calls like spotkit.Spotify does and records the commands.

    `delay` seconds are slept before each answer and command (a slow Spotify); `command_error`
    is raised by every command; `auth` (None: no token to ask) says whether control is granted.
    """

    def __init__(self, *answers: PlayerAnswer, auth: FakeAuth | None = None) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.commands: list[str] = []
        self.command_error: Exception | None = None
        self.auth = auth
        self.now_playing_used = 0
        self.delay = 0.0

    def _answer(self) -> dict[str, Any] | None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def playback(self) -> dict[str, Any] | None:
        return self._answer()

    def now_playing(self) -> dict[str, Any] | None:
        self.now_playing_used += 1
        return self._answer()

    def _command(self, name: str) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        self.commands.append(name)
        if self.command_error is not None:
            raise self.command_error

    def play(self) -> None:
        self._command("play")

    def pause(self) -> None:
        self._command("pause")

    def next(self) -> None:
        self._command("next")

    def previous(self) -> None:
        self._command("previous")


class Browser:
    """Plays the user's browser with requests on the sandbox's consent page; remembers what it saw.

    Call it with an authorize URL (where spotkit opens a browser): it presses the `decision`
    button ("agree" or "cancel") and follows the redirect to spotkit's loopback listener.
    """

    def __init__(self, decision: str = "agree") -> None:
        self.decision = decision
        self.session = requests.Session()
        self.authorize_url: str | None = None
        self.callback_url: str | None = None
        self.page: requests.Response | None = None

    def consent(self, url: str) -> str:
        """Open `url`, answer the consent page; the redirect address (not followed)."""
        self.authorize_url = url
        response = self.session.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200:  # the consent page: press a button
            fields = {html.unescape(k): html.unescape(v) for k, v in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)">', response.text)}
            base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
            response = self.session.post(f"{base}/authorize/decision",
                                         data={**fields, "decision": self.decision},
                                         allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), response.text
        return str(response.headers["Location"])

    def __call__(self, url: str) -> None:
        self.callback_url = self.consent(url)
        self.page = self.session.get(self.callback_url, timeout=20)


def seed_login(sb: Sandbox, scopes: list[str] | None = None) -> Settings:
    """A cached login as `spotkit login` leaves it, from a token the sandbox minted (the
    environment must point at `sb`, as the `spotkit_env` fixture does)."""
    settings = load_settings()
    assert settings.client_id == sb.client_id
    token = Token.from_response(sb.issue_token(scopes))
    TokenCache(settings.cache_path).save(sb.client_id, sb.user["id"], token)
    return settings
