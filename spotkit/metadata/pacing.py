"""Pacing: stay under Spotify's rolling 30-second window instead of running into it.

Spotify does not publish its limit. A :class:`Pacer` therefore runs unthrottled until the first
429, then learns: the calls it sent in the window before that 429 were too many, so from then on
it allows at most ``margin`` (90 %) of them in any rolling window, and waits out the Retry-After
first. A later 429 (the limit is shared with other programs, or it changed) lowers the budget again.
The learned budget is kept (see :class:`~spotkit.metadata.cache.MetadataCache`) so the next run
starts paced. A 429 seen after only a handful of calls says nothing about the limit (another
process used it up, or Spotify has an outage): the pacer then only waits as told.

Waiting goes through a `wait(seconds)` callable that returns True to stop early (a stop event's
``wait``), so a background enrichment ends at once on ``stop()``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["SPOTIFY_WINDOW", "Pacer"]

#: The length of Spotify's rolling rate-limit window, in seconds.
SPOTIFY_WINDOW = 30.0
_MIN_SAMPLE = 10   # fewer calls than this in the window before a 429 teach nothing about the limit
_SLACK = 0.05      # of the window (at least _MIN_SLACK s): calls arrive later than they leave,
_MIN_SLACK = 0.2   # by a latency that varies


class Pacer:
    """At most `budget` calls in any rolling `window` seconds; the budget learned from 429s.

    Args:
        budget: calls allowed per window; None until a 429 teaches one.
        window: the window's length in seconds (Spotify's is 30; a benchmark may compress it).
        margin: the share of the calls that drew a 429 allowed afterwards.
        clock: monotonic seconds.

    Thread-safe: one pacer may serve several threads of one enrichment.
    """

    def __init__(self, budget: int | None = None, *, window: float = SPOTIFY_WINDOW,
                 margin: float = 0.9, clock: Callable[[], float] = time.monotonic) -> None:
        if budget is not None and (isinstance(budget, bool) or budget < 1):
            raise ValueError(f"budget must be None or a whole number >= 1, not {budget!r}")
        if not window > 0:
            raise ValueError(f"window must be positive seconds, not {window!r}")
        if not 0 < margin <= 1:
            raise ValueError(f"margin must be in (0, 1], not {margin!r}")
        self.budget = budget
        self.window = float(window)
        self.margin = margin
        self._clock = clock
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.sent = 0           # calls let through
        self.rate_limited = 0   # 429s seen
        self.waited = 0.0       # seconds spent waiting

    def __repr__(self) -> str:
        return f"Pacer(budget={self.budget}, window={self.window:g})"

    def _span(self) -> float:
        return self.window + max(self.window * _SLACK, _MIN_SLACK)

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self._span():
            self._sent.popleft()

    def delay(self) -> float:
        """Seconds to wait before the next call may go (0.0: now)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            wait = max(0.0, self._blocked_until - now)
            if self.budget is not None and len(self._sent) >= self.budget:
                oldest = self._sent[len(self._sent) - self.budget]
                wait = max(wait, oldest + self._span() - now)
            return wait

    def acquire(self, wait: Callable[[float], bool]) -> bool:
        """Wait until a call may go and count it as sent; False when `wait` said to stop."""
        while True:
            delay = self.delay()
            if delay <= 0:
                with self._lock:
                    self._sent.append(self._clock())
                    self.sent += 1
                return True
            started = self._clock()
            stopped = wait(delay)
            with self._lock:
                self.waited += self._clock() - started
            if stopped:
                return False

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A call drew a 429: block for `retry_after` and lower the budget (see the module)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            self.rate_limited += 1
            sample = len(self._sent)
            if sample >= _MIN_SAMPLE:
                learned = max(1, math.floor((sample - 1) * self.margin))
                self.budget = learned if self.budget is None else min(self.budget, learned)
            pause = retry_after if retry_after is not None else self.window / 10
            self._blocked_until = max(self._blocked_until, now + pause)

    def block_until(self, monotonic_deadline: float) -> None:
        """Send nothing before `monotonic_deadline` (another process was told to wait)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, monotonic_deadline)
