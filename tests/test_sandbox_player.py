"""The sandbox's playback simulation: a lazily computed clock with a speed factor, the looping
queue, play history and the catalogue behind it."""

from __future__ import annotations

import itertools
import struct
import time
import zlib
from typing import Any

import pytest
import requests
from sandbox_helpers import bearer

from spotkit.sandbox import Sandbox
from spotkit.sandbox.catalogue import EPISODES, TRACKS, Catalogue, png, spotify_id
from spotkit.sandbox.player import AD, Clock, Player


class FakeWall:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


def make_player(wall: FakeWall, speed: float = 1.0, seed_history: int = 0,
                playing: bool = True) -> Player:
    return Player(Catalogue("http://127.0.0.1:1"), Clock(speed, wall), seed_history, playing)


def duration(uri: str) -> int:
    d = Catalogue("http://x").duration_ms(uri)
    assert d is not None
    return d


# ------------------------------------------------------------------ clock
def test_clock_runs_speed_times_faster_and_is_lazy(wall: FakeWall) -> None:
    clock = Clock(10.0, wall)
    start = clock.now_ms()
    assert start == int(wall.t * 1000)
    wall.t += 1.5
    assert clock.now_ms() - start == 15_000
    clock.set_speed(2.0)  # no jump when the speed changes
    assert clock.now_ms() - start == 15_000
    wall.t += 1
    assert clock.now_ms() - start == 17_000
    clock.advance(3_000)
    assert clock.now_ms() - start == 20_000
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="positive"):
        clock.set_speed(0)


# ------------------------------------------------------------------ player
def test_progress_advances_in_real_time_times_speed(wall: FakeWall) -> None:
    p = make_player(wall, speed=4.0)
    first = p.queue[0]
    wall.t += 10
    now = p.sync()
    assert p.current == first
    assert p.progress_ms(now) == 40_000


def test_paused_playback_does_not_advance(wall: FakeWall) -> None:
    p = make_player(wall)
    wall.t += 5
    p.pause()
    wall.t += 500
    now = p.sync()
    assert p.current == p.queue[0]
    assert p.progress_ms(now) == 5_000
    assert p.history == type(p.history)()  # nothing finished


def test_a_track_ends_and_the_next_begins(wall: FakeWall) -> None:
    p = make_player(wall)
    start = p.clock.now_ms()
    first, second = p.queue[0], p.queue[1]
    wall.t += duration(first) / 1000 + 2
    now = p.sync()
    assert p.current == second
    assert p.progress_ms(now) == 2_000
    assert p.is_playing
    [play] = list(p.history)
    assert play.uri == first
    assert play.played_at_ms == start + duration(first)
    assert play.ms_played == duration(first)
    assert play.type == "track"


def test_the_queue_loops(wall: FakeWall) -> None:
    p = make_player(wall)
    total = sum(duration(u) for u in p.queue)
    wall.t += (total + 1_000) / 1000
    p.sync()
    assert p.current == p.queue[0]
    assert [x.uri for x in p.history] == p.queue
    stamps = [x.played_at_ms for x in p.history]
    assert stamps == sorted(stamps)


def test_skips_count_after_30_seconds(wall: FakeWall) -> None:
    p = make_player(wall)
    wall.t += 10
    p.next()  # 10 s heard: not a play
    assert list(p.history) == []
    wall.t += 31
    p.next()  # 31 s heard
    assert [x.uri for x in p.history] == [p.queue[1]]
    assert p.history[-1].ms_played == 31_000
    assert p.current == p.queue[2]
    wall.t += 20
    p.pause()
    wall.t += 100
    p.play()
    wall.t += 15  # 35 s heard in two parts, with a pause between
    p.previous()
    assert [x.uri for x in p.history] == [p.queue[1], p.queue[2]]
    assert p.current == p.queue[1]


def test_episodes_in_history_but_not_recently_played(wall: FakeWall) -> None:
    p = make_player(wall)
    episode = next(iter(Catalogue("http://x").episodes_by_uri))
    p.set_playing(episode, True, duration(episode) - 1_000)
    wall.t += 2
    p.sync()
    assert p.history[-1].uri == episode
    assert p.history[-1].type == "episode"
    assert p.history[-1].context_uri is not None
    assert p.history[-1].context_uri.startswith("spotify:show:")
    assert all(x.type == "track" for x in p.recent_tracks())
    assert episode not in {x.uri for x in p.recent_tracks()}
    assert p.current in p.queue  # the queue carries on


