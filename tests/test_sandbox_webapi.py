"""The sandbox's Web API: shapes checked against Spotify's OpenAPI definition and the recorded
examples, errors, scopes and the player commands."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from sandbox_helpers import bearer, error_body, load_example, response_schema, validate

from spotkit.sandbox import Sandbox

PLAYED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def sb() -> Any:
    with Sandbox(seed_history=60, seed=7) as sandbox:
        yield sandbox


def without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    # Deliberate deviation from the spec, as Spotify itself: item, context and progress_ms are
    # null in real bodies (SCHEMAS.md discrepancy 6) but the OpenAPI 3.0 schemas do not mark them
    # nullable, so null members are left out before validating.
    return {k: v for k, v in body.items() if v is not None}


def validate_playback(body: dict[str, Any], schema: str) -> None:
    validate(without_nulls(body), schema)
    # real bodies nest actions as {"disallows": {...}} (SCHEMAS.md discrepancy 2); the spec's
    # DisallowsObject is what sits inside
    assert set(body["actions"]) == {"disallows"}
    validate(body["actions"]["disallows"], "DisallowsObject")
    assert all(v is True for v in body["actions"]["disallows"].values())


# ------------------------------------------------------------------ /me
def test_me_matches_private_user_object(sb: Sandbox, s: requests.Session) -> None:
    r = s.get(sb.api_url + "/me")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    validate(body, response_schema("/me"))
    assert body["type"] == "user"
    assert body["uri"] == f"spotify:user:{body['id']}"
    assert body["href"] == f"{sb.api_url}/users/{body['id']}"
    assert body["external_urls"]["spotify"].endswith(body["id"])
    assert body["display_name"] == sb.user["display_name"] == "Sandy Box"
    assert body["account_id"]
    assert body["product"] == "premium"
    example = load_example("GetCurrentUsersProfileRequest.json")
    assert set(example) - set(body) == {"birthdate"}  # obsolete in the old example
    avatar = body["images"][0]["url"]
    assert avatar.startswith(sb.base_url + "/images/")
    png = requests.get(avatar)
    assert png.status_code == 200
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_me_works_with_any_token_and_optional_fields_follow_scopes(sb: Sandbox) -> None:
    token = sb.issue_token([])
    r = requests.get(sb.api_url + "/me", headers=bearer(token))
    assert r.status_code == 200
    body = r.json()
    assert {"country", "product", "email"}.isdisjoint(body)
    validate(body, "PrivateUserObject")
    token = sb.issue_token(["user-read-email"])
    assert "email" in requests.get(sb.api_url + "/me", headers=bearer(token)).json()


def test_legacy_fields_can_be_dropped() -> None:
    with Sandbox(legacy_fields=False, seed_history=0) as sb:
        h = bearer(sb.issue_token())
        me = requests.get(sb.api_url + "/me", headers=h).json()
        assert {"country", "product", "email", "followers"}.isdisjoint(me)
        track = requests.get(sb.api_url + "/me/player", headers=h).json()["item"]
        assert {"popularity", "available_markets", "preview_url"}.isdisjoint(track)


# ------------------------------------------------------------------ bearer tokens and scopes
def test_token_errors(sb: Sandbox) -> None:
    url = sb.api_url + "/me/player"
    r = requests.get(url)
    assert r.status_code == 401
    assert error_body(r) == {"status": 401, "message": "No token provided"}
    r = requests.get(url, headers=bearer("BQnot-a-token"))
    assert error_body(r) == {"status": 401, "message": "Invalid access token"}
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = requests.get(url, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 400
    assert error_body(r)["message"] == "Only valid bearer authentication supported"
    validate(r.json()["error"], "ErrorObject")


def test_expired_tokens(sb: Sandbox) -> None:
    h = bearer(sb.issue_token())
    assert requests.get(sb.api_url + "/me", headers=h).status_code == 200
    sb.expire_access_tokens()
    r = requests.get(sb.api_url + "/me", headers=h)
    assert r.status_code == 401
    assert error_body(r) == {"status": 401, "message": "The access token expired"}
    assert requests.get(sb.api_url + "/me", headers=bearer(sb.issue_token())).status_code == 200


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("GET", "/me/player", "user-read-playback-state"),
    ("GET", "/me/player/currently-playing", "user-read-currently-playing"),
    ("GET", "/me/player/recently-played", "user-read-recently-played"),
    ("PUT", "/me/player/pause", "user-modify-playback-state"),
    ("PUT", "/me/player/play", "user-modify-playback-state"),
    ("POST", "/me/player/next", "user-modify-playback-state"),
    ("POST", "/me/player/previous", "user-modify-playback-state"),
])
def test_scope_checks(sb: Sandbox, method: str, path: str, scope: str) -> None:
    others = ["user-read-private", "user-read-email", "user-read-playback-state",
              "user-read-currently-playing", "user-read-recently-played",
              "user-modify-playback-state"]
    lacking = sb.issue_token([x for x in others if x != scope])
    r = requests.request(method, sb.api_url + path, headers=bearer(lacking))
    assert r.status_code == 403
    assert error_body(r) == {"status": 403, "message": "Insufficient client scope"}
    if path.endswith("/play"):
        sb.set_playing(sb.track_uris[0], is_playing=False)  # play while playing is refused
    having = sb.issue_token([scope])
    r = requests.request(method, sb.api_url + path, headers=bearer(having))
    assert r.status_code in (200, 204), r.text


def test_unknown_paths_and_methods(sb: Sandbox, s: requests.Session) -> None:
    r = s.get(sb.api_url + "/me/nothing")
    assert r.status_code == 404
    assert error_body(r) == {"status": 404, "message": "Service not found"}
    r = s.post(sb.api_url + "/me/player/currently-playing")
    assert r.status_code == 405
    assert s.get(sb.base_url + "/images/" + "0" * 40 + ".png").status_code == 404


# ------------------------------------------------------------------ currently-playing vs player
def test_currently_playing_track(sb: Sandbox, s: requests.Session) -> None:
    r = s.get(sb.api_url + "/me/player/currently-playing")
    assert r.status_code == 200
    body = r.json()
    validate_playback(body, response_schema("/me/player/currently-playing"))
    example = load_example("GetUsersCurrentlyPlayingTrackRequest.json")
    assert set(body) == set(example)
    assert {"device", "shuffle_state", "repeat_state", "smart_shuffle"}.isdisjoint(body)
    assert body["currently_playing_type"] == "track"
    assert body["is_playing"] is True
    item = body["item"]
    assert item["uri"] == sb.track_uris[0]
    assert item["album"]["images"][0]["url"].startswith(sb.base_url + "/images/")
    assert 0 <= body["progress_ms"] <= item["duration_ms"]
    assert body["context"]["type"] == "playlist"
    assert isinstance(body["timestamp"], int)
    assert abs(body["timestamp"] - sb.now_ms()) < 60_000


def test_player_track_has_device_and_states(sb: Sandbox, s: requests.Session) -> None:
    body = s.get(sb.api_url + "/me/player").json()
    validate_playback(body, response_schema("/me/player"))
    example = load_example("GetInformationAboutUsersCurrentPlaybackRequest.json")
    assert set(body) == set(example)
    assert body["device"]["id"] == sb.device_id
    assert body["device"]["is_active"] is True
    assert body["shuffle_state"] is False
    assert body["smart_shuffle"] is False
    assert body["repeat_state"] in ("off", "track", "context")
    assert body["actions"]["disallows"] == {"resuming": True}


def test_track_objects_have_what_clients_read(sb: Sandbox, s: requests.Session) -> None:
    seen_multi = False
    durations = set()
    for uri in sb.track_uris:
        sb.set_playing(uri, progress_ms=1000)
        item = s.get(sb.api_url + "/me/player/currently-playing").json()["item"]
        validate(item, "TrackObject")
        assert item["uri"] == uri == f"spotify:track:{item['id']}"
        assert len(item["id"]) == 22
        assert item["name"]
        assert item["album"]["name"]
        assert [a["name"] for a in item["artists"]]
        assert item["external_urls"]["spotify"] == f"https://open.spotify.com/track/{item['id']}"
        seen_multi |= len(item["artists"]) > 1
        durations.add(item["duration_ms"])
    assert seen_multi
    assert len(sb.track_uris) >= 12
    assert min(durations) < 120_000 < 360_000 < max(durations)


@pytest.mark.parametrize("path", ["/me/player", "/me/player/currently-playing"])
def test_episode_needs_additional_types(sb: Sandbox, s: requests.Session, path: str) -> None:
    episode = sb.episode_uris[0]
    sb.set_playing(episode, progress_ms=60_000)
    body = s.get(sb.api_url + path).json()
    assert body["currently_playing_type"] == "episode"
    assert body["item"] is None  # as Spotify: the type is named but the item left out
    assert body["progress_ms"] >= 60_000
    body = s.get(sb.api_url + path, params={"additional_types": "track,episode"}).json()
    assert body["currently_playing_type"] == "episode"
    item = body["item"]
    assert item["uri"] == episode
    assert item["show"]["name"]
    assert item["show"]["publisher"]
    assert body["context"]["type"] == "show"
    validate_playback(body, response_schema(path))
    validate(item, "EpisodeObject")
    assert "toggling_shuffle" in body["actions"]["disallows"]
    if path == "/me/player":
        example = load_example("GetInformationAboutUsersCurrentPlaybackRequest_Episode.json")
        assert set(example) <= set(body)
    else:
        example = load_example("GetUsersCurrentlyPlayingTrackRequest_Episode.json")
        assert set(body) == set(example)


@pytest.mark.parametrize("path", ["/me/player", "/me/player/currently-playing"])
def test_ad(sb: Sandbox, s: requests.Session, path: str) -> None:
    sb.set_playing("ad")
    body = s.get(sb.api_url + path, params={"additional_types": "episode"}).json()
    assert body["currently_playing_type"] == "ad"
    assert body["item"] is None
    assert body["is_playing"] is True
    assert isinstance(body["progress_ms"], int)
    validate_playback(body, response_schema(path))


@pytest.mark.parametrize("path", ["/me/player", "/me/player/currently-playing"])
def test_nothing_playing_is_204_empty(sb: Sandbox, s: requests.Session, path: str) -> None:
    sb.set_playing(None)
    r = s.get(sb.api_url + path)
    assert r.status_code == 204
    assert r.content == b""
    assert "Content-Length" not in r.headers or r.headers["Content-Length"] == "0"


def test_paused_playback_reports_not_playing(sb: Sandbox, s: requests.Session) -> None:
    sb.set_playing(sb.track_uris[3], is_playing=False, progress_ms=12_345)
    body = s.get(sb.api_url + "/me/player").json()
    assert body["is_playing"] is False
    assert body["progress_ms"] == 12_345
    assert body["actions"]["disallows"] == {"pausing": True}


# ------------------------------------------------------------------ recently-played
def rp(sb: Sandbox, s: requests.Session, **params: Any) -> requests.Response:
    return s.get(sb.api_url + "/me/player/recently-played", params=params)


def test_recently_played_shape(sb: Sandbox, s: requests.Session) -> None:
    r = rp(sb, s, limit=2)
    assert r.status_code == 200
    body = r.json()
    full = rp(sb, s, limit=50).json()
    assert any(i["context"] is None for i in full["items"])  # as in the real example
    for page in (body, full):
        # the spec marks neither PlayHistoryObject.context nor `next` ("null if none") nullable:
        # validate without the nulls
        validate({**without_nulls(page), "items": [without_nulls(i) for i in page["items"]]},
                 response_schema("/me/player/recently-played"))
    example = load_example("GetCurrentUsersRecentlyPlayedTracksRequest.json")
    assert set(body) == set(example)  # items, next, cursors, limit, href (no total)
    assert body["limit"] == 2
    assert body["href"] == f"{sb.api_url}/me/player/recently-played?limit=2"
    items = body["items"]
    assert len(items) == 2
    for item in items:
        assert set(item) == {"track", "played_at", "context"}
        assert PLAYED_AT.fullmatch(item["played_at"])
        assert item["track"]["type"] == "track"
    assert items[0]["played_at"] > items[1]["played_at"]  # newest first
    cursors = body["cursors"]
    assert isinstance(cursors["after"], str)
    assert isinstance(cursors["before"], str)
    assert int(cursors["after"]) > int(cursors["before"])
    assert body["next"] == (f"{sb.api_url}/me/player/recently-played"
                            f"?before={cursors['before']}&limit=2")
    contexts = {(i["context"] or {}).get("type") for i in rp(sb, s, limit=50).json()["items"]}
    assert "playlist" in contexts


def test_recently_played_default_limit_and_bounds(sb: Sandbox, s: requests.Session) -> None:
    assert len(rp(sb, s).json()["items"]) == 20
    assert rp(sb, s).json()["limit"] == 20
    assert len(rp(sb, s, limit=1).json()["items"]) == 1
    assert len(rp(sb, s, limit=50).json()["items"]) == 50
    for bad in (0, 51, -1, "ten", ""):
        r = rp(sb, s, limit=bad)
        assert r.status_code == 400, bad
        assert error_body(r) == {"status": 400, "message": "Invalid limit"}
    r = rp(sb, s, before=1, after=1)
    assert r.status_code == 400
    assert error_body(r)["status"] == 400
    assert rp(sb, s, before="yesterday").status_code == 400


def test_recently_played_pages_with_next_and_only_50_reachable(
        sb: Sandbox, s: requests.Session) -> None:
    url: str | None = sb.api_url + "/me/player/recently-played?limit=20"
    seen: list[str] = []
    pages = 0
    while url:
        body = s.get(url).json()
        seen += [i["played_at"] for i in body["items"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert len(seen) == 50  # seed_history=60, but Spotify only ever shows the last 50
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 50


def test_recently_played_before_and_after(sb: Sandbox, s: requests.Session) -> None:
    everything = rp(sb, s, limit=50).json()
    all_items = everything["items"]
    newest = int(everything["cursors"]["after"])
    page = rp(sb, s, limit=5, before=newest).json()
    assert [i["played_at"] for i in page["items"]] == [i["played_at"] for i in all_items[1:6]]
    assert page["href"].endswith(f"?limit=5&before={newest}")
    oldest = int(everything["cursors"]["before"])
    page = rp(sb, s, limit=3, after=oldest).json()
    # the three plays right after the cursor, newest first
    assert [i["played_at"] for i in page["items"]] == [i["played_at"] for i in all_items[-4:-1]]
    assert page["next"] is not None
    assert "after=" in page["next"]
    empty = rp(sb, s, after=newest).json()
    assert empty["items"] == []
    assert empty["next"] is None
    assert empty["cursors"] is None


def test_recently_played_empty_history() -> None:
    with Sandbox(seed_history=0, playing=False) as sb:
        body = requests.get(sb.api_url + "/me/player/recently-played",
                            headers=bearer(sb.issue_token())).json()
        assert body["items"] == []
        assert body["next"] is None


# ------------------------------------------------------------------ player commands
def command(sb: Sandbox, s: requests.Session, name: str, **kw: Any) -> requests.Response:
    method = "PUT" if name in ("play", "pause") else "POST"
    return s.request(method, f"{sb.api_url}/me/player/{name}", **kw)


def current(sb: Sandbox, s: requests.Session) -> dict[str, Any]:
    return dict(s.get(sb.api_url + "/me/player").json())


def test_pause_play_next_previous(sb: Sandbox, s: requests.Session) -> None:
    uris = sb.track_uris
    sb.set_playing(uris[2])
    sb.advance(40_000)  # 40 s heard
    r = command(sb, s, "pause")
    assert r.status_code == 204
    assert r.content == b""
    assert current(sb, s)["is_playing"] is False
    r = command(sb, s, "pause")
    assert r.status_code == 403
    assert error_body(r)["message"] == "Player command failed: Restriction violated"
    assert command(sb, s, "play").status_code == 204
    assert current(sb, s)["is_playing"] is True
    assert command(sb, s, "play").status_code == 403  # already playing
    assert command(sb, s, "next").status_code == 204
    body = current(sb, s)
    assert body["item"]["uri"] == uris[3]
    assert body["is_playing"] is True
    assert body["progress_ms"] < 5_000
    assert command(sb, s, "previous").status_code == 204
    assert current(sb, s)["item"]["uri"] == uris[2]
    # the skipped play (40 s heard) counts, like on Spotify; the second (seconds) does not
    assert [p["uri"] for p in sb.play_history()[-2:]] != [uris[2], uris[3]]
    assert sb.play_history()[-1]["uri"] == uris[2]
    assert sb.play_history()[-1]["ms_played"] >= 40_000


def test_play_with_uris_context_and_device(sb: Sandbox, s: requests.Session) -> None:
    uris = sb.track_uris
    r = command(sb, s, "play", json={"uris": [uris[5], uris[6]], "position_ms": 5000})
    assert r.status_code == 204
    body = current(sb, s)
    assert body["item"]["uri"] == uris[5]
    assert body["progress_ms"] >= 5000
    album = body["item"]["album"]["uri"]
    assert command(sb, s, "play", json={"context_uri": album, "offset": {"position": 1}}
                   ).status_code == 204
    body = current(sb, s)
    assert body["context"]["uri"] == album
    assert body["item"]["album"]["uri"] == album
    r = command(sb, s, "play", json={"uris": ["spotify:track:nope"]})
    assert r.status_code == 400
    r = command(sb, s, "play", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert command(sb, s, "next", params={"device_id": sb.device_id}).status_code == 204
    r = command(sb, s, "next", params={"device_id": "f" * 40})
    assert r.status_code == 404


@pytest.mark.parametrize("name", ["play", "pause", "next", "previous"])
def test_free_user_gets_premium_required(sb: Sandbox, s: requests.Session, name: str) -> None:
    sb.set_user(product="free")
    r = command(sb, s, name)
    assert r.status_code == 403
    assert error_body(r) == {"status": 403, "message": "Player command failed: Premium required",
                             "reason": "PREMIUM_REQUIRED"}
    assert s.get(sb.api_url + "/me").json()["product"] == "free"
    assert sb.user["product"] == "free"


@pytest.mark.parametrize("name", ["play", "pause", "next", "previous"])
def test_no_active_device(sb: Sandbox, s: requests.Session, name: str) -> None:
    sb.set_playing(None)
    r = command(sb, s, name)
    assert r.status_code == 404
    assert error_body(r) == {"status": 404,
                             "message": "Player command failed: No active device found",
                             "reason": "NO_ACTIVE_DEVICE"}


def test_play_on_the_device_wakes_it_up(sb: Sandbox, s: requests.Session) -> None:
    sb.set_playing(None)
    assert command(sb, s, "play", params={"device_id": sb.device_id}).status_code == 204
    assert current(sb, s)["is_playing"] is True
