"""records: recorded Spotify bodies and bodies of our own to flat records; fuzzed with hypothesis."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fakes import example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.errors import MalformedResponse
from spotkit.records import (
    HISTORY_COLUMNS,
    ITEM_TYPES,
    NOW_PLAYING_COLUMNS,
    history_page,
    history_record,
    now_playing_line,
    now_playing_record,
    parse_timestamp,
)

FETCHED = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)





TRACK_PLAYBACK = "GetInformationAboutUsersCurrentPlaybackRequest"
EPISODE_PLAYBACK = "GetInformationAboutUsersCurrentPlaybackRequest_Episode"
TRACK_NOW = "GetUsersCurrentlyPlayingTrackRequest"
EPISODE_NOW = "GetUsersCurrentlyPlayingTrackRequest_Episode"
RECENT = "GetCurrentUsersRecentlyPlayedTracksRequest"


# --- now playing: the recorded bodies ----------------------------------------------------------


def test_track_from_player() -> None:
    record = now_playing_record(example(TRACK_PLAYBACK), fetched_at=FETCHED)
    assert record == {
        "fetched_at": FETCHED,
        "is_playing": True,
        "item_type": "track",
        "item_id": "01iyCAUm8EvOFqVWYJ3dVX",
        "item_uri": "spotify:track:01iyCAUm8EvOFqVWYJ3dVX",
        "name": "Dancing Queen",
        "artists": "ABBA",
        "album": "Arrival",
        "duration_ms": 230400,
        "progress_ms": 69937,
        "device_name": "My fridge",
        "device_type": "Computer",
        "shuffle": False,
        "repeat": "off",
        "context_type": None,
        "context_uri": None,
        "image_url": "https://i.scdn.co/image/1cb3d4e9b45c0526655b712e8e7a9154a0367b42",
        "external_url": "https://open.spotify.com/track/01iyCAUm8EvOFqVWYJ3dVX",
    }
    assert tuple(record) == NOW_PLAYING_COLUMNS


def test_track_from_currently_playing_has_no_device_fields() -> None:
    record = now_playing_record(example(TRACK_NOW), fetched_at=FETCHED)
    assert record is not None
    assert record["is_playing"] is False
    assert record["progress_ms"] == 78810
    assert record["device_name"] is record["device_type"] is None
    assert record["shuffle"] is record["repeat"] is None


@pytest.mark.parametrize("name", [EPISODE_NOW, EPISODE_PLAYBACK])
def test_episode_uses_show_for_album_and_publisher_for_artists(name: str) -> None:
    body = example(name)
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "episode"
    assert record["name"] == body["item"]["name"]
    assert record["album"] == "The Giant Beastcast"
    assert record["artists"] == "Giant Bomb"
    assert record["context_type"] == "show"
    assert record["context_uri"] == "spotify:show:5AvwZVawapvyhJUIx71pdJ"
    assert record["image_url"] == body["item"]["images"][0]["url"]
    assert record["item_uri"].startswith("spotify:episode:")
    assert record["duration_ms"] == body["item"]["duration_ms"]


def test_episode_without_own_images_falls_back_to_show_images() -> None:
    body = example(EPISODE_NOW)
    del body["item"]["images"]
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["image_url"] == body["item"]["show"]["images"][0]["url"]


def test_widest_image_wins_whatever_the_order() -> None:
    body = example(TRACK_PLAYBACK)
    images = body["item"]["album"]["images"]
    body["item"]["album"]["images"] = list(reversed(images))
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["image_url"] == images[0]["url"]


def test_several_artists_are_comma_joined() -> None:
    body = example(TRACK_PLAYBACK)
    body["item"]["artists"].append({"name": "Benny"})
    body["item"]["artists"].append({"name": None})  # skipped
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["artists"] == "ABBA, Benny"


# --- now playing: bodies of our own ------------------------------------------------------------


def test_none_body_is_nothing_playing() -> None:
    assert now_playing_record(None) is None


def test_ad_has_no_item_fields() -> None:
    body = {"is_playing": True, "currently_playing_type": "ad", "item": None,
            "progress_ms": 1200, "context": None, "timestamp": 1}
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "ad"
    assert record["is_playing"] is True
    assert record["progress_ms"] == 1200
    for key in ("item_id", "item_uri", "name", "artists", "album", "duration_ms", "image_url",
                "external_url"):
        assert record[key] is None, key


def test_ad_or_unknown_with_an_item_still_has_no_item_fields() -> None:
    body = example(TRACK_NOW)
    for kind in ("ad", "unknown"):
        body["currently_playing_type"] = kind
        record = now_playing_record(body, fetched_at=FETCHED)
        assert record is not None
        assert record["item_type"] == kind
        assert record["name"] is None


def test_podcast_without_additional_types_is_an_episode_with_null_item() -> None:
    record = now_playing_record({"is_playing": True, "currently_playing_type": "episode",
                                 "item": None}, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "episode"
    assert record["name"] is None


def test_item_type_falls_back_to_item_type_then_unknown() -> None:
    body = example(TRACK_NOW)
    del body["currently_playing_type"]
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "track"
    body["currently_playing_type"] = "audiobook"
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "track"
    body["item"]["type"] = "chapter"
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["item_type"] == "unknown"
    assert record["name"] is None


def test_empty_object_gives_all_none_but_fetched_at_and_unknown() -> None:
    record = now_playing_record({}, fetched_at=FETCHED)
    assert record is not None
    assert record["fetched_at"] == FETCHED
    assert record["item_type"] == "unknown"
    assert all(v is None for k, v in record.items() if k not in ("fetched_at", "item_type"))


def test_nulls_and_wrong_types_become_none() -> None:
    body = example(TRACK_PLAYBACK)
    body["progress_ms"] = None
    body["is_playing"] = "yes"
    body["device"] = {"name": 5, "type": None}
    body["shuffle_state"] = 1
    body["item"]["duration_ms"] = "230400"
    body["item"]["album"] = "Arrival"
    body["item"]["artists"] = {"name": "ABBA"}
    body["item"]["external_urls"] = None
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    for key in ("progress_ms", "is_playing", "device_name", "device_type", "shuffle",
                "duration_ms", "album", "artists", "image_url", "external_url"):
        assert record[key] is None, key
    assert record["name"] == "Dancing Queen"


def test_integral_floats_are_ints_and_bools_are_not() -> None:
    body = example(TRACK_NOW)
    body["progress_ms"] = 1000.0
    body["item"]["duration_ms"] = True
    record = now_playing_record(body, fetched_at=FETCHED)
    assert record is not None
    assert record["progress_ms"] == 1000
    assert type(record["progress_ms"]) is int
    assert record["duration_ms"] is None


def test_fetched_at_defaults_to_now_utc_and_is_normalised() -> None:
    record = now_playing_record({})
    assert record is not None
    assert record["fetched_at"].tzinfo is timezone.utc
    assert abs(datetime.now(timezone.utc) - record["fetched_at"]) < timedelta(seconds=5)
    naive = datetime(2026, 1, 1, 10, 0)
    record = now_playing_record({}, fetched_at=naive)
    assert record is not None
    assert record["fetched_at"] == naive.replace(tzinfo=timezone.utc)
    plus2 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    record = now_playing_record({}, fetched_at=plus2)
    assert record is not None
    assert record["fetched_at"].tzinfo is timezone.utc
    assert record["fetched_at"].hour == 10


@pytest.mark.parametrize("body", [[], "x", 3, 1.5, True, [{"item": None}]])
def test_body_that_is_not_an_object_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse, match="JSON object"):
        now_playing_record(body)


def test_body_is_not_modified() -> None:
    body = example(EPISODE_PLAYBACK)
    before = copy.deepcopy(body)
    now_playing_record(body)
    assert body == before


# --- the one-line description ------------------------------------------------------------------


def test_lines() -> None:
    track = now_playing_record(example(TRACK_PLAYBACK), fetched_at=FETCHED)
    assert now_playing_line(track) == "Currently playing track: Dancing Queen by ABBA"
    episode = now_playing_record(example(EPISODE_NOW), fetched_at=FETCHED)
    assert now_playing_line(episode) == ("Currently playing episode: The Giant Beastcast: "
                                         "Episode 0 from The Giant Beastcast")
    assert now_playing_line(None) == "Nothing is playing"
    paused = now_playing_record(example(TRACK_NOW), fetched_at=FETCHED)
    assert now_playing_line(paused) == "Currently playing track: Dancing Queen by ABBA (paused)"
    ad = now_playing_record({"is_playing": True, "currently_playing_type": "ad"})
    assert now_playing_line(ad) == "Currently playing an ad"
    assert "Currently playing" in now_playing_line(now_playing_record({}))


# --- history -----------------------------------------------------------------------------------


def test_history_page_from_example() -> None:
    page = history_page(example(RECENT))
    assert page.raw_count == 2
    assert page.cursor_after == 1695397413750
    assert page.cursor_before == 1695396194294
    first = page.records[0]
    assert tuple(first) == HISTORY_COLUMNS
    assert first == {
        "played_at": datetime(2023, 9, 22, 15, 43, 33, 750000, tzinfo=timezone.utc),
        "item_type": "track",
        "item_id": "7vqcDtNvoJn5pXhktc8qe8",
        "item_uri": "spotify:track:7vqcDtNvoJn5pXhktc8qe8",
        "name": "Solitary Daze",
        "artists": "Maceo Plex, Gabriel Ananda",
        "album": "Solitary Daze",
        "duration_ms": 463405,
        "context_type": None,
        "context_uri": None,
        "source": "recently_played",
    }
    assert page.records[1]["played_at"] == datetime(2023, 9, 22, 15, 23, 14, 294000,
                                                    tzinfo=timezone.utc)


def test_history_record_with_context_and_source() -> None:
    item = example(RECENT)["items"][0]
    item["context"] = {"type": "playlist", "uri": "spotify:playlist:x"}
    record = history_record(item, source="export")
    assert record["context_type"] == "playlist"
    assert record["context_uri"] == "spotify:playlist:x"
    assert record["source"] == "export"


def test_history_record_without_track_or_time() -> None:
    record = history_record({"played_at": "garbage", "track": None})
    assert record["played_at"] is None
    assert record["item_type"] == "unknown"
    assert record["name"] is None


def test_history_episode_entry() -> None:
    episode = example(EPISODE_NOW)["item"]
    record = history_record({"played_at": "2026-01-02T03:04:05Z", "episode": episode})
    assert record["item_type"] == "episode"
    assert record["album"] == "The Giant Beastcast"


@pytest.mark.parametrize("body", [None, {}, {"items": None, "cursors": None}])
def test_empty_history_pages(body: Any) -> None:
    page = history_page(body)
    assert page.records == []
    assert page.raw_count == 0
    assert page.cursor_after is None
    assert page.cursor_before is None


@pytest.mark.parametrize("body", [[], {"items": {}}, {"items": [1]}, {"items": [None]}])
def test_malformed_history_pages(body: Any) -> None:
    with pytest.raises(MalformedResponse):
        history_page(body)


def test_cursors_as_ints_or_junk() -> None:
    page = history_page({"items": [], "cursors": {"after": 5, "before": "x"}})
    assert page.cursor_after == 5
    assert page.cursor_before is None


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-09-22T15:43:33.750Z", datetime(2023, 9, 22, 15, 43, 33, 750000, tzinfo=timezone.utc)),
    ("2023-09-22T15:43:33Z", datetime(2023, 9, 22, 15, 43, 33, tzinfo=timezone.utc)),
    ("2023-09-22T15:43:33.123456789Z",
     datetime(2023, 9, 22, 15, 43, 33, 123456, tzinfo=timezone.utc)),
    ("2023-09-22T17:43:33.5+02:00", datetime(2023, 9, 22, 15, 43, 33, 500000, tzinfo=timezone.utc)),
    ("2023-09-22T15:43:33", datetime(2023, 9, 22, 15, 43, 33, tzinfo=timezone.utc)),
    ("2023-09-22 15:43", datetime(2023, 9, 22, 15, 43, tzinfo=timezone.utc)),
    ("2023-13-22T15:43:33Z", None),
    ("yesterday", None),
    ("", None),
    (1695397413750, None),
])
def test_parse_timestamp(text: Any, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


# --- fuzzing: arbitrary JSON never crashes the builders ----------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_KEYS = ["item", "currently_playing_type", "is_playing", "progress_ms", "device", "context",
         "shuffle_state", "repeat_state", "type", "name", "artists", "album", "images", "show",
         "publisher", "url", "width", "id", "uri", "duration_ms", "external_urls", "spotify",
         "track", "episode", "played_at", "items", "cursors", "after", "before"]
# bodies shaped like Spotify's, with any JSON at every level, so the fuzzing reaches deep paths
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["track", "episode", "ad", "unknown", "2023-09-22T15:43:33.750Z", "1"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(_KEYS), children, max_size=6),
    max_leaves=40,
)

_TYPES: dict[str, tuple[type, ...]] = {
    "fetched_at": (datetime,), "played_at": (datetime,), "is_playing": (bool,),
    "shuffle": (bool,), "duration_ms": (int,), "progress_ms": (int,),
}


def _check_types(record: dict[str, Any]) -> None:
    for key, value in record.items():
        if value is None:
            continue
        expected = _TYPES.get(key, (str,))
        assert isinstance(value, expected), (key, value)
        if expected == (int,):
            assert not isinstance(value, bool)
        if isinstance(value, datetime):
            assert value.tzinfo is timezone.utc


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(json_values, shaped))
def test_fuzz_now_playing_record(body: Any) -> None:
    try:
        record = now_playing_record(body, fetched_at=FETCHED)
    except MalformedResponse:
        assert not isinstance(body, dict)
        return
    if body is None:
        assert record is None
        return
    assert record is not None
    assert tuple(record) == NOW_PLAYING_COLUMNS
    assert record["item_type"] in ITEM_TYPES
    _check_types(record)
    now_playing_line(record)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(json_values, shaped))
def test_fuzz_history(body: Any) -> None:
    try:
        page = history_page(body)
    except MalformedResponse:
        return
    for record in page.records:
        assert tuple(record) == HISTORY_COLUMNS
        _check_types(record)
    for cursor in (page.cursor_after, page.cursor_before):
        assert cursor is None or isinstance(cursor, int)
