"""`spotkit top|saved|playlists|playlist` against the sandbox: output formats and the cache flags."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fakes import seed_login

from spotkit.cli import main
from spotkit.records import KIND_COLUMNS
from spotkit.sandbox import Sandbox

pytestmark = pytest.mark.parametrize("spotify_sandbox", [{"saved_tracks": 120, "playlists": 9}],
                                     indirect=True)


@pytest.fixture
def sb(spotkit_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("SPOTKIT_DATA_DIR", str(tmp_path / "data"))
    seed_login(spotkit_env)
    return spotkit_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_saved_tracks_text_then_cache_only(sb: Sandbox, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    code, out, _ = run(capsys, "saved", "tracks", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(" by " in line for line in lines)
    assert (tmp_path / "data" / "library.sqlite3").is_file()
    sb.reset_log()
    code, again, _ = run(capsys, "saved", "tracks", "--limit", "3", "--no-refresh")
    assert code == 0
    assert again == out
    assert sb.requests() == []


def test_json_and_csv_have_the_record_keys(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "saved", "albums", "--json")
    assert code == 0
    records = json.loads(out)
    assert records
    assert list(records[0]) == list(KIND_COLUMNS["saved_albums"])
    code, out, _ = run(capsys, "playlists", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert len(rows) == 9
    assert list(rows[0]) == list(KIND_COLUMNS["playlists"])


def test_top_over_all_ranges(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "top", "artists", "--range", "all", "--limit", "60")
    assert code == 0
    assert out.splitlines()[0].startswith("short    1. ")
    assert any(line.startswith("medium   1. ") for line in out.splitlines())
    code, out, _ = run(capsys, "top", "tracks", "--range", "long", "--json", "--full")
    assert code == 0
    assert {r["time_range"] for r in json.loads(out)} == {"long_term"}


def test_playlist_items_by_url_and_the_refusal_for_others(
        sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    lists = sb.library()["playlists"]
    mixed = next(p for p in lists if p["name"] == "Odds and Ends")
    code, out, _ = run(capsys, "playlist", f"https://open.spotify.com/playlist/{mixed['id']}?si=1")
    assert code == 0
    assert "(local file)" in out
    assert "(no longer available)" in out
    assert out.splitlines()[0].lstrip().startswith("1. ")
    other = next(p for p in lists if not p["readable"])
    code, out, err = run(capsys, "playlist", other["id"])
    assert code == 1
    assert "owner and collaborators" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "playlist", "spotify:album:nope")
    assert code == 2
    assert "not a Spotify playlist id" in err


def test_an_empty_cache_read_says_so(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "saved", "shows", "--no-refresh")
    assert code == 0
    assert out.strip() == "No saved shows"


def test_bad_arguments_exit_2_without_a_traceback(sb: Sandbox,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["saved", "songs"], ["top", "tracks", "--range", "decade"],
                 ["saved", "tracks", "--limit", "0"], ["saved", "tracks", "--json", "--csv"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
