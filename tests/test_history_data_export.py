"""Spotify's data export: both formats, defensive reading, idempotent imports, folders and zips."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from spotkit.errors import HistoryError
from spotkit.history import HistoryLogger
from spotkit.history.data_export import (
    export_row,
    export_rows,
    file_plays,
    find_export_files,
    load_export_file,
)
from spotkit.history.store import HistoryStore

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


def _extended(tmp_path: Path, name: str, *plays: tuple[str, str], ms: int = 1000) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps([
        {"ts": ts, "spotify_track_uri": uri, "master_metadata_track_name": "Song",
         "ms_played": ms} for ts, uri in plays] + [{"ts": None}]))   # one unusable record
    return path


def test_reimport_of_the_same_bytes_skips_them_with_the_same_counts(
        history: HistoryLogger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = history.import_export([EXTENDED, ENDSONG, BASIC])
    long_way = history.import_export([EXTENDED, ENDSONG, BASIC])
    import spotkit.history.logger as logger_module

    def no_reading(*args: object, **kwargs: object) -> object:
        raise AssertionError("a file already imported byte for byte was read record by record")

    monkeypatch.setattr(logger_module, "file_plays", no_reading)
    again = history.import_export([EXTENDED, ENDSONG, BASIC])
    assert again == long_way
    assert (again.records, again.added, again.duplicates, again.skipped) == \
        (first.records, 0, first.added, first.skipped)


def test_a_changed_file_is_read_again_and_adds_what_is_new(history: HistoryLogger,
                                                            tmp_path: Path) -> None:
    path = _extended(tmp_path, "Streaming_History_Audio_2024_0.json",
                     ("2024-01-01T10:00:00Z", "spotify:track:a"))
    assert history.import_export(path).added == 1
    _extended(tmp_path, path.name, ("2024-01-01T10:00:00Z", "spotify:track:a"),
              ("2024-01-01T10:05:00Z", "spotify:track:b"))
    result = history.import_export(path)
    assert (result.records, result.added, result.duplicates, result.skipped) == (3, 1, 1, 1)
    assert len(history) == 2


def test_a_skipped_file_still_numbers_repeats_in_the_files_after_it(
        history: HistoryLogger, tmp_path: Path) -> None:
    early = _extended(tmp_path, "Streaming_History_Audio_2024_0.json",
                      ("2024-01-01T10:00:00Z", "spotify:track:a"))
    late = _extended(tmp_path, "Streaming_History_Audio_2024_1.json",
                     ("2024-01-01T10:00:00Z", "spotify:track:a"), ms=2000)
    history.import_export(early)
    result = history.import_export([early, late])   # the early file is skipped, not forgotten
    assert (result.added, result.duplicates) == (1, 1)
    assert sorted(k for (k,) in history.store.fetch(["play_key"])) == \
        ["spotify:track:a", "spotify:track:a#2"]


def test_a_file_whose_import_failed_is_not_recorded_as_imported(
        history: HistoryLogger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(HistoryStore, "_insert_chunk", broken)
        with pytest.raises(HistoryError):
            history.import_export(EXTENDED)
    assert len(history) == 0
    assert history.import_export(EXTENDED).added == 6   # read record by record, all stored


def test_the_same_bytes_twice_in_one_import_are_repeats_as_before(history: HistoryLogger,
                                                                  tmp_path: Path) -> None:
    one = _extended(tmp_path, "Streaming_History_Audio_2024_0.json",
                    ("2024-01-01T10:00:00Z", "spotify:track:a"))
    two = tmp_path / "Streaming_History_Audio_2024_1.json"
    shutil.copy(one, two)
    assert history.import_export([one, two]).added == 2   # URI and URI#2, as file order says
    again = history.import_export([one, two])
    assert (again.records, again.added, again.duplicates, again.skipped) == (4, 0, 2, 2)


def test_typed_decoding_gives_the_plays_json_gives(tmp_path: Path) -> None:
    odd = [{"ts": "2024-01-01T10:00:00Z", "spotify_track_uri": "spotify:track:a",
            "master_metadata_track_name": "Song", "ms_played": 1000, "shuffle": True},
           {"ts": "2024-01-01T10:00:00Z", "spotify_track_uri": "spotify:track:a",
            "master_metadata_track_name": "Song", "ms_played": "1200", "skipped": 1},
           {"ts": "2024-01-01 10:01:00", "spotify_episode_uri": "spotify:episode:e",
            "episode_name": "Ep", "episode_show_name": ["not", "text"], "ms_played": 2**70},
           {"ts": "2024-01-01T10:02:00.5Z", "audiobook_chapter_title": "Ch", "offline": "true"},
           {"ts": "2024-01-01T10:03:00Z", "spotify_track_uri": {"o": 1}, "ms_played": 1.5,
            "platform": "", "conn_country": "DE", "ip_addr": "192.0.2.1", "extra": [[[]]]},
           {"ts": None}, {"ts": "yesterday"}, {"ts": 12}]
    path = tmp_path / "Streaming_History_Audio_2024_0.json"
    path.write_text(json.dumps(odd))
    file = find_export_files(path)[0]
    typed = load_export_file(file)
    assert type(typed[0]) is not dict   # msgspec's structs: the fast path is the one tested
    assert file_plays(typed, "f") == file_plays(json.loads(path.read_bytes()), "f")
    for rows in (EXTENDED, ENDSONG):
        file = find_export_files(rows)[0]
        assert file_plays(load_export_file(file), "f") == \
            file_plays(json.loads(rows.read_bytes()), "f")
