"""Fixtures shared by the test modules; the classes and helpers behind them are in fakes.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from fakes import FakeTokens

import spotkit.http as http_mod


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's back-off sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(http_mod, "_sleep", slept.append)
    return slept


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """The Web API mocked with `responses`; any request without a registered answer fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()
