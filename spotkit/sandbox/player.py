"""Playback simulation on a compressible clock.

Nothing ticks: every question ("what plays now?") first brings the state up to the clock's present,
playing out whatever ended in between, so the answer is right whenever it is asked.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .catalogue import PLAYLIST_URI, TRACKS, Catalogue

__all__ = ["AD", "MIN_PLAY_MS", "Clock", "Play", "Player"]

AD = "ad"
AD_DURATION_MS = 30_000
MIN_PLAY_MS = 30_000  # a play counts once 30 s were heard (or the item played to its end)
HISTORY_MAX = 10_000  # plays kept in memory; Spotify itself only shows the last 50
REACHABLE = 50


class Clock:
    """Unix-ms time that runs `speed` times faster than the wall clock (from its start)."""

    def __init__(self, speed: float = 1.0, wall: Callable[[], float] = time.time) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._wall = wall
        self._speed = float(speed)
        self._anchor_wall = wall()
        self._anchor_ms = self._anchor_wall * 1000.0

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        return int(self._now())

    def _now(self) -> float:
        return self._anchor_ms + (self._wall() - self._anchor_wall) * 1000.0 * self._speed

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._anchor_ms, self._anchor_wall = self._now(), self._wall()
        self._speed = float(speed)

    def advance(self, ms: float) -> None:
        """Jump forward by `ms` sandbox milliseconds."""
        if ms < 0:
            raise ValueError("the clock only moves forward")
        self._anchor_ms += ms


@dataclass(frozen=True)
class Play:
    """One finished play: a track or an episode heard for 30 s or to its end."""

    uri: str
    type: str  # "track" | "episode"
    played_at_ms: int
    ms_played: int
    context_uri: str | None

    def as_dict(self) -> dict[str, object]:
        return {"uri": self.uri, "type": self.type, "played_at_ms": self.played_at_ms,
                "ms_played": self.ms_played, "context_uri": self.context_uri}


class Player:
    """One user's player: a looping queue of the catalogue's tracks on one device."""

    def __init__(self, catalogue: Catalogue, clock: Clock, seed_history: int = 0,
                 playing: bool = True, rng: random.Random | None = None) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.queue: list[str] = [t.uri for t in TRACKS.values()]
        self.queue_context: str | None = PLAYLIST_URI
        self.history: deque[Play] = deque(maxlen=HISTORY_MAX)
        self.current: str | None = None  # a track/episode URI, AD, or None (no device)
        self.context_uri: str | None = None
        self.queue_pos = 0
        self.is_playing = False
        self.shuffle_state = False
        self.repeat_state = "context"  # the queue loops
        self.changed_at_ms = clock.now_ms()
        self._base_ms = self.changed_at_ms   # clock time of _base_progress
        self._base_progress = 0
        self._heard_ms = 0                   # heard of the current item before _base_ms
        self._rng = rng or random.Random(0)
        if seed_history > 0:
            self._seed(seed_history)
        if playing:
            self._load_queue_item(0, self.changed_at_ms, playing=True)

    # ---- the clock
    def _duration(self, uri: str) -> int:
        if uri == AD:
            return AD_DURATION_MS
        d = self.catalogue.duration_ms(uri)
        return d if d is not None else 0

    def sync(self) -> int:
        """Play out everything that ended up to now; return now (Unix ms, sandbox clock)."""
        now = self.clock.now_ms()
        guard = 0
        while self.current is not None and self.is_playing:
            duration = self._duration(self.current)
            end = self._base_ms + (duration - self._base_progress)
            if end > now:
                break
            self._heard_ms += duration - self._base_progress
            self._finish(end, reached_end=True)
            self._advance(end)
            guard += 1
            if guard > 1_000_000:  # pragma: no cover - a clock jump of years
                break
        return now

    def progress_ms(self, now: int) -> int:
        if self.current is None:
            return 0
        p = self._base_progress + (now - self._base_ms if self.is_playing else 0)
        return max(0, min(p, self._duration(self.current)))

    def _rebase(self, now: int) -> None:
        """Fold time heard since the last change into _heard_ms and restart the anchor at now."""
        p = self.progress_ms(now)
        if self.is_playing:
            self._heard_ms += p - self._base_progress
        self._base_progress, self._base_ms = p, now

    def _finish(self, at_ms: int, reached_end: bool) -> None:
        uri = self.current
        if uri is None or uri == AD:
            return
        if reached_end or self._heard_ms >= MIN_PLAY_MS:
            kind = "episode" if uri.startswith("spotify:episode:") else "track"
            self.history.append(Play(uri, kind, at_ms, self._heard_ms, self.context_uri))

    def _advance(self, at_ms: int) -> None:
        """Start the queue item after the current one at `at_ms`."""
        # after an ad or an episode the queue carries on after the last queue track played
        self._load_queue_item((self.queue_pos + 1) % len(self.queue), at_ms, playing=True)

    def _load_queue_item(self, pos: int, at_ms: int, playing: bool) -> None:
        self.queue_pos = pos
        self._load(self.queue[pos], self.queue_context, at_ms, 0, playing)

    def _load(self, uri: str | None, context: str | None, at_ms: int, progress: int,
              playing: bool) -> None:
        self.current = uri
        self.context_uri = context
        self.is_playing = playing and uri is not None
        self._base_ms, self._base_progress, self._heard_ms = at_ms, progress, 0
        self.changed_at_ms = at_ms

    # ---- history
    def _seed(self, n: int) -> None:
        """Pre-fill `n` plays of the queue, in order, ending just before now."""
        t = self.clock.now_ms() - self._rng.randint(5_000, 60_000)
        plays = []
        pos = 0
        for _ in range(n):
            pos = (pos - 1) % len(self.queue)
            uri = self.queue[pos]
            duration = self._duration(uri)
            roll = self._rng.random()
            context = (self.queue_context if roll < 0.7
                       else self.catalogue.track_album_context(uri) if roll < 0.85 else None)
            plays.append(Play(uri, "track", t, duration, context))
            t -= duration + self._rng.randint(0, 4_000)
        self.history.extend(reversed(plays))

    def recent_tracks(self) -> list[Play]:
        """The last 50 track plays, newest first (episodes never show in recently-played)."""
        out: list[Play] = []
        for play in reversed(self.history):
            if play.type == "track":
                out.append(play)
                if len(out) == REACHABLE:
                    break
        return out

    # ---- commands (the caller has called sync() and checked a device exists)
    def set_playing(self, uri: str | None, is_playing: bool, progress_ms: int) -> None:
        now = self.sync()
        if uri is None:
            self._load(None, None, now, 0, False)
            return
        if uri != AD and self.catalogue.duration_ms(uri) is None:
            raise ValueError(f"unknown URI {uri!r}")
        if uri in self.queue:
            self.queue_pos = self.queue.index(uri)
            context = self.queue_context
        elif uri.startswith("spotify:episode:"):
            context = self.catalogue.episode_context(uri)
        else:
            context = None
        progress = max(0, min(int(progress_ms), self._duration(uri)))
        self._load(uri, context, now, progress, is_playing)

    def play(self, uris: list[str] | None = None, context_uri: str | None = None,
             offset: int = 0, position_ms: int = 0) -> None:
        now = self.sync()
        if uris:
            self.set_playing(uris[offset % len(uris)], True, position_ms)
        elif context_uri:
            tracks = self.catalogue.album_tracks(context_uri.rsplit(":", 1)[-1])
            uri = tracks[offset % len(tracks)]
            self.set_playing(uri, True, position_ms)
            self.context_uri = context_uri
        else:
            self._rebase(now)
            self.is_playing = True
            self.changed_at_ms = now

    def pause(self) -> None:
        now = self.sync()
        self._rebase(now)
        self.is_playing = False
        self.changed_at_ms = now

    def next(self) -> None:
        now = self.sync()
        self._rebase(now)
        self._finish(now, reached_end=False)
        self._advance(now)

    def previous(self) -> None:
        now = self.sync()
        self._rebase(now)
        self._finish(now, reached_end=False)
        in_queue = self.current in self.queue and self.queue[self.queue_pos] == self.current
        pos = (self.queue_pos - 1) % len(self.queue) if in_queue else self.queue_pos
        self._load_queue_item(pos, now, playing=True)

    def disallows(self) -> dict[str, bool]:
        """actions.disallows as real bodies have it: only the actions that are not possible."""
        out: dict[str, bool] = {}
        out["resuming" if self.is_playing else "pausing"] = True
        if self.current is not None and self.current.startswith("spotify:episode:"):
            out.update(toggling_repeat_context=True, toggling_repeat_track=True,
                       toggling_shuffle=True)
        if self.current == AD:
            out.update(seeking=True, skipping_next=True, skipping_prev=True)
        return out
