"""`spotkit now` and `spotkit recent`: output formats, exit codes, failures without tracebacks."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from fakes import FakeTokens, example

import spotkit.cli.playback as playback_cli
import spotkit.http as http_mod
from spotkit.cli import main
from spotkit.client import Spotify
from spotkit.config import ENV_KEYS, load_settings
from spotkit.errors import LoginRequired
from spotkit.records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS

API = "http://127.0.0.1:9/v1"
NOW_URL = f"{API}/me/player/currently-playing"
RECENT_URL = f"{API}/me/player/recently-played"


@pytest.fixture(autouse=True)
def client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_mod, "_sleep", lambda s: None)
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    monkeypatch.setattr(playback_cli, "make_client",
                        lambda: Spotify(settings, auth=FakeTokens(prefix="cli-secret-token")))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- spotkit now -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "line"), [
    ("GetInformationAboutUsersCurrentPlaybackRequest",
     "Currently playing track: Dancing Queen by ABBA"),
    ("GetUsersCurrentlyPlayingTrackRequest_Episode",
     "Currently playing episode: The Giant Beastcast: Episode 0 from The Giant Beastcast"),
    (None, "Nothing is playing"),
])
def test_now(capsys: pytest.CaptureFixture[str], mocked: responses.RequestsMock,
             body: str | None, line: str) -> None:
    if body is None:
        mocked.get(NOW_URL, status=204)
    else:
        mocked.get(NOW_URL, json=example(body))
    assert run(capsys, "now") == (0, line + "\n", "")


def test_now_json(capsys: pytest.CaptureFixture[str], mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, json=example("GetUsersCurrentlyPlayingTrackRequest"))
    code, out, _ = run(capsys, "now", "--json")
    assert code == 0
    record = json.loads(out)
    assert tuple(record) == NOW_PLAYING_COLUMNS
    assert record["name"] == "Dancing Queen"
    assert record["fetched_at"].endswith("+00:00")


def test_now_json_nothing_playing(capsys: pytest.CaptureFixture[str],
                                  mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=204)
    assert run(capsys, "now", "--json") == (0, "null\n", "")


# --- spotkit recent ----------------------------------------------------------------------------


def test_recent_text(capsys: pytest.CaptureFixture[str], mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=example("GetCurrentUsersRecentlyPlayedTracksRequest"))
    code, out, _ = run(capsys, "recent", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("Solitary Daze by Maceo Plex, Gabriel Ananda")
    assert "limit=2" in str(mocked.calls[0].request.url)


def test_recent_default_limit_and_empty(capsys: pytest.CaptureFixture[str],
                                        mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json={"items": [], "cursors": None})
    assert run(capsys, "recent") == (0, "Nothing played recently\n", "")
    assert "limit=20" in str(mocked.calls[0].request.url)


def test_recent_json(capsys: pytest.CaptureFixture[str], mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=example("GetCurrentUsersRecentlyPlayedTracksRequest"))
    code, out, _ = run(capsys, "recent", "--json")
    assert code == 0
    records = json.loads(out)
    assert [tuple(r) for r in records] == [HISTORY_COLUMNS] * 2
    assert records[0]["played_at"] == "2023-09-22T15:43:33.750000+00:00"


def test_recent_csv(capsys: pytest.CaptureFixture[str], mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json=example("GetCurrentUsersRecentlyPlayedTracksRequest"))
    code, out, _ = run(capsys, "recent", "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    assert len(rows) == 3
    assert rows[1][HISTORY_COLUMNS.index("artists")] == "Maceo Plex, Gabriel Ananda"


def test_recent_csv_empty_has_header(capsys: pytest.CaptureFixture[str],
                                     mocked: responses.RequestsMock) -> None:
    mocked.get(RECENT_URL, json={"items": []})
    code, out, _ = run(capsys, "recent", "--csv")
    assert code == 0
    assert out.strip() == ",".join(HISTORY_COLUMNS)


@pytest.mark.parametrize("argv", [["recent", "--limit", "0"], ["recent", "--limit", "x"],
                                  ["recent", "--json", "--csv"]])
def test_recent_bad_arguments(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize(("argv", "says"), [
    (["recent", "--limit", "0"], "must be from 1 to 50 (Spotify keeps only the last 50)"),
    (["recent", "--limit", "51"], "must be from 1 to 50 (Spotify keeps only the last 50)"),
    (["recent", "--limit", "x"], "'x' is not a whole number"),
    (["saved", "tracks", "--limit", "0"], "must be 1 or more"),
])
def test_a_bad_count_says_what_it_must_be(capsys: pytest.CaptureFixture[str], argv: list[str],
                                          says: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"argument --limit: {says}" in capsys.readouterr().err


# --- failures ----------------------------------------------------------------------------------


def test_api_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str],
                                          mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=429, headers={"Retry-After": "3600"},
               json={"error": {"status": 429, "message": "API rate limit exceeded"}})
    code, out, err = run(capsys, "now")
    assert code == 1
    assert out == ""
    assert err.startswith("spotkit: Spotify answered 429")
    assert "Traceback" not in err


def test_malformed_body_is_a_message(capsys: pytest.CaptureFixture[str],
                                     mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, body="<html>oops</html>")
    code, _, err = run(capsys, "now")
    assert code == 1
    assert "HTML page" in err


def test_not_logged_in_says_run_spotkit_login(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def no_login() -> Spotify:
        raise LoginRequired("No Spotify login is cached.")

    monkeypatch.setattr(playback_cli, "make_client", no_login)
    code, _, err = run(capsys, "now")
    assert code == 1
    assert "spotkit login" in err


def test_debug_logs_requests_without_tokens(capsys: pytest.CaptureFixture[str],
                                            mocked: responses.RequestsMock) -> None:
    mocked.get(NOW_URL, status=204)
    spotkit_log = logging.getLogger("spotkit")
    urllib3_log = logging.getLogger("urllib3")
    before = (list(spotkit_log.handlers), spotkit_log.level,
              list(urllib3_log.handlers), urllib3_log.level)
    try:
        code, out, err = run(capsys, "--debug", "now")
    finally:
        spotkit_log.handlers[:], spotkit_log.level = before[0], before[1]
        urllib3_log.handlers[:], urllib3_log.level = before[2], before[3]
    assert code == 0
    assert out == "Nothing is playing\n"
    assert "GET /me/player/currently-playing -> 204 in" in err
    assert "cli-secret-token" not in err


def test_real_command_without_configuration(tmp_path: Path) -> None:
    """A fresh machine: no client id. One line of advice, exit 1, no traceback."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    out = subprocess.run([sys.executable, "-m", "spotkit", "now"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "SPOTIFY_CLIENT_ID" in out.stderr
    assert "Traceback" not in out.stderr


def test_real_command_not_logged_in(tmp_path: Path) -> None:
    pytest.importorskip("spotkit.auth.tokens")
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(SPOTIFY_CLIENT_ID="0" * 32, SPOTKIT_CACHE_PATH=str(tmp_path / "tokens.json"),
               SPOTKIT_API_URL="http://127.0.0.1:9/v1")
    out = subprocess.run([sys.executable, "-m", "spotkit", "recent"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "spotkit login" in out.stderr
    assert "Traceback" not in out.stderr
