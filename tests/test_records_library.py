"""The library record builders: fixed keys and types whatever JSON Spotify sends (fuzzed)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.errors import MalformedResponse
from spotkit.records import (
    ARTIST_COLUMNS,
    KIND_COLUMNS,
    PLAYLIST_COLUMNS,
    PLAYLIST_ITEM_COLUMNS,
    TOP_TRACK_COLUMNS,
    artist_record,
    playlist_item_record,
    playlist_record,
    saved_record,
    top_record,
)

_KEYS = ["item", "track", "album", "show", "episode", "artists", "images", "id", "uri", "name",
         "type", "is_local", "added_at", "added_by", "duration_ms", "explicit", "external_ids",
         "isrc", "upc", "release_date", "genres", "owner", "items", "tracks", "total", "url",
         "width", "collaborative", "public", "snapshot_id", "publisher", "external_urls",
         "spotify", "label", "total_tracks", "total_episodes", "description", "display_name"]
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["track", "episode", "2023-09-22T15:43:33Z", "1999-05", "spotify:local:a"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(_KEYS), children, max_size=8),
    max_leaves=40,
)
_INTS = {"duration_ms", "rank", "position", "items_total", "total_tracks", "total_episodes"}
_BOOLS = {"explicit", "collaborative", "public", "is_local"}
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(record: dict[str, Any], columns: tuple[str, ...]) -> None:
    assert tuple(record) == columns
    for key, value in record.items():
        if value is None:
            continue
        if key == "added_at":
            assert isinstance(value, datetime)
            assert value.tzinfo is timezone.utc
        elif key in _INTS:
            assert isinstance(value, int)
            assert not isinstance(value, bool)
        elif key in _BOOLS:
            assert isinstance(value, bool)
        else:
            assert isinstance(value, str), (key, value)


@FUZZ
@given(shaped, st.sampled_from(["track", "album", "show", "episode"]))
def test_fuzz_saved_records(entry: Any, kind: str) -> None:
    try:
        record = saved_record(entry, kind)
    except MalformedResponse:
        assert not isinstance(entry, dict)
        return
    check(record, KIND_COLUMNS[f"saved_{kind}s"])


@FUZZ
@given(shaped)
def test_fuzz_playlist_and_item_records(body: Any) -> None:
    try:
        item = playlist_item_record(body, "p", 3)
    except MalformedResponse:
        assert not isinstance(body, dict)
    else:
        check(item, PLAYLIST_ITEM_COLUMNS)
        if item["is_local"]:
            assert item["item_id"] is None
    try:
        check(playlist_record(body), PLAYLIST_COLUMNS)
    except MalformedResponse:
        assert not isinstance(body, dict)


@FUZZ
@given(shaped)
def test_fuzz_top_and_artist_records(body: Any) -> None:
    check(top_record(body, 1, "short_term"), TOP_TRACK_COLUMNS)
    check(artist_record(body), ARTIST_COLUMNS)


def test_a_saved_album_and_a_saved_episode() -> None:
    album = saved_record({"added_at": "2020-01-02T03:04:05Z", "album": {
        "id": "al", "uri": "spotify:album:al", "name": "A", "album_type": "single",
        "artists": [{"id": "x", "name": "X"}, {"id": "y", "name": "Y"}], "release_date": "1981",
        "total_tracks": 2, "label": "L", "external_ids": {"upc": "123"}}}, "album")
    assert album["artists"] == "X, Y"
    assert album["artist_ids"] == "x, y"
    assert album["upc"] == "123"
    assert album["total_tracks"] == 2
    assert album["added_at"] == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    episode = saved_record({"added_at": None, "episode": {
        "id": "e", "name": "E", "duration_ms": 60_000, "release_date": "2026-01-01",
        "show": {"id": "s", "name": "Show", "publisher": "P", "images": [{"url": "u"}]}}},
        "episode")
    assert episode["show"] == "Show"
    assert episode["show_id"] == "s"
    assert episode["publisher"] == "P"
    assert episode["image_url"] == "u"
    assert episode["added_at"] is None


def test_an_episode_in_a_playlist_reads_as_an_item_of_its_show() -> None:
    record = playlist_item_record({"item": {"type": "episode", "id": "e", "uri": "spotify:episode:e",
                                            "name": "E", "show": {"id": "s", "name": "Show",
                                                                  "publisher": "P"}}}, "p", 0)
    assert record["item_type"] == "episode"
    assert record["album"] == "Show"
    assert record["artists"] == "P"
    assert record["artist_ids"] is None
