"""pytest fixtures for an offline Spotify: `spotify_sandbox` and `spotkit_env`.

Loaded through the `pytest11` entry point, so it stays import-light: the server is imported inside
the fixtures only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import Sandbox

__all__ = ["spotify_sandbox", "spotkit_env"]


@pytest.fixture
def spotify_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A started Sandbox, stopped after the test.

    Options go through indirect parametrization: ``@pytest.mark.parametrize("spotify_sandbox",
    [{"premium": False}], indirect=True)``.
    """
    from .server import Sandbox

    options = dict(getattr(request, "param", None) or {})
    sb = Sandbox(**options)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def spotkit_env(spotify_sandbox: Sandbox, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox's settings in os.environ, a token cache in tmp_path, cwd = tmp_path (no stray
    .env); yields the sandbox.

    The login listener gets a free port of its own: 8888 (the sandbox's first registered address)
    is JupyterLab's default, and other test runs on the machine may be logging in at the same time.
    """
    for name in ("SPOTIFY_CLIENT_SECRET", "SPOTKIT_SCOPES", "SPOTKIT_SANDBOX", "SPOTKIT_SANDBOX_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in spotify_sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SPOTIFY_REDIRECT_URI", spotify_sandbox.free_redirect_uri())
    monkeypatch.setenv("SPOTKIT_CACHE_PATH", str(tmp_path / "tokens.json"))
    monkeypatch.chdir(tmp_path)
    _forget_default_client()
    yield spotify_sandbox
    _forget_default_client()


def _forget_default_client() -> None:
    """Make spotkit's shortcuts (spotkit.now_playing() ...) read the environment afresh.

    They keep one client made from the environment of its first use; without this a second test
    would talk to the first test's (stopped) sandbox. Looked up in sys.modules, not imported:
    this module stays apart from the client side, and a client never loaded has nothing cached.
    """
    client = sys.modules.get("spotkit.client")
    if client is not None:
        client.set_default_client(None)
