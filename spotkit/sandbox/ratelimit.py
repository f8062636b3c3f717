"""Spotify's rate limit, on demand: at most `limit` Web API calls in any rolling `window` seconds.

Off by default. Once switched on (``Sandbox.set_rate_limit`` or ``POST /_sandbox/rate-limit``)
every /v1 call beyond the limit is answered 429 with ``Retry-After``: whole seconds until the
oldest call in the window leaves it, as Spotify sends them. A refused call does not count, so a
client that waits as told gets through. `window` may be shorter than Spotify's 30 s to compress
time in a benchmark.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["RollingWindow"]


class RollingWindow:
    """The calls admitted in the last `window` seconds, and the verdict on the next one."""

    def __init__(self, limit: int, window: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a whole number of calls >= 1, not {limit!r}")
        if not window > 0:
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._calls: deque[float] = deque()
        self.admitted = 0
        self.refused = 0

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()

    def admit(self) -> int | None:
        """None when the call may go ahead (it is counted), else the Retry-After in seconds."""
        now = self._clock()
        self._expire(now)
        if len(self._calls) < self.limit:
            self._calls.append(now)
            self.admitted += 1
            return None
        self.refused += 1
        return max(1, math.ceil(self._calls[0] + self.window - now))

    def describe(self) -> dict[str, Any]:
        self._expire(self._clock())
        return {"limit": self.limit, "window": self.window, "in_window": len(self._calls),
                "admitted": self.admitted, "refused": self.refused}
