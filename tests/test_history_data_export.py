"""Spotify's data export: both formats, defensive reading, idempotent imports, folders and zips."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from spotkit.errors import HistoryError
from spotkit.history import HistoryLogger
from spotkit.history.data_export import export_row, export_rows, find_export_files

EXPORT = Path(__file__).parent / "data" / "export"
BASIC = EXPORT / "StreamingHistory_music_0.json"
PODCAST = EXPORT / "StreamingHistory_podcast_0.json"
EXTENDED = EXPORT / "Streaming_History_Audio_2023-2024_0.json"
ENDSONG = EXPORT / "endsong_0.json"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryLogger]:
    with HistoryLogger(tmp_path / "h.sqlite3") as h:
        yield h


def test_basic_format_twice_gives_no_duplicates(history: HistoryLogger) -> None:
    first = history.import_export([BASIC, PODCAST])
    assert (first.files, first.records, first.added, first.skipped) == (2, 9, 7, 2)
    again = history.import_export([BASIC, PODCAST])
    assert (again.added, again.duplicates) == (0, 7)
    frame = history.to_frame(extended=True)
    assert len(frame) == 7
    assert set(frame["source"]) == {"export_basic"}
    assert frame["item_uri"].isna().all()  # the basic export has no URIs
    mañana = frame[frame["name"] == "Mañana"].iloc[0]
    assert mañana["artists"] == "Ana Ruiz: Trio"
    assert str(mañana["played_at"]) == "2023-12-01 07:45:00+00:00"
    assert mañana["ms_played"] == 244100
    episodes = frame[frame["item_type"] == "episode"]
    assert list(episodes["album"]) == ["The Data Hour"] * 2


def test_repeats_in_the_same_minute_are_kept(history: HistoryLogger) -> None:
    history.import_export(BASIC)
    frame = history.to_frame(extended=True)
    shorts = frame[frame["name"] == "Short Circuit"]
    assert sorted(shorts["ms_played"]) == [980, 1520]
    assert history.import_export(BASIC).added == 0


def test_extended_format_twice_gives_no_duplicates(history: HistoryLogger) -> None:
    first = history.import_export([EXTENDED, ENDSONG])
    assert (first.records, first.added, first.skipped) == (10, 8, 2)
    assert history.import_export([ENDSONG, EXTENDED]).added == 0  # order does not matter
    frame = history.to_frame(extended=True)
    assert len(frame) == 8
    assert set(frame["source"]) == {"export_extended"}
    song = frame[frame["item_uri"] == "spotify:track:0aaaaaaaaaaaaaaaaaaaa1"].iloc[0]
    assert song["item_id"] == "0aaaaaaaaaaaaaaaaaaaa1"
    assert (song["name"], song["artists"], song["album"]) == ("Mañana", "Ana Ruiz: Trio", "Días")
    assert str(song["played_at"]) == "2023-12-01 07:45:12+00:00"
    assert (song["platform"], song["conn_country"], song["reason_end"]) == \
        ("android", "ES", "trackdone")
    assert not pd.isna(song["skipped"])
    assert not song["skipped"]
    skips = frame[frame["name"] == "Skip Me"]
    assert len(skips) == 2
    assert skips["skipped"].all()
    assert skips["shuffle"].all()
    episode = frame[frame["item_type"] == "episode"].iloc[0]
    assert (episode["name"], episode["album"], bool(episode["offline"])) == \
        ("Ep. 12: Cursors", "The Data Hour", True)
    chapter = frame[frame["item_type"] == "chapter"].iloc[0]
    assert (chapter["album"], bool(chapter["incognito_mode"])) == ("A Long Book", True)
    assert len(frame[frame["item_type"] == "unknown"]) == 1
    local = frame[frame["name"] == "Local Thing"].iloc[0]
    assert local["ms_played"] == 12000
    assert bool(local["skipped"])
    assert not bool(local["shuffle"])
    assert pd.isna(local["item_id"])  # a local file has no Spotify id


def test_private_fields_are_not_stored(history: HistoryLogger) -> None:
    history.import_export([EXTENDED, ENDSONG])
    with history.store._lock:  # the raw table: no IP address or user name anywhere
        dump = "\n".join(history.store._conn.iterdump())
    assert "192.0.2.10" not in dump
    assert "198.51.100.7" not in dump
    assert "someone" not in dump


def test_both_formats_in_one_store(history: HistoryLogger) -> None:
    files = sorted(EXPORT.glob("*.json"))  # named one by one: every format is imported
    result = history.import_export(files)
    assert (result.files, result.added) == (4, 15)
    assert history.import_export(files).added == 0
    frame = history.to_frame()
    assert frame["played_at"].is_monotonic_increasing
    assert set(frame["source"]) == {"export_basic", "export_extended"}


def test_the_zip_as_downloaded(history: HistoryLogger, tmp_path: Path) -> None:
    archive = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in (BASIC, EXTENDED):
            z.write(f, f"Spotify Account Data/{f.name}")
        z.writestr("Spotify Account Data/Userdata.json", "{}")
        z.writestr("Spotify Account Data/Streaming_History_Video_2024.json", "[]")
    files = find_export_files(archive)
    # the extended history covers the basic one's plays: searching, only the extended is read
    assert [f.member for f in files] == [f"Spotify Account Data/{EXTENDED.name}"]
    result = history.import_export(archive)
    assert result.files == 1
    assert history.import_export(EXTENDED).added == 0
    assert set(history.to_frame()["source"]) == {"export_extended"}


def test_a_folder_with_only_the_basic_history_imports_it(tmp_path: Path) -> None:
    shutil.copy(BASIC, tmp_path / BASIC.name)
    shutil.copy(EXTENDED, tmp_path / EXTENDED.name)
    assert [f.path.name for f in find_export_files(tmp_path)] == [EXTENDED.name]
    (tmp_path / EXTENDED.name).unlink()
    assert [f.path.name for f in find_export_files(tmp_path)] == [BASIC.name]


def test_folder_search_skips_other_files(tmp_path: Path) -> None:
    shutil.copy(BASIC, tmp_path / BASIC.name)
    (tmp_path / "Userdata.json").write_text("{}")
    assert [f.path.name for f in find_export_files(tmp_path)] == [BASIC.name]
    with pytest.raises(HistoryError, match="No Spotify streaming history files"):
        find_export_files([])


def test_bad_files_are_clear_errors_and_import_nothing(history: HistoryLogger,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "StreamingHistory_music_1.json"
    broken.write_text('[{"endTime": "2023-01-01 00:00"')
    with pytest.raises(HistoryError, match="is not valid JSON") as info:
        history.import_export([broken, BASIC])
    assert len(history) == 0   # nothing of a bad file, nothing after it
    assert str(broken) in str(info.value)
    with pytest.raises(HistoryError, match=r"1 file\(s\) before it were imported"):
        history.import_export([BASIC, broken])
    assert len(history) == 5   # each file all or nothing: the good one is in
    assert history.import_export(BASIC).added == 0
    obj = tmp_path / "StreamingHistory_music_2.json"
    obj.write_text(json.dumps({"endTime": "2023-01-01 00:00"}))
    with pytest.raises(HistoryError, match="expected a JSON list"):
        history.import_export(obj)
    with pytest.raises(HistoryError, match="does not exist"):
        history.import_export(tmp_path / "nope.json")


def test_rows_read_defensively() -> None:
    assert export_row("text") is None
    assert export_row({"ts": None}) is None
    assert export_row({"endTime": 12}) is None
    assert export_row({"neither": 1}) is None
    row = export_row({"ts": "2020-01-01T00:00:00Z", "spotify_track_uri": 5, "ms_played": True,
                      "skipped": "yes", "shuffle": "true", "platform": ["x"],
                      "master_metadata_track_name": "Name"})
    assert row is not None
    assert (row["item_type"], row["item_uri"], row["ms_played"], row["skipped"], row["shuffle"],
            row["platform"]) == ("track", None, None, None, True, None)
    assert row["play_key"] == "export:extended::Name"
    # a time with an offset is converted to UTC
    shifted = export_row({"ts": "2020-01-01T02:00:00+02:00", "spotify_track_uri": "spotify:track:x"})
    assert shifted is not None
    assert shifted["played_at"] == 1577836800000


def test_repeat_numbering_is_stable() -> None:
    recs = [{"ts": "2020-01-01T00:00:00Z", "spotify_track_uri": "spotify:track:x"}] * 3
    stats: dict[str, int] = {}
    keys = [r["play_key"] for r in export_rows([*recs, "junk"], stats)]
    assert keys == ["spotify:track:x", "spotify:track:x#2", "spotify:track:x#3"]
    assert stats == {"skipped": 1}
