"""Episodes (anything recently-played never lists) seen finishing through currently-playing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from history_helpers import T0

from spotkit._values import to_ms
from spotkit.history.episodes import EpisodeTracker

EP = "spotify:episode:e0000000000000000000001"
EP2 = "spotify:episode:e0000000000000000000002"
TRACK = "spotify:track:t0000000000000000000001"
MIN = timedelta(minutes=1)


def seen(uri: str | None, at: datetime, progress_ms: int = 0, *, playing: bool = True,
         duration_ms: int = 3_600_000, kind: str | None = None) -> dict[str, Any]:
    kind = kind or ("episode" if uri and "episode" in uri else "track")
    return {"fetched_at": at, "is_playing": playing, "item_type": kind,
            "item_id": uri.rsplit(":", 1)[-1] if uri else None, "item_uri": uri,
            "name": "Ep" if kind == "episode" else "Song", "artists": "Publisher",
            "album": "Show", "duration_ms": duration_ms, "progress_ms": progress_ms,
            "context_type": "show", "context_uri": "spotify:show:s1"}


def test_an_episode_finishing_becomes_a_row() -> None:
    t = EpisodeTracker()
    assert t.observe(seen(EP, T0, 0)) is None
    assert t.observe(seen(EP, T0 + 30 * MIN, 30 * 60_000)) is None
    assert t.watching == EP
    # seen again 40 min later, on a track: it ran out 30 min after the last look
    row = t.observe(seen(TRACK, T0 + 70 * MIN, 5_000))
    assert row is not None
    assert row["played_at"] == to_ms(T0 + 60 * MIN)
    assert row["ms_played"] == 3_600_000
    assert (row["source"], row["item_uri"], row["play_key"], row["item_type"]) == \
        ("now_playing", EP, EP, "episode")
    assert (row["name"], row["album"], row["context_uri"]) == ("Ep", "Show", "spotify:show:s1")
    assert t.watching is None  # tracks are left to recently-played


def test_switching_mid_episode_ends_it_when_the_switch_was_seen() -> None:
    t = EpisodeTracker()
    t.observe(seen(EP, T0, 10 * 60_000))
    row = t.observe(seen(EP2, T0 + 5 * MIN, 1_000))
    assert row is not None
    assert row["played_at"] == to_ms(T0 + 5 * MIN)
    assert row["ms_played"] == 15 * 60_000
    assert t.watching == EP2


def test_a_paused_episode_ends_where_it_was_paused() -> None:
    t = EpisodeTracker()
    t.observe(seen(EP, T0, 20 * 60_000))
    t.observe(seen(EP, T0 + MIN, 21 * 60_000, playing=False))
    row = t.observe(None)  # nothing plays any more
    assert row is not None
    assert row["played_at"] == to_ms(T0 + MIN)
    assert row["ms_played"] == 21 * 60_000


def test_a_short_listen_is_not_a_play() -> None:
    t = EpisodeTracker(min_played_ms=30_000)
    t.observe(seen(EP, T0, 0, playing=False))
    assert t.observe(seen(TRACK, T0 + 10 * MIN)) is None
    t.observe(seen(EP, T0, 0))
    assert t.observe(seen(EP2, T0 + timedelta(seconds=20))) is None


def test_tracks_ads_and_nothing_are_never_rows() -> None:
    t = EpisodeTracker()
    for i in range(3):
        assert t.observe(seen(TRACK, T0 + i * MIN, i * 60_000, duration_ms=200_000)) is None
    assert t.observe(seen(None, T0 + 4 * MIN, kind="ad")) is None
    assert t.observe(None) is None
    assert t.watching is None


def test_a_replay_of_the_same_episode_is_two_plays() -> None:
    t = EpisodeTracker()
    t.observe(seen(EP, T0, 50 * 60_000))
    # an hour later the same episode is 2 min in again: the first play must have ended
    row = t.observe(seen(EP, T0 + 62 * MIN, 2 * 60_000))
    assert row is not None
    assert row["played_at"] == to_ms(T0 + 10 * MIN)
    # scrubbing back a bit while it still plays is not a new play
    assert t.observe(seen(EP, T0 + 63 * MIN, 60_000)) is None
    assert t.watching == EP


def test_metadata_missing_later_is_kept_from_earlier() -> None:
    t = EpisodeTracker()
    t.observe(seen(EP, T0, 0))
    later = seen(EP, T0 + 10 * MIN, 10 * 60_000) | {"name": None}
    t.observe(later)
    row = t.observe(None, now=T0 + 11 * MIN)
    assert row is not None
    assert row["name"] == "Ep"
    assert row["played_at"] == to_ms(T0 + 11 * MIN)
