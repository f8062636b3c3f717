"""quickstart(): the tutorials' first cell picks the real Spotify or a sandbox, and says which."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import spotkit
from spotkit import tutorial as qs
from spotkit.config import ENV_KEYS


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    for key in (*ENV_KEYS, "SPOTKIT_SANDBOX", "SPOTKIT_SANDBOX_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(qs, "_current", None)
    saved = dict(os.environ)
    yield
    if qs._current is not None:
        qs._current.close()
    os.environ.clear()
    os.environ.update(saved)
    spotkit.set_default_client(None)


def test_without_credentials_it_starts_a_sandbox_and_logs_in(capsys: pytest.CaptureFixture[str]) -> None:
    session = qs.quickstart()
    out = capsys.readouterr().out
    assert session.mode == "sandbox"
    assert session.sandbox is not None
    assert out.startswith("spotkit is using the sandbox, an offline Spotify at http://127.0.0.1:")
    assert "(logged in as Sandy Box)" in out
    # every later cell works without a browser: the shortcuts see the sandbox and the cached login
    assert spotkit.me()["display_name"] == "Sandy Box"
    assert spotkit.now_playing() is not None
    counts = session.sandbox.counts()
    assert counts.get("POST /api/token grant_type=authorization_code") == 1
    # the token cache lives in the session's own folder, never the user's real one
    assert Path(os.environ["SPOTKIT_CACHE_PATH"]).parent == session.data_dir
    # and so do the library cache and the default history
    assert Path(os.environ["SPOTKIT_DATA_DIR"]) == session.data_dir
    assert qs.quickstart(quiet=True) is session
    session.close()
    assert not session.data_dir.exists()  # tokens and exports go with the sandbox


def test_sandbox_can_be_forced_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SPOTKIT_SANDBOX", "1")
    session = qs.quickstart(quiet=True)
    assert session.mode == "sandbox"
    assert os.environ["SPOTIFY_CLIENT_ID"] != "0123456789abcdef0123456789abcdef"


def test_with_credentials_it_uses_spotify_and_waits_for_the_login_button(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SPOTKIT_CACHE_PATH", str(tmp_path / "tokens.json"))
    session = qs.quickstart()
    assert session.mode == "spotify"
    assert session.sandbox is None
    assert capsys.readouterr().out.strip() == (
        "spotkit is using the real Spotify, not logged in yet: use the login button below.")
    assert session.data_export_dir() == (tmp_path / "my_spotify_data").resolve()


def test_sandbox_data_export_is_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    session = qs.quickstart(quiet=True)
    export = session.data_export_dir()
    files = sorted(export.rglob("*.json"))
    assert any(f.name.startswith("Streaming_History_Audio_") for f in files)
    stamp = files[0].stat().st_mtime_ns
    assert session.data_export_dir() == export
    assert files[0].stat().st_mtime_ns == stamp


def test_without_credentials_a_real_export_next_to_the_notebook_is_used(tmp_path: Path) -> None:
    own = tmp_path / "my_spotify_data"
    own.mkdir()
    session = qs.quickstart(quiet=True)  # no client id: the sandbox
    assert session.mode == "sandbox"
    assert session.data_export_dir() == own
    assert not (session.data_dir / "my_spotify_data").exists()  # no synthetic export written
    history = spotkit.HistoryLogger(session.data_dir / "history.sqlite3")
    export = Path(__file__).parent / "data" / "export"
    assert history.import_export(export, progress=False).added > 0  # importing needs no login
    history.close()
