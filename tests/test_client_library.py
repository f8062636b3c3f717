"""The library endpoints with `responses`: the requests sent, paging, errors, records and frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from fakes import FakeTokens, api_error

import spotkit
from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.endpoints.playlists import playlist_id
from spotkit.errors import (
    Forbidden,
    MalformedResponse,
    MissingScope,
    PlaylistNotReadable,
    UnavailableEndpoint,
)
from spotkit.frames import COLUMN_DTYPES
from spotkit.library import LibraryCache
from spotkit.records import KIND_COLUMNS, Records

API = "http://127.0.0.1:9/v1"
PID = "37i9dQZF1DXcBWIGoYBM5M"


class UserTokens(FakeTokens):
    """A token source that knows who logged in, as TokenManager does."""

    user_id = "alice"


@pytest.fixture
def sp(tmp_path: Path, sleeps: list[float]) -> Iterator[Spotify]:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    with Spotify(settings, auth=UserTokens()) as client:
        client.library_cache = LibraryCache(tmp_path / "library.sqlite3")
        yield client


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def track(i: int) -> dict[str, Any]:
    return {"type": "track", "id": f"t{i}", "uri": f"spotify:track:t{i}", "name": f"Song {i}",
            "duration_ms": 1000 + i, "explicit": i % 2 == 0,
            "external_ids": {"isrc": f"ISRC{i}"},
            "external_urls": {"spotify": f"https://open.spotify.com/track/t{i}"},
            "artists": [{"id": "a1", "name": "Ann"}, {"id": "a2", "name": "Bo"}],
            "album": {"id": f"al{i}", "name": f"Album {i}", "release_date": "1999-05",
                      "images": [{"url": "https://i/640", "width": 640},
                                 {"url": "https://i/64", "width": 64}]}}


def paging(url: str, items: list[Any], total: int, offset: int, limit: int = 50) -> dict[str, Any]:
    nxt = (f"https://api.spotify.com/v1{url}?offset={offset + limit}&limit={limit}"
           if offset + limit < total else None)
    return {"href": url, "items": items, "next": nxt, "total": total, "limit": limit,
            "offset": offset, "previous": None}


def saved_pages(mocked: responses.RequestsMock, n: int) -> None:
    for offset in range(0, max(n, 1), 50):
        items = [{"added_at": f"2024-01-{1 + (i % 28):02d}T10:00:00Z", "track": track(i)}
                 for i in range(offset, min(offset + 50, n))]
        match = [responses.matchers.query_param_matcher(
            {"limit": "50"} if offset == 0 else {"limit": "50", "offset": str(offset)})]
        mocked.get(f"{API}/me/tracks", json=paging("/me/tracks", items, n, offset), match=match)


# --- reading and paging ------------------------------------------------------------------------


def test_saved_tracks_pages_with_the_largest_limit_following_next(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    saved_pages(mocked, 120)
    records = sp.saved_tracks(progress=False)
    assert len(records) == 120
    assert records.kind == "saved_tracks"
    assert [query(c) for c in mocked.calls] == [
        {"limit": ["50"]}, {"limit": ["50"], "offset": ["50"]},
        {"limit": ["50"], "offset": ["100"]}]
    first = records[0]
    assert list(first) == list(KIND_COLUMNS["saved_tracks"])
    assert first["item_id"] == "t0"
    assert first["artists"] == "Ann, Bo"
    assert first["artist_ids"] == "a1, a2"
    assert first["album_id"] == "al0"
    assert first["release_date"] == "1999-05"
    assert first["isrc"] == "ISRC0"
    assert first["image_url"] == "https://i/640"
    assert first["explicit"] is True
    assert first["added_at"].isoformat() == "2024-01-01T10:00:00+00:00"


def test_top_items_over_all_ranges_rank_from_one(sp: Spotify,
                                                 mocked: responses.RequestsMock) -> None:
    for term in ("short_term", "medium_term", "long_term"):
        mocked.get(f"{API}/me/top/artists", json=paging("/me/top/artists", [
            {"id": f"{term}-{i}", "name": f"A{i}", "genres": ["jazz", "nu jazz"]}
            for i in range(3)], 3, 0),
            match=[responses.matchers.query_param_matcher({"time_range": term, "limit": "50"})])
    records = sp.top_artists("all")
    assert [(r["time_range"], r["rank"]) for r in records][:4] == [
        ("short_term", 1), ("short_term", 2), ("short_term", 3), ("medium_term", 1)]
    assert records[0]["genres"] == "jazz, nu jazz"
    assert len(mocked.calls) == 3
    with pytest.raises(ValueError, match="time_range"):
        sp.top_tracks("forever")


def test_short_range_names_are_accepted(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/me/top/tracks", json=paging("/me/top/tracks", [track(1)], 1, 0),
               match=[responses.matchers.query_param_matcher({"time_range": "short_term",
                                                               "limit": "50"})])
    assert sp.top_tracks("short")[0]["time_range"] == "short_term"


def test_followed_artists_use_cursor_paging(sp: Spotify, mocked: responses.RequestsMock) -> None:
    first = {"artists": {"items": [{"id": "a1", "name": "Ann"}], "total": 2, "limit": 50,
                         "cursors": {"after": "a1"},
                         "next": "https://api.spotify.com/v1/me/following?type=artist&after=a1"
                                 "&limit=50"}}
    last = {"artists": {"items": [{"id": "a2", "name": "Bo"}], "total": 2, "limit": 50,
                        "cursors": {"after": None}, "next": None}}
    mocked.get(f"{API}/me/following", json=first,
               match=[responses.matchers.query_param_matcher({"type": "artist", "limit": "50"})])
    mocked.get(f"{API}/me/following", json=last, match=[responses.matchers.query_param_matcher(
        {"type": "artist", "after": "a1", "limit": "50"})])
    assert [r["artist_id"] for r in sp.followed_artists()] == ["a1", "a2"]


def test_playlist_items_local_file_and_unavailable_item_are_records(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    items = [
        {"added_at": "2025-01-01T00:00:00Z", "added_by": {"id": "alice"}, "is_local": False,
         "item": track(1)},
        {"added_at": "2025-01-02T00:00:00Z", "added_by": {"id": "alice"}, "is_local": True,
         "item": {"type": "track", "id": None, "uri": "spotify:local:Me:Memos:Demo:143",
                  "name": "Demo", "artists": [{"name": "Me"}], "album": {"name": "Memos"},
                  "duration_ms": 143000}},
        {"added_at": "2025-01-03T00:00:00Z", "added_by": None, "is_local": False, "item": None},
        {"added_at": "2025-01-04T00:00:00Z", "is_local": False, "track": track(2)},  # before 2026
    ]
    mocked.get(f"{API}/playlists/{PID}/items", json=paging(f"/playlists/{PID}/items", items, 4, 0))
    records = sp.playlist_items(f"https://open.spotify.com/playlist/{PID}?si=abc", refresh="full")
    assert [r["position"] for r in records] == [0, 1, 2, 3]
    assert records[0]["item_id"] == "t1"
    assert records[0]["playlist_id"] == PID
    local = records[1]
    assert local["is_local"] is True
    assert local["item_id"] is None
    assert local["name"] == "Demo"
    assert local["artists"] == "Me"
    assert local["album"] == "Memos"
    assert local["artist_ids"] is None
    gone = records[2]
    assert gone["item_type"] == "unknown"
    assert gone["item_id"] is None
    assert gone["added_by"] is None
    assert records[3]["item_id"] == "t2"
    frame = spotkit.to_frame(records)
    assert frame["item_id"].isna().tolist() == [False, True, True, False]


def test_another_users_playlist_says_why_and_what_works(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/playlists/{PID}/items", status=403, json=api_error(403, "Forbidden"))
    with pytest.raises(PlaylistNotReadable) as info:
        sp.playlist_items(PID, refresh="full")
    message = str(info.value)
    assert "owner and collaborators" in message
    assert "Copy it into a playlist" in message
    assert isinstance(info.value, Forbidden)


def test_a_refused_endpoint_says_development_mode(sp: Spotify,
                                                  mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/me/following", status=403, json=api_error(403, "Forbidden"))
    with pytest.raises(UnavailableEndpoint, match="development mode"):
        sp.followed_artists()
    mocked.get(f"{API}/me/shows", status=403, json=api_error(403, "Insufficient client scope"))
    with pytest.raises(MissingScope):
        sp.saved_shows()


def test_scopes_are_checked_before_the_call(tmp_path: Path, mocked: responses.RequestsMock) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    tokens = UserTokens(scopes={"user-read-private"})
    with Spotify(settings, auth=tokens) as client:
        client.library_cache = LibraryCache(tmp_path / "library.sqlite3")
        with pytest.raises(MissingScope, match="user-library-read"):
            client.saved_tracks()
    assert ("user-library-read",) in tokens.scope_checks
    assert len(mocked.calls) == 0


def test_a_page_without_items_is_malformed(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/me/albums", json=[1, 2])
    with pytest.raises(MalformedResponse, match="saved albums"):
        sp.saved_albums()


def test_user_comes_from_the_token_source_else_one_profile_call(
        tmp_path: Path, mocked: responses.RequestsMock) -> None:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    with Spotify(settings, auth=FakeTokens()) as client:
        client.library_cache = LibraryCache(tmp_path / "library.sqlite3")
        mocked.get(f"{API}/me", json={"id": "bob"})
        mocked.get(f"{API}/me/playlists", json=paging("/me/playlists", [], 0, 0))
        client.playlists()
        client.playlists()
        assert client.library_user() == "bob"
    assert [c.request.path_url.split("?")[0] for c in mocked.calls].count("/v1/me") == 1


def test_refresh_false_makes_no_call_and_refresh_is_checked(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    empty = sp.saved_episodes(refresh=False)
    assert empty == []
    assert empty.kind == "saved_episodes"
    assert empty.read_at is None
    assert len(mocked.calls) == 0
    with pytest.raises(ValueError, match="refresh must be True, False or 'full'"):
        sp.saved_tracks(refresh="sometimes")  # type: ignore[arg-type]


# --- playlist references -----------------------------------------------------------------------


@pytest.mark.parametrize("ref", [
    PID, f"spotify:playlist:{PID}", f"spotify:user:alice:playlist:{PID}",
    f"https://open.spotify.com/playlist/{PID}", f"https://open.spotify.com/playlist/{PID}?si=x",
    f"open.spotify.com/intl-de/playlist/{PID}", f" {PID} ", {"playlist_id": PID}])
def test_playlist_references(ref: Any) -> None:
    assert playlist_id(ref) == PID


@pytest.mark.parametrize("ref", ["", "spotify:album:abc", "https://example.com/playlist/x/y",
                                 "a b", {"name": "no id"}, 42])
def test_bad_playlist_references_say_what_works(ref: Any) -> None:
    with pytest.raises(ValueError, match="playlist"):
        playlist_id(ref)


# --- frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KIND_COLUMNS))
def test_every_kind_has_fixed_columns_and_dtypes_with_zero_rows(kind: str) -> None:
    frame = spotkit.to_frame(Records(kind))
    assert list(frame.columns) == list(KIND_COLUMNS[kind])
    assert len(frame) == 0
    for column in frame.columns:
        assert str(frame[column].dtype) == COLUMN_DTYPES.get(column, "string"), column


def test_a_plain_list_of_library_records_gets_its_kind_from_the_keys() -> None:
    row = dict.fromkeys(KIND_COLUMNS["playlists"])
    row.update(playlist_id="p", items_total=3, collaborative=True)
    frame = spotkit.to_frame([row])
    assert list(frame.columns) == list(KIND_COLUMNS["playlists"])
    assert str(frame["items_total"].dtype) == "Int64"
    assert frame["collaborative"][0]
