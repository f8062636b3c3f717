"""Writes with `responses` mocks: what items may be, batches of 100 and 40, a POST never sent
again blindly after a timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest
import requests
import responses
from fakes import FakeTokens

from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.endpoints.writes import item_uris
from spotkit.errors import NetworkError

API = "http://127.0.0.1:9/v1"
IDS = [f"{i:022d}" for i in range(250)]
URIS = [f"spotify:track:{i}" for i in IDS]
PID = "37i9dQZF1DXcBWIGoYBM5M"


@pytest.fixture
def sp(tokens: FakeTokens, sleeps: list[float]) -> Iterator[Spotify]:
    settings = load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False)
    with Spotify(settings, auth=tokens) as client:
        yield client


def test_items_may_be_uris_ids_links_records_or_frames() -> None:
    frame = pd.DataFrame({"item_uri": pd.array([URIS[0], None, URIS[1]], dtype="string")})
    assert item_uris(frame) == URIS[:2]
    assert item_uris([IDS[0], f"https://open.spotify.com/track/{IDS[1]}?si=x",
                      {"item_uri": URIS[2]}, {"uri": URIS[3]}, None]) == URIS[:4]
    assert item_uris([IDS[0]], item_type="episode") == [f"spotify:episode:{IDS[0]}"]
    assert item_uris([URIS[0], URIS[1], URIS[0]]) == [URIS[0], URIS[1], URIS[0]]
    assert item_uris([URIS[0], URIS[1], URIS[0]], unique=True) == URIS[:2]
    with pytest.raises(ValueError, match="album"):
        item_uris([f"spotify:album:{IDS[0]}"])
    with pytest.raises(ValueError, match="not a Spotify track id"):
        item_uris(["Bohemian Rhapsody"])
    with pytest.raises(TypeError, match="list of items"):
        item_uris(URIS[0])
    with pytest.raises(ValueError, match="item_uri"):
        item_uris(pd.DataFrame({"name": ["x"]}))


def test_add_sends_100_a_call_in_order(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s0",
                                               "items": {"total": 7}})
    mocked.post(f"{API}/playlists/{PID}/items", status=201, json={"snapshot_id": "s1"})
    assert sp.add_to_playlist(f"spotify:playlist:{PID}", URIS, position=2) == "s1"
    bodies = [json.loads(c.request.body) for c in mocked.calls if c.request.method == "POST"]
    assert [b["uris"] for b in bodies] == [URIS[:100], URIS[100:200], URIS[200:]]
    assert [b["position"] for b in bodies] == [2, 102, 202]


def test_library_sends_40_a_call(sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.put(f"{API}/me/library")
    assert sp.save_to_library(URIS[:90]) == 90
    sent = [c.request.params["uris"].split(",") for c in mocked.calls]
    assert [len(s) for s in sent] == [40, 40, 10]
    assert [u for s in sent for u in s] == URIS[:90]


def test_a_timed_out_post_is_checked_before_it_is_sent_again(
        sp: Spotify, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s0",
                                               "items": {"total": 0}})
    mocked.post(f"{API}/playlists/{PID}/items", body=requests.ReadTimeout("slow"))
    mocked.post(f"{API}/playlists/{PID}/items", status=201, json={"snapshot_id": "s1"})
    assert sp.add_to_playlist(PID, URIS[:3]) == "s1"
    methods = [c.request.method for c in mocked.calls]
    # read the state, POST (timed out), read it again (unchanged: nothing happened), POST again
    assert methods == ["GET", "POST", "GET", "POST"]


def test_a_post_that_went_through_is_not_sent_again(sp: Spotify,
                                                    mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s0",
                                               "items": {"total": 0}})
    mocked.post(f"{API}/playlists/{PID}/items", body=requests.ConnectionError("reset"))
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s1",
                                               "items": {"total": 3}})
    mocked.get(f"{API}/playlists/{PID}/items", json={
        "items": [{"item": {"type": "track", "uri": u, "id": u[-22:]}} for u in URIS[:3]],
        "next": None, "total": 3})
    assert sp.add_to_playlist(PID, URIS[:3]) == "s1"
    assert [c.request.method for c in mocked.calls].count("POST") == 1


def test_a_post_that_cannot_be_told_apart_is_not_guessed(sp: Spotify,
                                                         mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s0",
                                               "items": {"total": 0}})
    mocked.post(f"{API}/playlists/{PID}/items", body=requests.ConnectionError("reset"))
    mocked.get(f"{API}/playlists/{PID}", json={"id": PID, "snapshot_id": "s9",
                                               "items": {"total": 1}})
    mocked.get(f"{API}/playlists/{PID}/items", json={
        "items": [{"item": {"type": "track", "uri": URIS[9], "id": IDS[9]}}], "next": None,
        "total": 1})   # someone else changed the playlist meanwhile
    from spotkit.errors import PartialWrite

    with pytest.raises(PartialWrite, match="added 0 of 3") as info:
        sp.add_to_playlist(PID, URIS[:3])
    assert isinstance(info.value.__cause__, NetworkError)
    assert [c.request.method for c in mocked.calls].count("POST") == 1
