"""frames: fixed columns and dtypes, zero rows included, from records or one record."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest
from fakes import example

from spotkit.frames import COLUMN_DTYPES, columns_for, empty_frame, to_frame
from spotkit.records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS, history_page, now_playing_record

FETCHED = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)





def now_records() -> list[dict[str, Any]]:
    out = []
    for name in ("GetInformationAboutUsersCurrentPlaybackRequest",
                 "GetUsersCurrentlyPlayingTrackRequest_Episode"):
        record = now_playing_record(example(name), fetched_at=FETCHED)
        assert record is not None
        out.append(record)
    ad = now_playing_record({"is_playing": True, "currently_playing_type": "ad"},
                            fetched_at=FETCHED)
    assert ad is not None
    return [*out, ad]


def history_records() -> list[dict[str, Any]]:
    return history_page(example("GetCurrentUsersRecentlyPlayedTracksRequest")).records


def assert_schema(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    assert tuple(frame.columns) == columns
    for column in columns:
        expected = COLUMN_DTYPES.get(column, "string")
        assert str(frame[column].dtype) == expected, column


def test_now_playing_frame() -> None:
    frame = to_frame(now_records())
    assert_schema(frame, NOW_PLAYING_COLUMNS)
    assert len(frame) == 3
    assert frame.loc[0, "name"] == "Dancing Queen"
    assert frame.loc[0, "duration_ms"] == 230400
    assert frame.loc[0, "fetched_at"] == pd.Timestamp(FETCHED)
    assert bool(frame.loc[0, "is_playing"]) is True
    # missing values are NA, not NaN or None-objects
    assert frame.loc[2, "name"] is pd.NA
    assert frame.loc[2, "duration_ms"] is pd.NA
    assert frame.loc[1, "shuffle"] is pd.NA


def test_history_frame() -> None:
    frame = to_frame(history_records())
    assert_schema(frame, HISTORY_COLUMNS)
    assert frame["played_at"].iloc[0] == pd.Timestamp("2023-09-22T15:43:33.750Z")
    assert frame["artists"].iloc[0] == "Maceo Plex, Gabriel Ananda"


@pytest.mark.parametrize(("records", "kind", "columns"), [
    ([], "now_playing", NOW_PLAYING_COLUMNS),
    ([], "history", HISTORY_COLUMNS),
    ([], None, HISTORY_COLUMNS),
    (None, None, NOW_PLAYING_COLUMNS),
    ([None], "now_playing", NOW_PLAYING_COLUMNS),
])
def test_zero_rows_keep_schema(records: Any, kind: Any, columns: tuple[str, ...]) -> None:
    frame = to_frame(records, kind=kind)
    assert len(frame) == 0
    assert_schema(frame, columns)


def test_empty_frame() -> None:
    assert_schema(empty_frame("history"), HISTORY_COLUMNS)
    assert_schema(empty_frame("now_playing"), NOW_PLAYING_COLUMNS)


def test_single_record_is_one_row() -> None:
    record = now_records()[0]
    frame = to_frame(record)
    assert len(frame) == 1
    assert_schema(frame, NOW_PLAYING_COLUMNS)


def test_none_entries_skipped_and_extra_keys_dropped_missing_keys_na() -> None:
    record = dict(history_records()[0], extra="x")
    del record["album"]
    frame = to_frame([None, record])
    assert_schema(frame, HISTORY_COLUMNS)
    assert len(frame) == 1
    assert frame.loc[0, "album"] is pd.NA


def test_records_that_went_through_json() -> None:
    records = json.loads(json.dumps(history_records(), default=lambda v: v.isoformat()))
    frame = to_frame(records)
    assert_schema(frame, HISTORY_COLUMNS)
    assert frame["played_at"].iloc[0] == pd.Timestamp("2023-09-22T15:43:33.750Z")


def test_all_null_columns_keep_dtypes() -> None:
    frame = to_frame([dict.fromkeys(NOW_PLAYING_COLUMNS)], kind="now_playing")
    assert_schema(frame, NOW_PLAYING_COLUMNS)
    assert frame["fetched_at"].isna().all()


def test_unknown_kind_and_unknown_records() -> None:
    with pytest.raises(ValueError, match="kind"):
        columns_for("other")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass kind"):
        to_frame([{"a": 1}])
    with pytest.raises(TypeError):
        to_frame([1])  # type: ignore[list-item]


def test_kind_overrides_inference() -> None:
    frame = to_frame([{"name": "x"}], kind="history")
    assert_schema(frame, HISTORY_COLUMNS)
    assert frame.loc[0, "name"] == "x"
