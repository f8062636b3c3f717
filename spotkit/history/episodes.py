"""Plays that recently-played never lists (podcast episodes, audiobook chapters), seen finishing
through currently-playing.

A tracker watches now-playing records (from the logger's own sparse poll, or from a
NowPlayingWidget that hands it every record it fetches). When the item changes, the previous one
becomes a play if it was not a track and was heard for at least `min_played_ms`. Tracks are left
to recently-played, which lists them exactly: recording them here too would give two rows, with
different times, for each.

Its times are estimates: the play ended between the last time it was seen playing and the time
the change was seen; the row says ``min(change seen, last seen + what was left)`` and
``ms_played`` is how far it had got by then. Two observers of one play never agree to the
millisecond, so the store drops a ``now_playing`` row that lies within a tolerance of another row
for the same item (:meth:`HistoryStore.add_unless_near`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .._values import as_int as _int
from .._values import to_ms

__all__ = ["SOURCE_NOW_PLAYING", "EpisodeTracker"]

SOURCE_NOW_PLAYING = "now_playing"


@dataclass
class _Watched:
    record: dict[str, Any]
    progress_ms: int
    seen_at: datetime
    playing: bool


class EpisodeTracker:
    """Turns a stream of now-playing records into finished plays of non-track items.

    Not thread-safe: the logger calls it under its own lock.
    """

    def __init__(self, min_played_ms: int = 30_000) -> None:
        self.min_played_ms = min_played_ms
        self._current: _Watched | None = None

    @property
    def watching(self) -> str | None:
        """The URI of the item being watched, if any."""
        return self._current.record.get("item_uri") if self._current else None

    def observe(self, record: Mapping[str, Any] | None,
                now: datetime | None = None) -> dict[str, Any] | None:
        """Feed one now-playing record (None: nothing plays). Returns a finished play's row, if any.

        `now` defaults to the record's ``fetched_at``, else the current time.
        """
        seen = now or (record.get("fetched_at") if record is not None else None) \
            or datetime.now(timezone.utc)
        uri = record.get("item_uri") if record is not None else None
        progress = _int(record.get("progress_ms")) if record is not None else None
        finished: dict[str, Any] | None = None
        current = self._current
        if current is not None:
            changed = uri != current.record.get("item_uri")
            if not changed and progress is not None and progress + 5_000 < current.progress_ms:
                # the same item, further back: a replay if the last play must have run out by now
                changed = self._estimate(current, seen)[1] >= _duration(current) > 0
            if changed:
                finished = self._finish(current, seen)
                self._current = current = None
        if record is None or not uri or record.get("item_type") == "track":
            return finished
        playing = record.get("is_playing") is not False
        if current is None:
            self._current = _Watched(dict(record), progress or 0, seen, playing)
        else:
            current.record.update({k: v for k, v in record.items() if v is not None})
            current.progress_ms = progress if progress is not None else current.progress_ms
            current.seen_at, current.playing = seen, playing
        return finished

    def _estimate(self, w: _Watched, changed_at: datetime) -> tuple[datetime, int]:
        """When the watched play ended and how far it had got, given the change seen at `changed_at`."""
        duration = _duration(w)
        if not w.playing:
            return w.seen_at, w.progress_ms
        elapsed = max(changed_at - w.seen_at, timedelta(0))
        if duration > 0:
            elapsed = min(elapsed, timedelta(milliseconds=max(duration - w.progress_ms, 0)))
        reached = w.progress_ms + elapsed // timedelta(milliseconds=1)
        return w.seen_at + elapsed, min(reached, duration) if duration > 0 else reached

    def _finish(self, w: _Watched, changed_at: datetime) -> dict[str, Any] | None:
        ended, played = self._estimate(w, changed_at)
        if played < self.min_played_ms:
            return None
        rec = w.record
        uri = rec.get("item_uri")
        return {
            "played_at": to_ms(ended),
            "play_key": uri,
            "item_type": rec.get("item_type"),
            "item_id": rec.get("item_id"),
            "item_uri": uri,
            "name": rec.get("name"),
            "artists": rec.get("artists"),
            "album": rec.get("album"),
            "duration_ms": _int(rec.get("duration_ms")),
            "context_type": rec.get("context_type"),
            "context_uri": rec.get("context_uri"),
            "source": SOURCE_NOW_PLAYING,
            "ms_played": played,
        }


def _duration(w: _Watched) -> int:
    return _int(w.record.get("duration_ms")) or 0
