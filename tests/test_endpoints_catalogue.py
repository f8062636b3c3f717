"""Single tracks, albums and artists (`responses` mocks): ids, URIs and links, errors, and the
enrichment fields read from 2026's development-mode bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from fakes import FakeTokens, api_error

from spotkit.client import ENDPOINT_SCOPES, Spotify
from spotkit.config import load_settings
from spotkit.errors import MalformedResponse, NotFound
from spotkit.ids import item_id
from spotkit.metadata import enrich
from spotkit.records.metadata import album_fields, genres_of, track_fields

API = "http://127.0.0.1:9/v1"
TRACK_ID = "11dFghVXANMlKmJXsNCbNl"
ALBUM_ID = "4aawyAB9vmqN3uQ7FjRGTy"
ARTISTS = ("0TnOYISbd1XYRBk9myaseg", "3TVXtAsR1Inumwj472S9r4")
# a TrackObject as a development-mode app gets it: no popularity, no available_markets
TRACK = {
    "id": TRACK_ID, "type": "track", "uri": f"spotify:track:{TRACK_ID}", "name": "Cut To The Feeling",
    "explicit": False, "external_ids": {"isrc": "USUM71703861"}, "duration_ms": 207959,
    "album": {"id": ALBUM_ID, "album_type": "single", "release_date": "2017-05-26",
              "release_date_precision": "day", "name": "Cut To The Feeling"},
    "artists": [{"id": a, "name": n} for a, n in zip(ARTISTS, ("Carly Rae Jepsen", "Drake"),
                                                     strict=True)],
}


@pytest.fixture
def sp(tokens: FakeTokens, sleeps: list[float]) -> Iterator[Spotify]:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    with Spotify(settings, auth=tokens) as client:
        yield client


@pytest.mark.parametrize("value", [
    TRACK_ID, f"spotify:track:{TRACK_ID}", f"https://open.spotify.com/track/{TRACK_ID}",
    f"https://open.spotify.com/intl-de/track/{TRACK_ID}?si=abc", f"  {TRACK_ID}\n"])
def test_item_id_accepts_ids_uris_and_links(value: str) -> None:
    assert item_id(value, "track") == TRACK_ID


@pytest.mark.parametrize("value", ["", "abc", f"spotify:album:{TRACK_ID}", "spotify:local:a:b:c:1",
                                   f"https://example.com/track/{TRACK_ID}", 42])
def test_item_id_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match="track"):
        item_id(value, "track")  # type: ignore[arg-type]


def test_single_items_are_fetched_as_sent(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/tracks/{TRACK_ID}", json=TRACK)
    mocked.get(f"{API}/albums/{ALBUM_ID}", json={"id": ALBUM_ID, "label": "Interscope"})
    mocked.get(f"{API}/artists/{ARTISTS[0]}", json={"id": ARTISTS[0], "genres": ["pop"]})
    assert sp.track(f"spotify:track:{TRACK_ID}") == TRACK
    assert sp.album(ALBUM_ID)["label"] == "Interscope"
    assert sp.artist(f"https://open.spotify.com/artist/{ARTISTS[0]}")["genres"] == ["pop"]
    assert [c.request.method for c in mocked.calls] == ["GET"] * 3
    assert ENDPOINT_SCOPES["GET /tracks/{id}"] == ()
    with pytest.raises(ValueError, match="kind"):
        sp.catalogue_item("playlist", TRACK_ID)


def test_errors(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/tracks/{TRACK_ID}", status=404, json=api_error(404, "Resource not found"))
    mocked.get(f"{API}/albums/{ALBUM_ID}", json=[1, 2])
    with pytest.raises(NotFound):
        sp.track(TRACK_ID)
    with pytest.raises(MalformedResponse, match="album"):
        sp.album(ALBUM_ID)


def test_fields_of_development_mode_bodies() -> None:
    assert track_fields(TRACK) == {
        "release_date": "2017-05-26", "release_year": 2017, "album_id": ALBUM_ID,
        "explicit": False, "isrc": "USUM71703861", "popularity": None,
        "artist_ids": ", ".join(ARTISTS)}
    assert track_fields({"album": "?", "explicit": "yes", "artists": [None, {"id": 3}]}) == dict.fromkeys(
        ["release_date", "release_year", "album_id", "explicit", "isrc", "popularity",
         "artist_ids"])
    assert album_fields({"release_date": "1999", "album_type": "album"})["release_year"] == 1999
    assert album_fields({"release_date": "sometime"})["release_year"] is None
    assert genres_of([{"genres": ["pop", "dance pop"]}, {"genres": ["pop", "rap"]}]) == \
        "pop, dance pop, rap"
    assert genres_of([{"genres": []}]) == ""
    assert genres_of([{"name": "no genres field"}, None]) is None


def test_enrich_with_mocks(sp: Spotify, mocked: responses.RequestsMock, tmp_path: Path) -> None:
    gone = "0" * 22
    mocked.get(f"{API}/tracks/{TRACK_ID}", json=TRACK)
    mocked.get(f"{API}/tracks/{gone}", status=404, json=api_error(404, "Resource not found"))
    mocked.get(f"{API}/albums/{ALBUM_ID}", json={"id": ALBUM_ID, "album_type": "single",
                                                  "release_date": "2017-05-26"})  # no label
    mocked.get(f"{API}/artists/{ARTISTS[0]}", json={"id": ARTISTS[0]})  # genres absent
    mocked.get(f"{API}/artists/{ARTISTS[1]}", json={"id": ARTISTS[1]})
    rows = [{"item_uri": f"spotify:track:{gone}"}, {"item_uri": f"spotify:track:{TRACK_ID}"},
            {"item_uri": f"spotify:track:{TRACK_ID}", "label": "kept"}]
    out = enrich(rows, client=sp, cache=tmp_path / "m.sqlite3", progress=False)
    # most-played first: the track played twice, its album, its artists, then the unknown one
    assert [c.request.path_url.rsplit("/", 2)[1] for c in mocked.calls] == [
        "tracks", "albums", "artists", "artists", "tracks"]
    assert out[1] == {"item_uri": f"spotify:track:{TRACK_ID}", "release_date": "2017-05-26",
                      "release_year": 2017, "album_id": ALBUM_ID, "explicit": False,
                      "isrc": "USUM71703861", "popularity": None,
                      "artist_ids": ", ".join(ARTISTS), "album_type": "single", "label": None,
                      "genres": None}
    assert out[2]["label"] == "kept"     # a value the row had is kept when Spotify has none
    assert set(out[0].values()) == {f"spotify:track:{gone}", None}
    again = enrich(rows, client=sp, cache=tmp_path / "m.sqlite3", progress=False)
    assert again == out
    assert len(mocked.calls) == 5        # the unknown track is remembered as unknown too
