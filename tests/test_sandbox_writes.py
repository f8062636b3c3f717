"""Writing on the sandbox: its write endpoints (shapes, snapshots, rules) and spotkit's writes
end to end, with answers lost after the write happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_helpers import bearer, error_body, validate

from spotkit.client import Spotify
from spotkit.config import Settings
from spotkit.errors import MissingScope, PartialWrite
from spotkit.sandbox import Sandbox


class SandboxTokens:
    def __init__(self, sb: Sandbox, scopes: list[str] | None = None) -> None:
        self.sb = sb
        self.scopes = scopes
        self.token = sb.issue_token(scopes)["access_token"]

    def access_token(self) -> str:
        return str(self.token)

    def refresh(self, stale: str | None = None, /) -> object:
        self.token = self.sb.issue_token(self.scopes)["access_token"]
        return self.token


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed_history=0, playing=False) as sandbox:
        yield sandbox


@pytest.fixture
def sp(sb: Sandbox, tmp_path: Path) -> Iterator[Spotify]:
    # the token cache's folder (where a 429's shared back-off is kept) in tmp_path
    with Spotify(Settings(client_id=sb.client_id, api_url=sb.api_url,
                          cache_path=tmp_path / "tokens.json"),
                 auth=SandboxTokens(sb), timeout=(2.0, 5.0)) as client:
        yield client


def tracks(sb: Sandbox, n: int) -> list[str]:
    """`n` distinct tracks of the user's library, the ones not saved first."""
    library = sb.library()
    return list(library["unsaved_track_uris"] + library["saved_track_uris"])[:n]


def items_of(s: requests.Session, sb: Sandbox, pid: str) -> list[str]:
    out: list[str] = []
    url: str | None = f"{sb.api_url}/playlists/{pid}/items?limit=50"
    while url:
        page = s.get(url).json()
        out += [e["item"]["uri"] for e in page["items"]]
        url = page["next"]
    return out


def my_playlists(s: requests.Session, sb: Sandbox) -> list[dict[str, Any]]:
    return list(s.get(f"{sb.api_url}/me/playlists?limit=50").json()["items"])


# ------------------------------------------------------------------ the sandbox's endpoints
def test_create_add_replace_with_snapshots_that_change(sb: Sandbox, s: requests.Session) -> None:
    r = s.post(f"{sb.api_url}/me/playlists", json={"name": "Made here", "public": False,
                                                   "description": "d"})
    assert r.status_code == 201
    playlist = r.json()
    validate(playlist, "PlaylistObject")
    assert playlist["owner"]["id"] == sb.user["id"]
    assert playlist["items"]["total"] == 0
    assert my_playlists(s, sb)[0]["id"] == playlist["id"]    # newest first
    pid, first = playlist["id"], playlist["snapshot_id"]
    uris = tracks(sb, 5) + sb.track_uris[:2]                # library and catalogue tracks
    r = s.post(f"{sb.api_url}/playlists/{pid}/items", json={"uris": uris})
    assert r.status_code == 201
    second = r.json()["snapshot_id"]
    assert second != first
    r = s.post(f"{sb.api_url}/playlists/{pid}/items", json={"uris": uris[:1], "position": 0})
    assert items_of(s, sb, pid) == uris[:1] + uris
    third = r.json()["snapshot_id"]
    r = s.put(f"{sb.api_url}/playlists/{pid}/items", json={"uris": uris[::-1]})
    assert r.status_code == 200
    assert r.json()["snapshot_id"] not in (first, second, third)
    assert items_of(s, sb, pid) == uris[::-1]
    assert s.get(f"{sb.api_url}/playlists/{pid}").json()["snapshot_id"] == r.json()["snapshot_id"]


