"""Export files of any shape: one clear line naming the file, exit 1 in the CLI, nothing stored.

Every case imports into a history that already holds plays, and checks that it still holds
exactly those afterwards (or, for files that are merely odd, that what was readable went in).
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.cli import main
from spotkit.errors import HistoryError
from spotkit.history import HistoryLogger
from spotkit.history.data_export import export_play, file_plays

EXPORT = Path(__file__).parent / "data" / "export"
GOOD = EXPORT / "Streaming_History_Audio_2023-2024_0.json"
NAME = "Streaming_History_Audio_2020_0.json"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    with HistoryLogger(path) as history:
        history.import_export(GOOD)
    return path


def snapshot(db: Path) -> list[tuple[Any, ...]]:
    with HistoryLogger(db) as history:
        return history.store.fetch()


def record(ts: object = "2020-05-01T10:00:00Z", **fields: object) -> dict[str, object]:
    return {"ts": ts, "spotify_track_uri": "spotify:track:0zzzzzzzzzzzzzzzzzzzz1",
            "master_metadata_track_name": "Song", "ms_played": 1000, **fields}


def zipped(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"Spotify Extended Streaming History/{NAME}", data)
    return path


def bad_crc(tmp_path: Path) -> Path:
    path = zipped(tmp_path, json.dumps([record()] * 200).encode())
    raw = bytearray(path.read_bytes())
    start = raw.index(b"Spotify Extended") + len(f"Spotify Extended Streaming History/{NAME}")
    raw[start + 20] ^= 0xFF   # a byte of the compressed member
    path.write_bytes(bytes(raw))
    return path


def truncated_zip(tmp_path: Path) -> Path:
    path = zipped(tmp_path, json.dumps([record()] * 200).encode())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / NAME
    path.write_bytes(data)
    return path


def folder_in_export(tmp_path: Path) -> Path:
    (tmp_path / "export" / NAME).mkdir(parents=True)
    return tmp_path / "export"


CASES: dict[str, tuple[Any, str]] = {
    "not UTF-8": (lambda t: write(t, b'[{"ts": "2020-01-01T00:00:00Z", "x": "\xff\xfe"}]'),
                  "is not UTF-8 text"),
    "empty": (lambda t: write(t, b""), "is empty"),
    "only spaces": (lambda t: write(t, b" \n\t "), "is empty"),
    "deeply nested": (lambda t: write(t, b"[" * 200_000 + b"]" * 200_000), "nests JSON too deeply"),
    "truncated JSON": (lambda t: write(t, json.dumps([record()] * 5).encode()[:-7]),
                       "is not valid JSON"),
    "an object, not a list": (lambda t: write(t, b'{"ts": "2020-01-01T00:00:00Z"}'),
                              "expected a JSON list"),
    "a date after 2262": (lambda t: write(t, json.dumps([record(), record("9999-12-31T23:59:59Z")])
                                          .encode()), "record 1 is dated '9999-12-31T23:59:59Z'"),
    "a date before 1677": (lambda t: write(t, json.dumps([record("1066-10-14T09:00:00+00:00")])
                                           .encode()), "outside the years 1677-2262"),
    "a truncated zip": (truncated_zip, "is not a readable zip"),
    "a zip member with a bad CRC": (bad_crc, "cannot be unpacked"),
    "a folder where a file should be": (folder_in_export, "is a folder, not a file"),
    "nothing to import": (lambda t: write(t, b"[]").parent / "nope", "does not exist"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_file_is_one_line_exit_1_and_nothing_stored(
        case: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, message = CASES[case]
    path = make(tmp_path)
    before = snapshot(db)
    assert main(["history", "import", "--db", str(db), str(path)]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0]
    assert str(path) in lines[0] or path.name in lines[0]
    assert "Traceback" not in out + err
    assert snapshot(db) == before


def test_an_unreadable_file_names_it(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, json.dumps([record()]).encode())
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:   # the tests run as root, where chmod 000 reads fine
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    before = snapshot(db)
    assert main(["history", "import", "--db", str(db), str(path)]) == 1
    err = capsys.readouterr().err
    assert f"Cannot read {path}: Permission denied" in err
    assert snapshot(db) == before


def test_lone_surrogates_are_unreadable_text(db: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """JSON can spell "\\ud800", which is no text SQLite can store: NULL, like a mistyped field."""
    odd = record("2020-05-01T10:00:00Z", spotify_track_uri="spotify:track:\ud800",
                 master_metadata_track_name="x\udfff", platform="\ud83d")
    path = write(tmp_path, json.dumps([odd]).encode())
    assert main(["history", "import", "--db", str(db), str(path)]) == 0
    assert "1 new plays" in capsys.readouterr().out
    with HistoryLogger(db) as history:
        frame = history.to_frame(since="2020-05-01", until="2020-05-02", extended=True)
    assert frame[["item_uri", "name", "platform"]].isna().all().all()


def test_odd_values_are_null_and_the_rest_is_kept(db: Path, tmp_path: Path) -> None:
    """Numbers beyond 64 bits, NaN, a numeric time: NULL or skipped, never an overflow."""
    path = write(tmp_path, ("[" + ", ".join([
        json.dumps(record("2020-05-01T10:00:00Z", ms_played=2**70)),
        json.dumps(record("2020-05-01T10:00:01Z", ms_played=-(2**63))),
        json.dumps(record("2020-05-01T10:00:02Z", ms_played=float("nan"), skipped=2**64)),
        json.dumps(record(10**30)),
        '{"ts": "2020-05-01T10:00:03Z", "ms_played": 1e999, "platform": ["a", {"b": 1}]}',
    ]) + "]").encode())
    with HistoryLogger(db) as history:
        result = history.import_export(path)
        assert (result.records, result.added, result.skipped) == (5, 4, 1)
        frame = history.to_frame(since="2020-05-01", until="2020-05-02", extended=True)
    assert frame["ms_played"].isna().all()
    assert frame["skipped"].isna().all()
    assert frame["platform"].isna().all()


# --- properties ----------------------------------------------------------------------------------

_FIELDS = ["ts", "spotify_track_uri", "master_metadata_track_name",
           "master_metadata_album_artist_name", "master_metadata_album_album_name",
           "spotify_episode_uri", "episode_name", "episode_show_name", "audiobook_chapter_uri",
           "audiobook_chapter_title", "audiobook_title", "ms_played", "skipped", "reason_start",
           "reason_end", "shuffle", "offline", "incognito_mode", "platform", "conn_country",
           "endTime", "artistName", "trackName", "podcastName", "msPlayed"]
_YEARS = {"min_value": datetime(1900, 1, 1), "max_value": datetime(2100, 1, 1)}
_TIMES = st.one_of(
    st.datetimes(**_YEARS).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.datetimes(**_YEARS).map(lambda d: d.strftime("%Y-%m-%d %H:%M")),
    st.sampled_from(["2020-01-01T00:00:00Z", "2020-01-01T00:00:00.5+02:00", "", "Z",
                     "9999-01-01T00:00:00Z"]),
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | _TIMES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=4)
_POOL = st.sampled_from([None, "", "a", "b", 5, True, 1.5, ["x"], "\ud800"])
_URIS = st.sampled_from([None, "", "spotify:track:a", "spotify:track:b", "spotify:episode:e",
                         "spotify:chapter:c", "spotify:local:x", 3, "spotify:track:\udfff"])
_EXTENDED = st.fixed_dictionaries({"ts": _TIMES}, optional={
    **{f: _URIS if f.endswith("_uri") else _POOL for f in _FIELDS[1:20]}, "ms_played": _VALUES})
_RECORDS = st.lists(st.one_of(_EXTENDED, _EXTENDED, st.dictionaries(st.sampled_from(_FIELDS), _VALUES),
                              _VALUES), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | _RECORDS.map(lambda r: json.dumps(r).encode()))
def test_any_bytes_as_an_export_are_imported_or_refused_whole(data: bytes, db: Path,
                                                                 tmp_path: Path) -> None:
    path = write(tmp_path, data)
    with HistoryLogger(db) as history:
        before = history.store.fetch()
        try:
            history.import_export(path)
            error = ""
        except HistoryError as exc:
            error = str(exc)
        if error:
            assert "\n" not in error
            assert str(path) in error
            assert history.store.fetch() == before
        else:
            history.to_frame(extended=True)   # whatever went in, a DataFrame can hold


@settings(max_examples=200, deadline=None)
@given(records=_RECORDS)
def test_the_fast_reader_gives_the_plays_of_the_record_by_record_one(records: list[Any]) -> None:
    try:
        plays, skipped = file_plays(records, "f")
    except HistoryError:   # a date out of range: the record-by-record reader refuses it too
        with pytest.raises(ValueError, match=r"."):
            [export_play(rec) for rec in records]
        return
    expected = [p for p in map(export_play, records) if p is not None]
    assert plays == expected
    assert skipped == len(records) - len(expected)
