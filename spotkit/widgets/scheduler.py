"""When to ask Spotify again: the now-playing widget's poll timing, as pure functions of time.

No threads, no ipywidgets, no HTTP: every method takes the current time from the caller, so the
rules are unit-tested with a fake clock.

The rules, while somebody watches (see :mod:`spotkit.widgets.attention`):

* While something plays, the next poll is due at the item's expected end plus `end_margin`, or
  after the sync interval (to notice changes made on another device), whichever comes first.
  With the defaults (a 9.5 s sync), a change made on another device shows within 9.5 s and a
  3-minute track costs 19 calls; a natural track end shows within `end_margin` of playback.
* The sync interval starts at `sync_interval` and, with `sync_backoff` > 1, doubles after each
  poll that found exactly what the previous one predicted (the same item, the same play state,
  the position on time), up to `sync_interval * sync_backoff`. A new item that starts when the
  last one was due to end is what was predicted too; anything unexpected (a skip, a seek or a
  pause on another device) or a control click brings it back to `sync_interval`. A sync due
  within `fold` times the interval before the end poll is folded into it (`fold=1`: never, so
  no gap between two polls is longer than the sync interval).
  The expected end is computed from the record's `progress_ms` at the moment it was observed
  (`Observation.at`, the moment its `fetched_at` was taken), not from when we happen to look.
* A poll at the expected end that still finds the same item near its end is *late* (a gap, a
  crossfade, a slow server): it retries after a margin that doubles each time.
* Paused, nothing playing, an ad or an item without a duration: the sync interval.
* After an error: exponential backoff with jitter, never sooner than a 429's `Retry-After`. No
  login yet (or a login missing a scope): look again every `login_retry` seconds, which costs no
  API call (the token manager answers from the cache file).

When nobody watches, no poll is due (:meth:`PollScheduler.next_due`), or one every `background`
seconds at most if asked for, and never sooner than a backoff asked. When somebody watches again,
the poll is due at once, but at least `min_gap` seconds after the previous one
(:meth:`PollScheduler.when_watched`), so that scrolling to and fro costs one call a second at most.

Today's widget before watching existed polled as if always watched with `sync_interval=30`,
`sync_backoff=4` and `fold=1.25` (about 3 calls per track, a skip seen within 2 minutes).

Units: times tied to the item's timeline (`end_margin`) are seconds *of playback*; everything else
(`sync_interval`, backoff, delays returned) is wall-clock seconds. `time_scale` is how many
milliseconds of playback pass per wall-clock millisecond: 1.0 for Spotify, the sandbox's speed
factor when it compresses time in tests and benchmarks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import LoginRequired, MissingScope, QuotaExceeded, RateLimited

__all__ = [
    "COMMANDS",
    "Observation",
    "PollPolicy",
    "PollScheduler",
    "command_visible",
]

#: The player commands the widget sends ("toggle" becomes "play" or "pause" when it runs).
COMMANDS: tuple[str, ...] = ("previous", "play", "pause", "toggle", "next")


@dataclass(frozen=True)
class PollPolicy:
    """The knobs of :class:`PollScheduler` (see the module docstring for the units)."""

    sync_interval: float = 9.5
    sync_backoff: float = 1.0
    fold: float = 1.0
    min_gap: float = 1.0
    end_margin: float = 0.5
    time_scale: float = 1.0
    backoff_initial: float = 2.0
    backoff_max: float = 300.0
    jitter: float = 0.2
    login_retry: float = 5.0
    quota_wait: float = 600.0
    confirm_delay: float = 1.0
    min_delay: float = 0.005
    max_late_doublings: int = 8

    def __post_init__(self) -> None:
        for name in ("sync_backoff", "fold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 1):
                raise ValueError(f"{name} must be a number >= 1, not {value!r}")
        for name in ("sync_interval", "time_scale", "backoff_initial", "backoff_max",
                     "login_retry", "quota_wait", "confirm_delay"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        for name in ("end_margin", "min_delay", "min_gap"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), not {self.jitter!r}")

    @classmethod
    def classic(cls, **changes: Any) -> PollPolicy:
        """The timing of the widget from before it knew whether it was watched: a 30 s sync
        stretching to 2 minutes while steady, folded into a near end poll (about 3 calls per
        track, another device's skip seen within 2 minutes). Kept for comparison and for a
        terminal, where the line is always in view."""
        return cls(**{"sync_interval": 30.0, "sync_backoff": 4.0, "fold": 1.25, **changes})


@dataclass(frozen=True)
class Observation:
    """A now-playing record and the moment (on the scheduler's clock) its progress was true."""

    record: Mapping[str, Any] | None
    at: float

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None, clock_now: float,
                    wall_now: datetime) -> Observation:
        """Place a record fetched earlier on the clock, using its `fetched_at` (UTC datetime)."""
        fetched = record.get("fetched_at") if record is not None else None
        if not isinstance(fetched, datetime):
            return cls(record, clock_now)
        age = max(0.0, (wall_now - fetched).total_seconds())
        return cls(record, clock_now - age)

    @property
    def item_uri(self) -> str | None:
        uri = self.record.get("item_uri") if self.record is not None else None
        return uri if isinstance(uri, str) else None

    @property
    def is_playing(self) -> bool:
        return self.record is not None and self.record.get("is_playing") is True

    def _ms(self, key: str) -> int | None:
        value = self.record.get(key) if self.record is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def duration_ms(self) -> int | None:
        return self._ms("duration_ms")

    @property
    def progress_ms(self) -> int | None:
        return self._ms("progress_ms")


class PollScheduler:
    """Decides how long to wait before the next poll. Keeps the count of late polls and errors."""

    def __init__(self, policy: PollPolicy | None = None, rng: random.Random | None = None) -> None:
        self.policy = policy if policy is not None else PollPolicy()
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only
        self.errors = 0  # consecutive failed polls
        self.late = 0    # consecutive polls that found the item still at its end
        self.steady = 0  # consecutive polls that found what the previous one predicted

    # --- local progress (no API call) ----------------------------------------------------------

    def position_ms(self, obs: Observation | None, now: float) -> int | None:
        """Where playback is now, extrapolated from `obs`; clamped to [0, duration]."""
        if obs is None or obs.progress_ms is None:
            return None
        position = float(obs.progress_ms)
        if obs.is_playing:
            position += max(0.0, now - obs.at) * 1000.0 * self.policy.time_scale
        duration = obs.duration_ms
        if duration is not None:
            position = min(position, float(duration))
        return max(0, int(position))

    def expected_end(self, obs: Observation | None) -> float | None:
        """When (scheduler clock) the playing item should end, or None if that is unknowable."""
        if obs is None or not obs.is_playing:
            return None
        duration, progress = obs.duration_ms, obs.progress_ms
        if duration is None or progress is None or duration <= 0:
            return None
        remaining_ms = max(0, duration - progress)
        return obs.at + remaining_ms / (1000.0 * self.policy.time_scale)

    # --- the next poll -------------------------------------------------------------------------

    def after_poll(self, obs: Observation, previous: Observation | None, now: float) -> float:
        """Seconds from `now` to the next poll after a successful poll that gave `obs`."""
        policy = self.policy
        self.errors = 0
        if self._is_late(obs, previous):
            self.late += 1
        else:
            self.late = 0
        self.steady = self.steady + 1 if self._as_predicted(obs, previous) else 0
        interval = self.sync_interval()
        end = self.expected_end(obs)
        if end is None:
            return interval
        margin = policy.end_margin * (2 ** min(self.late, policy.max_late_doublings))
        to_end = end + margin / policy.time_scale - now
        # a sync just before the end would only see the same item: the end poll serves as both
        return self._clamp(to_end if to_end <= interval * policy.fold else interval)

    def sync_interval(self) -> float:
        """The current sync interval: longer while polls keep confirming the prediction."""
        policy = self.policy
        return policy.sync_interval * min(policy.sync_backoff, 2.0 ** min(self.steady, 30))

    def _as_predicted(self, obs: Observation, previous: Observation | None) -> bool:
        """True when `obs` is what `previous` predicted: the same item and play state on time, or
        (a natural track change) a new item that started when the previous one was due to end."""
        if previous is None or obs.is_playing != previous.is_playing:
            return False
        slack_ms = self._slack_ms()
        if obs.item_uri != previous.item_uri:
            end = self.expected_end(previous)
            return (end is not None and obs.at >= end and obs.progress_ms is not None
                    and obs.progress_ms <= (obs.at - end) * 1000 * self.policy.time_scale + slack_ms)
        predicted, actual = self.position_ms(previous, obs.at), obs.progress_ms
        if predicted is None or actual is None:
            return predicted is None and actual is None
        return abs(actual - predicted) <= slack_ms

    def _slack_ms(self) -> float:
        # a second of wall-clock slack (request latency, rounding) on top of two of playback
        return 2000 + 1000 * self.policy.time_scale

    def _is_late(self, obs: Observation, previous: Observation | None) -> bool:
        """True when a poll made at (or after) the previous item's expected end found it still on."""
        if previous is None or obs.item_uri is None or obs.item_uri != previous.item_uri:
            return False
        previous_end = self.expected_end(previous)
        if previous_end is None or obs.at < previous_end:
            return False
        # the same item, not restarted (repeat-one or "previous" start it again from zero)
        before, after = previous.progress_ms, obs.progress_ms
        return before is not None and after is not None and after >= before

    # --- attention -----------------------------------------------------------------------------

    def next_due(self, due: float, *, watched: bool, last_poll: float | None,
                 background: float | None) -> float:
        """When the next poll is due, given the watched schedule's `due` (scheduler clock).

        Watched: `due`. Not watched: never (`math.inf`), or with `background` seconds asked for,
        `background` after the last poll (at once if there was none), never before `due` (so a
        backoff or a Retry-After still holds).
        """
        if watched:
            return due
        if background is None:
            return math.inf
        if last_poll is None:
            return due
        return max(due, last_poll + background)

    def when_watched(self, due: float, last_poll: float | None, now: float) -> float:
        """The watched schedule's due time once somebody watches again: at once (what was shown
        may be minutes old), but `min_gap` after the last poll at the soonest; never sooner than
        a backoff that is still running (`due` after an error is kept when later)."""
        if self.errors:
            return max(due, now)
        soonest = now if last_poll is None else max(now, last_poll + self.policy.min_gap)
        return min(due, soonest)

    def is_change(self, obs: Observation, previous: Observation | None) -> bool:
        """Whether `obs` differs from `previous` in what a person sees: another item, device or
        play state, or a seek (a position off the prediction). Progress moving on time is not."""
        if previous is None:
            return True
        if obs.record is None or previous.record is None:
            return obs.record is not previous.record
        if (obs.item_uri, obs.is_playing, obs.record.get("device_name")) != (
                previous.item_uri, previous.is_playing, previous.record.get("device_name")):
            return True
        predicted, actual = self.position_ms(previous, obs.at), obs.progress_ms
        if predicted is None or actual is None:
            return predicted != actual
        return abs(actual - predicted) > self._slack_ms()

    def after_error(self, exc: BaseException) -> float:
        """Seconds to wait after a failed poll: backoff with jitter, honouring Retry-After."""
        policy = self.policy
        if isinstance(exc, (LoginRequired, MissingScope)):
            return policy.login_retry
        self.errors += 1
        base = min(policy.backoff_max, policy.backoff_initial * 2 ** min(self.errors - 1, 30))
        delay = base * self._rng.uniform(1.0 - policy.jitter, 1.0 + policy.jitter)
        if isinstance(exc, RateLimited):
            asked = exc.retry_after
            if asked is None and isinstance(exc, QuotaExceeded):
                asked = policy.quota_wait
            if asked is not None and math.isfinite(asked):
                # never before Retry-After; a little later so that many clients don't come back as one
                delay = max(delay, asked + self._rng.uniform(0.0, policy.jitter * max(1.0, asked)))
        return self._clamp(delay)

    def after_command(self) -> float:
        """A control click: poll at once (the command's effect is what the user wants to see)."""
        self.late = 0
        self.steady = 0
        return 0.0

    def _clamp(self, delay: float) -> float:
        return max(self.policy.min_delay, delay)


def command_visible(command: str, before: Mapping[str, Any] | None,
                    after: Mapping[str, Any] | None) -> bool:
    """Whether a poll after `command` already shows its effect (Spotify applies commands late)."""
    if command == "pause":
        return after is None or after.get("is_playing") is not True
    if command == "play":
        return after is not None and after.get("is_playing") is True
    if command in ("next", "previous"):
        if after is None or before is None:
            return True
        if after.get("item_uri") != before.get("item_uri"):
            return True
        # "previous" late in a track restarts it: the same item, progress back near zero
        now_progress, was_progress = after.get("progress_ms"), before.get("progress_ms")
        return (command == "previous" and isinstance(now_progress, int)
                and isinstance(was_progress, int) and now_progress < was_progress)
    return True
