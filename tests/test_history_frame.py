"""Stored plays as DataFrames (the client's history dtypes), and CSV / Parquet round trips."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from history_helpers import T0, play_item

from spotkit._values import to_ms
from spotkit.errors import HistoryError
from spotkit.frames import empty_frame, to_frame
from spotkit.history import EXTENDED_COLUMNS, HistoryLogger, read_history
from spotkit.history.frame import FRAME_DTYPES, time_ms, write_history
from spotkit.records import HISTORY_COLUMNS, history_record

EXPORT = Path(__file__).parent / "data" / "export"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryLogger]:
    with HistoryLogger(tmp_path / "h.sqlite3") as h:
        h.import_export(sorted(EXPORT.glob("*.json")))  # every format, by name
        yield h


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its categorical columns as the client frames' ``string`` columns."""
    return frame.astype({c: "string" for c, t in frame.dtypes.items() if str(t) == "category"})


def used_categories(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda s: s.cat.remove_unused_categories() if s.dtype == "category" else s)


def test_history_columns_and_dtypes_match_the_client_frames(history: HistoryLogger) -> None:
    """The client frames' columns; text as categoricals of str, other dtypes the same."""
    frame = history.to_frame()
    reference = empty_frame("history")
    assert list(frame.columns) == list(HISTORY_COLUMNS)
    pd.testing.assert_series_equal(as_text(frame).dtypes, reference.dtypes)
    assert {str(t) for c, t in frame.dtypes.items() if reference[c].dtype == "string"} == {"category"}
    assert all(frame[c].cat.categories.dtype == "str" for c in frame.select_dtypes("category"))
    assert str(frame["played_at"].dtype) == "datetime64[ns, UTC]"
    assert len(frame) == 15


def test_extended_adds_the_export_columns(history: HistoryLogger) -> None:
    frame = history.to_frame(extended=True)
    assert list(frame.columns) == list(EXTENDED_COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == FRAME_DTYPES
    assert str(frame["ms_played"].dtype) == "Int64"
    assert str(frame["skipped"].dtype) == "boolean"


def test_an_empty_history_has_the_same_schema(tmp_path: Path) -> None:
    with HistoryLogger(tmp_path / "empty.sqlite3") as h:
        frame = h.to_frame()
        pd.testing.assert_frame_equal(as_text(frame), empty_frame("history"))
        assert len(h.to_frame(extended=True).columns) == len(EXTENDED_COLUMNS)
        for name in ("empty.csv", "empty.parquet"):
            pd.testing.assert_frame_equal(read_history(h.export(tmp_path / name)),
                                          h.to_frame(extended=True))


def test_same_values_as_to_frame_of_records(tmp_path: Path) -> None:
    records = [history_record(play_item(f"spotify:track:{i:022d}", T0.replace(minute=i),
                                        name=f"Song {i}", artists=("A", "B")))
               for i in range(5)]
    with HistoryLogger(tmp_path / "h.sqlite3") as h:
        h.store.add_plays([r | {"played_at": to_ms(r["played_at"]),
                                "play_key": r["item_uri"]} for r in records])
        pd.testing.assert_frame_equal(as_text(h.to_frame()), to_frame(records))


def test_since_and_until(history: HistoryLogger) -> None:
    whole = history.to_frame()
    part = history.to_frame(since="2023-12-01", until=datetime(2023, 12, 2, tzinfo=timezone.utc))
    expected = whole[(whole["played_at"] >= "2023-12-01") & (whole["played_at"] < "2023-12-02")]
    assert len(part) == 6
    # the categories of a part are the values it holds
    pd.testing.assert_frame_equal(part, used_categories(expected.reset_index(drop=True)))
    assert len(history.to_frame(since=date(2024, 1, 1))) == 2
    assert len(history.to_frame(until="2019-06-01T12:00:01Z")) == 1


def test_time_bounds() -> None:
    assert time_ms(None) is None
    assert time_ms("1970-01-01T00:00:01Z") == 1000
    assert time_ms(datetime(1970, 1, 1, 0, 0, 2)) == 2000  # naive is UTC
    assert time_ms(date(1970, 1, 2)) == 86_400_000
    assert time_ms(pd.Timestamp("1970-01-01 00:00:03", tz="UTC")) == 3000
    with pytest.raises(ValueError, match="since='yesterday'"):
        time_ms("yesterday", "since")
    with pytest.raises(TypeError):
        time_ms(12, "since")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["h.csv", "h.csv.gz", "h.parquet"])
@pytest.mark.parametrize("extended", [False, True])
def test_round_trip(history: HistoryLogger, tmp_path: Path, name: str, extended: bool) -> None:
    frame = history.to_frame(extended=extended)
    path = history.export(tmp_path / "out" / name, extended=extended)
    assert path == tmp_path / "out" / name
    assert not list(path.parent.glob(".*partial"))
    pd.testing.assert_frame_equal(read_history(path), frame)


def test_csv_is_plain(history: HistoryLogger, tmp_path: Path) -> None:
    path = history.export(tmp_path / "h.csv", extended=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(HISTORY_COLUMNS)
    assert len(lines) == 16
    assert "Mañana" in path.read_text(encoding="utf-8")


def test_big_csv_is_written_in_chunks(tmp_path: Path) -> None:
    n = 25_000
    frame = pd.DataFrame({"played_at": pd.date_range("2020-01-01", periods=n, freq="min",
                                                     tz="UTC").astype("datetime64[ns, UTC]"),
                          "name": pd.Categorical([f"s{i}" for i in range(n)])})
    path = write_history(frame, tmp_path / "big.csv", progress=False)
    back = read_history(path)
    assert len(back) == n
    pd.testing.assert_frame_equal(back, frame)


def test_unknown_extension(history: HistoryLogger, tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"use \.csv"):
        history.export(tmp_path / "h.xlsx")
    with pytest.raises(HistoryError, match=r"use \.csv"):
        read_history(tmp_path / "h.txt")


def test_parquet_without_pyarrow_says_what_to_install(history: HistoryLogger, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(HistoryError, match=r"pip install 'spotkit\[parquet\]'"):
        history.export(tmp_path / "h.parquet")
    assert not (tmp_path / "h.parquet").exists()


def test_reading_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="Cannot read the history file"):
        read_history(tmp_path / "none.csv")


def test_reading_in_small_windows_gives_the_same_frame(history: HistoryLogger,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from spotkit.history import store

    whole = history.to_frame(extended=True)
    monkeypatch.setattr(store, "_WINDOW", 2)   # a query per couple of plays
    pd.testing.assert_frame_equal(history.to_frame(extended=True), whole)
    pd.testing.assert_frame_equal(history.to_frame(since="2023-12-01", extended=True),
                                  used_categories(whole[whole["played_at"] >= "2023-12-01"]
                                                  .reset_index(drop=True)))