def test_ads_are_not_plays(wall: FakeWall) -> None:
    p = make_player(wall)
    p.set_playing(p.queue[4], True, 0)
    p.set_playing(AD, True, 0)
    wall.t += 31
    p.sync()
    assert list(p.history) == []
    assert p.current == p.queue[5]


def test_seed_history_fills_the_past_in_queue_order(wall: FakeWall) -> None:
    p = make_player(wall, seed_history=70)
    plays = list(p.history)
    assert len(plays) == 70
    now = p.clock.now_ms()
    stamps = [x.played_at_ms for x in plays]
    assert stamps == sorted(stamps)
    assert stamps[-1] < now
    for earlier, later in itertools.pairwise(plays):
        assert later.played_at_ms - earlier.played_at_ms >= duration(later.uri)
    # it ends with the queue item before the first that now plays
    assert plays[-1].uri == p.queue[-1]
    assert len(p.recent_tracks()) == 50
    assert {x.context_uri is None for x in plays} == {True, False}


def test_set_playing_nothing_and_unknown(wall: FakeWall) -> None:
    p = make_player(wall)
    p.set_playing(None, True, 0)
    assert p.current is None
    assert not p.is_playing
    with pytest.raises(ValueError, match="unknown"):
        p.set_playing("spotify:track:nothing", True, 0)


def test_no_ticking_thread_needed(wall: FakeWall) -> None:
    p = make_player(wall, speed=1000)
    wall.t += 3600  # 1000 hours of music in one question
    now = p.sync()
    assert len(p.history) == p.history.maxlen  # ~16,000 plays; memory stays bounded
    assert p.current is not None
    assert 0 <= p.progress_ms(now) < duration(p.current)


# ------------------------------------------------------------------ over HTTP, in real time
def test_speed_factor_end_to_end() -> None:
    with Sandbox(speed=400, seed_history=0) as sb, requests.Session() as s:
        s.headers.update(bearer(sb.issue_token()))
        short = min(sb.track_uris, key=duration)  # 95 s: under 0.25 s at x400
        sb.set_playing(short)
        before = len(sb.play_history())
        deadline = time.monotonic() + 5
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = s.get(sb.api_url + "/me/player/currently-playing").json()
            if body["item"]["uri"] != short:
                break
            time.sleep(0.02)
        assert body["item"]["uri"] != short
        assert body["is_playing"] is True
        assert len(sb.play_history()) > before
        recent = s.get(sb.api_url + "/me/player/recently-played").json()["items"]
        assert short in [i["track"]["uri"] for i in recent]
        sb.set_speed(1.0)
        a = s.get(sb.api_url + "/me/player").json()["progress_ms"]
        time.sleep(0.2)
        b = s.get(sb.api_url + "/me/player").json()["progress_ms"]
        assert 100 <= b - a <= 2_000


def test_admin_clock_over_http() -> None:
    with Sandbox(seed_history=0) as sb:
        sb.set_playing(sb.track_uris[0])
        r = requests.post(sb.base_url + "/_sandbox/clock", json={"advance_ms": 200_000})
        assert r.status_code == 200
        assert sb.play_history()[-1]["uri"] == sb.track_uris[0]
        r = requests.post(sb.base_url + "/_sandbox/clock", json={"speed": 50})
        assert r.json()["speed"] == 50
        assert requests.post(sb.base_url + "/_sandbox/clock",
                             json={"speed": -1}).status_code == 400


# ------------------------------------------------------------------ catalogue
def test_catalogue_variety() -> None:
    assert len(TRACKS) >= 12
    assert len(EPISODES) == 2
    assert len({t.album for t in TRACKS.values()}) >= 4
    assert len({a for t in TRACKS.values() for a in t.artists}) >= 5
    assert sum(len(t.artists) > 1 for t in TRACKS.values()) >= 2
    ids = [t.id for t in TRACKS.values()]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 22 and i.isalnum() for i in ids)
    assert spotify_id("x") == spotify_id("x") != spotify_id("y")


def test_png_is_valid() -> None:
    data = png(64, 48, "seed")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (64, 48, 8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 48 * (1 + 64 * 3)
    assert b"IEND" in chunks
