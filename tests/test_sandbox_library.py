"""The sandbox's library endpoints: 2026 shapes validated against openapi.yml, limits, the playlist
rule, development-mode fields, admin changes and injected latency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import bearer, response_schema, validate

from spotkit.sandbox import Sandbox
from spotkit.sandbox.generated import generate, generate_podcasts
from spotkit.sandbox.library import Library, LibraryOptions

LEGACY = ("popularity", "followers", "available_markets")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(saved_tracks=130, playlists=12, seed=7) as sandbox:
        yield sandbox


def get(sb: Sandbox, s: requests.Session, path: str, **params: Any) -> requests.Response:
    return s.get(sb.api_url + path, params=params, timeout=10)


def every_page(sb: Sandbox, s: requests.Session, path: str, **params: Any) -> list[dict[str, Any]]:
    body = get(sb, s, path, limit=50, **params).json()
    pages = [body]
    while body["next"]:
        body = s.get(body["next"], timeout=10).json()
        pages.append(body)
    return pages


def keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_anywhere(v)}
    return set()


@pytest.mark.parametrize(("path", "params"), [
    ("/me/tracks", {}), ("/me/albums", {}), ("/me/shows", {}), ("/me/episodes", {}),
    ("/me/playlists", {}), ("/me/top/tracks", {"time_range": "short_term"}),
    ("/me/top/artists", {"time_range": "long_term"}), ("/me/following", {"type": "artist"}),
])
def test_each_endpoint_matches_the_spec(sb: Sandbox, s: requests.Session, path: str,
                                        params: dict[str, str]) -> None:
    r = get(sb, s, path, limit=50, **params)
    assert r.status_code == 200, r.text
    if path != "/me/following":
        validate(r.json(), response_schema(path))
        return
    # Spotify sends `next` and `cursors.after` null on the last page; the spec's
    # CursorPagingObject does not mark them nullable (its PagingObject does), so null members
    # are left out before validating
    artists = {k: v for k, v in r.json()["artists"].items() if v is not None}
    artists["cursors"] = {k: v for k, v in artists["cursors"].items() if v is not None}
    validate(artists, "CursorPagingSimplifiedArtistObject")


def test_playlist_items_match_the_spec(sb: Sandbox, s: requests.Session) -> None:
    playlist = next(p for p in sb.library()["playlists"] if p["readable"])
    r = get(sb, s, f"/playlists/{playlist['id']}/items", limit=50)
    assert r.status_code == 200
    validate(r.json(), response_schema("/playlists/{playlist_id}/items"))


def test_pages_chain_through_next_to_total_newest_first(sb: Sandbox, s: requests.Session) -> None:
    pages = every_page(sb, s, "/me/tracks")
    items = [i for p in pages for i in p["items"]]
    assert len(pages) == 3
    assert len(items) == pages[0]["total"] == 130
    assert [p["offset"] for p in pages] == [0, 50, 100]
    added = [i["added_at"] for i in items]
    assert added == sorted(added, reverse=True)
    assert pages[1]["previous"]
    assert pages[0]["previous"] is None


@pytest.mark.parametrize("limit", ["0", "51", "100", "x"])
def test_limits_beyond_1_to_50_are_refused(sb: Sandbox, s: requests.Session, limit: str) -> None:
    for path in ("/me/tracks", "/me/playlists", "/me/top/tracks"):
        r = get(sb, s, path, limit=limit)
        assert r.status_code == 400, path
        assert r.json()["error"]["status"] == 400


def test_another_users_playlist_items_are_forbidden(sb: Sandbox, s: requests.Session) -> None:
    lists = sb.library()["playlists"]
    followed = next(p for p in lists if not p["readable"])
    collaborative = next(p for p in lists if p["collaborative"])
    assert followed["owner_id"] != sb.user["id"]
    assert collaborative["readable"]
    r = get(sb, s, f"/playlists/{followed['id']}/items")
    assert r.status_code == 403
    assert get(sb, s, f"/playlists/{collaborative['id']}/items").status_code == 200
    assert get(sb, s, f"/playlists/{followed['id']}").status_code == 200  # the object is readable
    assert get(sb, s, "/playlists/nope/items").status_code == 404
    # the deprecated path older clients use answers alike, and its next links keep it
    assert get(sb, s, f"/playlists/{followed['id']}/tracks").status_code == 403
    old = get(sb, s, f"/playlists/{collaborative['id']}/tracks", limit=1).json()
    assert old["next"] is None or f"/playlists/{collaborative['id']}/tracks?" in old["next"]


def test_one_playlist_holds_a_local_file_an_unavailable_track_and_an_episode(
        sb: Sandbox, s: requests.Session) -> None:
    mixed = next(p for p in sb.library()["playlists"] if p["name"] == "Odds and Ends")
    items = [i for p in every_page(sb, s, f"/playlists/{mixed['id']}/items") for i in p["items"]]
    assert any(i["is_local"] and i["item"]["uri"].startswith("spotify:local:") for i in items)
    assert any(i["item"] is None for i in items)
    assert any(i["item"] and i["item"]["type"] == "episode" for i in items)


def test_scopes_are_required(sb: Sandbox) -> None:
    token = sb.issue_token(["user-read-private"])
    r = requests.get(sb.api_url + "/me/tracks", headers=bearer(token), timeout=10)
    assert r.status_code == 403
    assert "scope" in r.json()["error"]["message"].lower()


def test_legacy_fields_only_when_asked_for() -> None:
    with Sandbox(saved_tracks=60, playlists=3, legacy_fields=False) as dev, requests.Session() as s:
        s.headers.update(bearer(dev.issue_token()))
        seen = set()
        for path, params in (("/me/tracks", {}), ("/me/albums", {}),
                             ("/me/top/artists", {}), ("/me/following", {"type": "artist"}),
                             ("/me/shows", {}), ("/me/playlists", {})):
            seen |= keys_anywhere(get(dev, s, path, limit=50, **params).json())
    assert not seen & set(LEGACY)
    assert "genres" in seen
    assert "external_ids" in seen


def test_admin_changes_show_up_newest_first_with_new_snapshots() -> None:
    with Sandbox(saved_tracks=60, playlists=3, seed=1) as sb, requests.Session() as s:
        s.headers.update(bearer(sb.issue_token()))
        lib = sb.library()
        new = lib["unsaved_track_uris"][:2]
        assert sb.save_items(new) == 2
        first = get(sb, s, "/me/tracks", limit=2).json()
        assert [i["track"]["uri"] for i in first["items"]] == new[::-1] or \
            {i["track"]["uri"] for i in first["items"]} == set(new)
        assert first["total"] == 62
        assert sb.remove_items([new[0], lib["saved_track_uris"][-1]]) == 2
        assert get(sb, s, "/me/tracks").json()["total"] == 60
        playlist = next(p for p in lib["playlists"] if p["readable"])
        snapshot = sb.edit_playlist(playlist["id"], add=new[:1])
        assert snapshot != playlist["snapshot_id"]
        listed = get(sb, s, "/me/playlists", limit=50).json()["items"]
        mine = next(p for p in listed if p["id"] == playlist["id"])
        assert mine["snapshot_id"] == snapshot
        assert mine["items"]["total"] == playlist["items"] + 1
        only = get(sb, s, f"/playlists/{playlist['id']}", fields="snapshot_id").json()
        assert only == {"snapshot_id": snapshot}
        r = requests.post(sb.base_url + "/_sandbox/playlists/edit", timeout=10,
                          json={"id": playlist["id"], "name": "Renamed"})
        assert r.status_code == 200
        assert r.json()["snapshot_id"] not in (snapshot, None)
        r = requests.post(sb.base_url + "/_sandbox/library/save", json={"uris": ["nope"]},
                          timeout=10)
        assert r.status_code == 400


def test_latency_is_injected_per_path_prefix() -> None:
    with Sandbox(saved_tracks=10, playlists=2) as sb, requests.Session() as s:
        s.headers.update(bearer(sb.issue_token()))

        def took(path: str) -> float:
            start = time.perf_counter()
            assert get(sb, s, path).status_code == 200
            return time.perf_counter() - start

        took("/me/tracks")  # the library is generated on first use
        sb.set_latency(0.2, "/v1/me/tracks")
        assert took("/me/tracks") >= 0.2
        assert took("/me/albums") < 0.2
        r = requests.post(sb.base_url + "/_sandbox/latency", json={"seconds": 0.15}, timeout=10)
        assert r.status_code == 200
        assert took("/me/albums") >= 0.15
        assert requests.delete(sb.base_url + "/_sandbox/latency", timeout=10).status_code == 200
        assert took("/me/tracks") < 0.15


def test_the_library_is_drawn_from_the_one_generated_catalogue(sb: Sandbox,
                                                               s: requests.Session) -> None:
    ours = Library("u", "U", 1_700_000_000_000, seed=1,
                   options=LibraryOptions(saved_tracks=60, playlists=3, shows=2))
    theirs = Library("v", "V", 1_700_000_000_000, seed=2,
                     options=LibraryOptions(saved_tracks=60, playlists=3, shows=2))
    artists, albums, tracks = generate(660)
    shows, episodes = generate_podcasts(2)
    assert list(ours.tracks.values()) == tracks
    assert list(ours.albums.values()) == albums
    assert list(ours.artists.values()) == artists
    assert (list(ours.shows.values()), list(ours.episodes.values())) == (shows, episodes)
    assert (theirs.tracks, theirs.shows) == (ours.tracks, ours.shows)  # one catalogue, stable ids
    assert theirs.saved["tracks"] != ours.saved["tracks"]  # the seed picks what the user saved
    assert sum(len(ids) for ids in ours.album_tracks.values()) == 660
    # a track of the served library is the same item in the catalogue grown for enrichment
    saved = get(sb, s, "/me/tracks", limit=1).json()["items"][0]["track"]
    assert saved["uri"] in sb.grow_catalogue(len(sb.library()["saved_track_uris"]) + 600)
    grown = get(sb, s, f"/tracks/{saved['id']}").json()
    assert (grown["name"], grown["album"]["id"]) == (saved["name"], saved["album"]["id"])