def test_write_rules(sb: Sandbox, s: requests.Session) -> None:
    pid = s.post(f"{sb.api_url}/me/playlists", json={"name": "x"}).json()["id"]
    url = f"{sb.api_url}/playlists/{pid}/items"
    too_many = tracks(sb, 101)
    assert s.post(url, json={"uris": too_many}).status_code == 400
    assert s.put(url, json={"uris": too_many}).status_code == 400
    assert s.post(url, json={"uris": ["spotify:track:" + "0" * 22]}).status_code == 400
    assert s.post(url, json={"uris": ["not a uri"]}).status_code == 400
    assert s.post(url, json={"uris": tracks(sb, 1), "position": 5}).status_code == 400
    assert s.post(url, data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert items_of(s, sb, pid) == []                     # nothing refused was written
    followed = next(p for p in sb.library()["playlists"] if not p["readable"])
    r = s.post(f"{sb.api_url}/playlists/{followed['id']}/items", json={"uris": tracks(sb, 1)})
    assert r.status_code == 403
    validate(error_body(r), "ErrorObject")
    assert s.post(f"{sb.api_url}/playlists/{'0' * 22}/items",
                  json={"uris": tracks(sb, 1)}).status_code == 404
    assert s.post(f"{sb.api_url}/me/playlists", json={"public": False}).status_code == 400
    reader = bearer(sb.issue_token(["playlist-read-private"]))
    assert requests.post(f"{sb.api_url}/me/playlists", json={"name": "n", "public": False},
                         headers=reader).status_code == 403


def test_library_save_and_remove(sb: Sandbox, s: requests.Session) -> None:
    before = sb.library()["saved"]["tracks"]
    uris = tracks(sb, 40)
    r = s.put(f"{sb.api_url}/me/library", params={"uris": ",".join(uris)})
    assert r.status_code == 200
    assert sb.library()["saved"]["tracks"] == before + 40
    assert sb.library()["saved_track_uris"][:40] == uris[::-1]   # the newest on top
    assert s.put(f"{sb.api_url}/me/library",
                 params={"uris": ",".join(tracks(sb, 41))}).status_code == 400
    assert s.put(f"{sb.api_url}/me/library").status_code == 400
    assert s.delete(f"{sb.api_url}/me/library",
                    params={"uris": ",".join(uris[:10])}).status_code == 200
    assert sb.library()["saved"]["tracks"] == before + 30
    assert requests.put(f"{sb.api_url}/me/library", params={"uris": uris[0]}, headers=bearer(
        sb.issue_token(["user-library-read"]))).status_code == 403


# ------------------------------------------------------------------ spotkit's writes
def test_create_playlist_in_batches_of_100_keeping_order(sb: Sandbox, s: requests.Session,
                                                         sp: Spotify) -> None:
    uris = tracks(sb, 150) + tracks(sb, 100)       # 250 items, 100 repeated
    sb.reset_log()
    record = sp.create_playlist("From my analysis", uris, description="top of 2026")
    posts = [e for e in sb.requests() if e["method"] == "POST"]
    assert [e["path"] for e in posts] == ["/v1/me/playlists"] + [
        f"/v1/playlists/{record['playlist_id']}/items"] * 3
    assert record["items_total"] == 250
    assert record["name"] == "From my analysis"
    assert record["snapshot_id"] == s.get(
        f"{sb.api_url}/playlists/{record['playlist_id']}").json()["snapshot_id"]
    assert items_of(s, sb, record["playlist_id"]) == uris
    unique = sp.create_playlist("Unique", uris, unique=True)
    assert items_of(s, sb, unique["playlist_id"]) == uris[:150]


def test_add_at_a_position_and_replace(sb: Sandbox, s: requests.Session, sp: Spotify) -> None:
    record = sp.create_playlist("p", tracks(sb, 3))
    more = tracks(sb, 130)[3:]
    snapshot = sp.add_to_playlist(record, more, position=1)
    assert snapshot != record["snapshot_id"]
    got = items_of(s, sb, record["playlist_id"])
    assert got == tracks(sb, 1) + more + tracks(sb, 3)[1:]
    new = tracks(sb, 180)[::-1]
    sp.replace_playlist_items(record["playlist_uri"], new)
    assert items_of(s, sb, record["playlist_id"]) == new
    sp.replace_playlist_items(record["playlist_id"], [])
    assert items_of(s, sb, record["playlist_id"]) == []
    with pytest.raises(ValueError, match="past the end"):
        sp.add_to_playlist(record, tracks(sb, 1), position=3)


def test_a_lost_answer_to_a_create_never_makes_two_playlists(sb: Sandbox, s: requests.Session,
                                                             sp: Spotify) -> None:
    sb.queue_fault("/v1/me/playlists", 502, method="POST", applied=True)
    record = sp.create_playlist("Only once", tracks(sb, 3))
    named = [p for p in my_playlists(s, sb) if p["name"] == "Only once"]
    assert [p["id"] for p in named] == [record["playlist_id"]]
    assert items_of(s, sb, record["playlist_id"]) == tracks(sb, 3)
    # a 502 before anything was made: made once, by the next try
    sb.queue_fault("/v1/me/playlists", 502, method="POST")
    again = sp.create_playlist("Twice asked", tracks(sb, 2))
    assert [p["id"] for p in my_playlists(s, sb) if p["name"] == "Twice asked"] == [
        again["playlist_id"]]


def test_a_lost_answer_to_an_add_never_doubles_items(sb: Sandbox, s: requests.Session,
                                                     sp: Spotify) -> None:
    record = sp.create_playlist("p", [])
    path = f"/v1/playlists/{record['playlist_id']}/items"
    uris = tracks(sb, 250)
    sb.queue_fault(path, 500, method="POST", applied=True)          # the first chunk went in
    sb.queue_fault(path, 504, method="POST", times=1)               # the second did not
    sb.reset_log()
    sp.add_to_playlist(record, uris)
    assert items_of(s, sb, record["playlist_id"]) == uris
    posts = [e["status"] for e in sb.requests(path) if e["method"] == "POST"]
    assert posts == [500, 504, 201, 201]   # the applied one never sent again, the other once


def test_a_failure_part_way_says_what_was_written_and_how_to_go_on(
        sb: Sandbox, s: requests.Session, sp: Spotify) -> None:
    record = sp.create_playlist("p", [])
    path = f"/v1/playlists/{record['playlist_id']}/items"
    uris = tracks(sb, 250)
    sb.queue_fault(path, None, method="POST")     # the first chunk answers normally
    sb.queue_fault(path, 403, method="POST", times=0)
    with pytest.raises(PartialWrite) as info:
        sp.add_to_playlist(record, uris)
    error = info.value
    assert error.written == 100
    assert error.total == 250
    assert error.playlist_id == record["playlist_id"]
    assert f"add_to_playlist('{record['playlist_id']}', items[100:])" in str(error)
    assert "added 100 of 250 items" in str(error)
    sb.clear_faults()
    sp.add_to_playlist(record, uris[error.written:])   # resuming as told finishes the job
    assert items_of(s, sb, record["playlist_id"]) == uris


def test_save_and_remove_through_spotkit(sb: Sandbox, sp: Spotify) -> None:
    before = sb.library()["saved"]["tracks"]
    uris = tracks(sb, 90)
    sb.reset_log()
    assert sp.save_to_library(uris + uris[:5]) == 90
    assert [len(e["query"]["uris"].split(",")) for e in sb.requests("/v1/me/library")] == [
        40, 40, 10]
    assert sb.library()["saved"]["tracks"] == before + 90
    assert sp.remove_from_library(uris[:45]) == 45
    assert sb.library()["saved"]["tracks"] == before + 45


def test_writes_need_their_scopes(sb: Sandbox, tmp_path: Path) -> None:
    with Spotify(Settings(client_id=sb.client_id, api_url=sb.api_url,
                          cache_path=tmp_path / "tokens.json"),
                 auth=SandboxTokens(sb, ["playlist-read-private"])) as reader:
        with pytest.raises(MissingScope, match="playlist-modify-private"):
            reader.create_playlist("nope", tracks(sb, 1))
        with pytest.raises(PartialWrite, match="saved 0 of 1"):
            reader.save_to_library(tracks(sb, 1))
