"""Fixtures shared by the test modules; the classes and helpers behind them are in fakes.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses
from fakes import FakeTokens
from sandbox_helpers import bearer

import spotkit.backoff as backoff_mod
import spotkit.http as http_mod
from spotkit.sandbox import Sandbox


@pytest.fixture(autouse=True)
def spotkit_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test's spotkit folders in a temporary folder of its own, never the user's.

    The token cache (``SPOTKIT_CACHE_PATH``), the databases (``SPOTKIT_DATA_DIR``) and the
    config and data folders they default to (``XDG_CONFIG_HOME``, ``XDG_DATA_HOME``) all point
    there; subprocesses inherit it. A test that sets its own (monkeypatch.setenv, an explicit
    path, ``env=`` of load_settings) is unaffected.
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("SPOTKIT_CACHE_PATH", str(home / "config" / "spotkit" / "tokens.json"))
    monkeypatch.setenv("SPOTKIT_DATA_DIR", str(home / "data" / "spotkit"))
    return home


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's back-off sleeps, recorded instead of slept; the shared back-off's clock
    moves on by them, as if they had been slept."""
    slept: list[float] = []
    monkeypatch.setattr(http_mod, "_sleep", slept.append)
    monkeypatch.setattr(backoff_mod, "_wall_clock", lambda: time.time() + sum(slept))
    return slept


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """The Web API mocked with `responses`; any request without a registered answer fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def s(sb: Sandbox) -> Iterator[requests.Session]:
    """A requests session carrying an access token of `sb`, the sandbox fixture of the test's module."""
    with requests.Session() as session:
        session.headers.update(bearer(sb.issue_token()))
        yield session


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Exceptions that end a thread during the test, for the test to assert on.

    pytest only warns about an exception in a thread, so a test whose checks run in a thread
    (a fake browser, a callback) passes even when they fail, unless it looks here.
    """
    errors: list[BaseException] = []

    def record(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            errors.append(args.exc_value)

    monkeypatch.setattr(threading, "excepthook", record)
    return errors
