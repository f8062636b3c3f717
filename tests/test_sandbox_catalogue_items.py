"""The sandbox's single-item catalogue (GET /tracks|albums|artists/{id}), its generated catalogue
and its rolling-window rate limiter."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests
from sandbox_helpers import error_body, response_schema, validate

from spotkit.sandbox import Sandbox
from spotkit.sandbox.generated import generate
from spotkit.sandbox.ratelimit import RollingWindow

DEPRECATED_2026 = {"popularity", "available_markets", "followers", "linked_from", "preview_url"}


@pytest.fixture
def sb() -> Any:
    with Sandbox(seed_history=0) as sandbox:
        yield sandbox


def _id(uri: str) -> str:
    return uri.rsplit(":", 1)[-1]


def test_track_album_and_artist_match_the_spec_in_development_mode(
        sb: Sandbox, s: requests.Session) -> None:
    uri = sb.track_uris[3]  # Night Bus to Nowhere: two artists, explicit
    track = s.get(f"{sb.api_url}/tracks/{_id(uri)}").json()
    validate(track, response_schema("/tracks/{id}"), dev_mode=True)
    assert track["uri"] == uri
    assert track["explicit"] is True
    assert track["external_ids"]["isrc"].startswith("QZSBX")
    assert DEPRECATED_2026.isdisjoint(track)
    assert DEPRECATED_2026.isdisjoint(track["album"])

    album = s.get(f"{sb.api_url}/albums/{track['album']['id']}").json()
    validate(album, response_schema("/albums/{id}"), dev_mode=True)
    assert album["release_date"] == track["album"]["release_date"] == "2021"
    assert album["release_date_precision"] == "year"
    assert uri in [t["uri"] for t in album["tracks"]["items"]]
    assert album["tracks"]["total"] == album["total_tracks"] == 3
    assert DEPRECATED_2026.isdisjoint(album)

    artists = [s.get(f"{sb.api_url}/artists/{a['id']}").json() for a in track["artists"]]
    for artist in artists:
        validate(artist, response_schema("/artists/{id}"), dev_mode=True)
        assert DEPRECATED_2026.isdisjoint(artist)
    assert [a["genres"] for a in artists] == [["synthwave"], ["neo soul", "soul"]]


def test_development_mode_validation_still_catches_a_wrong_shape(
        sb: Sandbox, s: requests.Session) -> None:
    # a track's id is no album's
    assert s.get(f"{sb.api_url}/albums/{_id(sb.track_uris[0])}").status_code == 404
    track = s.get(f"{sb.api_url}/tracks/{_id(sb.track_uris[0])}").json()
    album = s.get(f"{sb.api_url}/albums/{track['album']['id']}").json()
    del album["tracks"]
    with pytest.raises(jsonschema.ValidationError):
        validate(album, "AlbumObject", dev_mode=True)
    with pytest.raises(jsonschema.ValidationError):  # the full spec wants popularity
        validate(s.get(f"{sb.api_url}/albums/{track['album']['id']}").json(), "AlbumObject")


@pytest.mark.parametrize("kind", ["tracks", "albums", "artists"])
def test_bad_and_unknown_ids(sb: Sandbox, s: requests.Session, kind: str) -> None:
    r = s.get(f"{sb.api_url}/{kind}/not-an-id")
    assert r.status_code == 400
    assert error_body(r) == {"status": 400, "message": "Invalid base62 id"}
    r = s.get(f"{sb.api_url}/{kind}/{'0' * 22}")
    assert r.status_code == 404
    validate(error_body(r), "ErrorObject")
    assert s.post(f"{sb.api_url}/{kind}/{'0' * 22}").status_code == 405
    assert requests.get(f"{sb.api_url}/{kind}/{'0' * 22}").status_code == 401


def test_the_generated_catalogue_is_served_and_stable(sb: Sandbox, s: requests.Session) -> None:
    uris = sb.grow_catalogue(40)
    assert len(set(uris)) == 40
    assert sb.grow_catalogue(200)[:40] == uris  # growing keeps what was there
    first = s.get(f"{sb.api_url}/tracks/{_id(uris[7])}").json()
    validate(first, "TrackObject", dev_mode=True)
    with Sandbox(seed_history=0) as other:
        assert other.grow_catalogue(200)[:40] == uris
    artists, albums, tracks = generate(200)
    assert len(tracks) == 200
    assert len(albums) == 40
    assert len(artists) == 20
    assert {t.album for t in tracks} == {a.key for a in albums}
    assert any(len(t.artists) > 1 for t in tracks)
    assert any(not a.genres for a in artists)
    many = generate(20_000)[0]  # past the 784 two-word names: still one name per artist
    assert len({a.name for a in many}) == len(many) == 2000
    assert any(len(a.genres) > 1 for a in artists)
    years = {int(a.release_date[:4]) for a in albums}
    assert min(years) < 1980
    assert max(years) > 2010
    assert {a.release_date_precision for a in albums} == {"day", "month", "year"}


def test_growing_through_the_admin_api(sb: Sandbox) -> None:
    r = requests.post(sb.base_url + "/_sandbox/catalogue", json={"tracks": 10})
    assert r.status_code == 200
    assert len(r.json()["tracks"]) == 10
    r = requests.post(sb.base_url + "/_sandbox/catalogue", json={"tracks": -1})
    assert r.status_code == 400


# ------------------------------------------------------------------ the rate limiter
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rolling_window_counts_admitted_calls_only() -> None:
    clock = FakeClock()
    window = RollingWindow(3, 30.0, clock=clock)
    for _ in range(3):
        assert window.admit() is None
        clock.now += 5.0
    clock.now += 0.2
    assert window.admit() == 15  # the oldest leaves the window in 14.8 s: whole seconds, up
    clock.now += 14.8
    assert window.admit() is None  # the refused call did not count
    assert window.admit() == 5
    assert window.describe() == {"limit": 3, "window": 30.0, "in_window": 3, "admitted": 4,
                                 "refused": 2}
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="limit"):
            RollingWindow(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window"):
        RollingWindow(5, 0)


def test_limit_answers_429_with_retry_after_then_lets_calls_through(
        sb: Sandbox, s: requests.Session) -> None:
    url = f"{sb.api_url}/tracks/{_id(sb.track_uris[0])}"
    sb.set_rate_limit(5, window=1.0)
    answers = [s.get(url) for _ in range(7)]
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 2
    refused = answers[-1]
    assert error_body(refused) == {"status": 429, "message": "API rate limit exceeded"}
    assert refused.headers["Retry-After"] == "1"
    assert sb.rate_limit() == {"limit": 5, "window": 1.0, "in_window": 5, "admitted": 5,
                               "refused": 2}
    assert s.get(sb.base_url + "/_sandbox/state").status_code == 200  # admin is never limited
    import time

    time.sleep(1.05)
    assert s.get(url).status_code == 200
    sb.set_rate_limit(None)
    assert all(s.get(url).status_code == 200 for _ in range(10))
    assert sb.rate_limit() is None


def test_limit_through_the_admin_api(sb: Sandbox, s: requests.Session) -> None:
    admin = sb.base_url + "/_sandbox/rate-limit"
    assert requests.get(admin).json() == {"limit": None}
    assert requests.post(admin, json={"limit": 2, "window": 30}).json()["limit"] == 2
    codes = [s.get(f"{sb.api_url}/me").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert requests.post(admin, json={"limit": 0}).status_code == 400
    assert requests.delete(admin).json() == {"limit": None}
    assert s.get(f"{sb.api_url}/me").status_code == 200


def test_the_users_library_tracks_are_served_one_by_one_too(sb: Sandbox,
                                                           s: requests.Session) -> None:
    uri = sb.library()["saved_track_uris"][0]
    track = s.get(f"{sb.api_url}/tracks/{_id(uri)}").json()
    validate(track, "TrackObject", dev_mode=True)
    assert track["uri"] == uri
    assert DEPRECATED_2026.isdisjoint(track)
    album = s.get(f"{sb.api_url}/albums/{track['album']['id']}").json()
    validate(album, "AlbumObject", dev_mode=True)
    assert DEPRECATED_2026.isdisjoint(album)
    artist = s.get(f"{sb.api_url}/artists/{track['artists'][0]['id']}").json()
    validate(artist, "ArtistObject", dev_mode=True)
    assert isinstance(artist["genres"], list)
    assert DEPRECATED_2026.isdisjoint(artist)
